#include <cstdio>
#include <cstdlib>

#include "fuzz_target.hh"

void fuzz_check_failed(const char* what, const char* file, int line) {
    std::fprintf(stderr, "%s:%d: property failed: %s\n", file, line, what);
    std::abort();
}
