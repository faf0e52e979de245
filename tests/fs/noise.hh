// Test content for the filesystem and sync tests: bytes that are the same on
// every run, yet do not compress and make chunk boundaries fall as in real
// data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace ferry::test {

// Deterministic, incompressible-looking content of `size` bytes.
inline std::string noise(std::size_t size, std::uint32_t seed) {
    std::string out(size, '\0');
    std::uint32_t x = seed * 2654435761u + 1;
    for (auto& c : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        c = static_cast<char>(x);
    }
    return out;
}

}  // namespace ferry::test
