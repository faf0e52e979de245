// Unpredictable random numbers from the system's source (libsodium).
//
// For anything that must not be guessed or repeat across devices: random
// folder ids, later nonces and keys. Thread rule: safe from any thread.
// Throws only when libsodium cannot start (a start-up failure).
#pragma once

#include <cstdint>
#include <span>

namespace ferry {

// A uniformly distributed number in [0, upper). REQUIRES: upper > 0.
std::uint32_t random_below(std::uint32_t upper);

// Fills `out` with random bytes (session ids, nonces).
void random_bytes(std::span<std::uint8_t> out);

}  // namespace ferry
