// Placeholder: written by the planner helper (issue 4).
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }
