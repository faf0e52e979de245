#include "cli/failure.hh"

#include <cstdio>

namespace ferry::cli {

int report(const Failure& failure) {
    std::fprintf(stderr, "ferry: %s: %s\n", failure.what.c_str(), failure.why.c_str());
    if (!failure.hint.empty()) std::fprintf(stderr, "hint: %s\n", failure.hint.c_str());
    return failure.status;
}

}  // namespace ferry::cli
