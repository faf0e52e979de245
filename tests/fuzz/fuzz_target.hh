// The entry point every fuzz target defines (libFuzzer's signature).
//
// Each target feeds arbitrary bytes to one decoder of untrusted input and
// checks what must hold for any input: no crash, no sanitizer report, and
// for accepted inputs the decoder's own round-trip property. replay_main.cc
// drives each as an ordinary test; with -Dlibfuzzer=true and clang each is
// also linked as a libFuzzer binary.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

// Aborts with a message when a property that must hold does not.
#define FUZZ_CHECK(cond)                                                      \
    do {                                                                      \
        if (!(cond)) fuzz_check_failed(#cond, __FILE__, __LINE__);            \
    } while (0)

[[noreturn]] void fuzz_check_failed(const char* what, const char* file, int line);
