// Helpers shared by the crypto tests: hex text, fixed seeds and keys.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/identity.hh"

namespace ferry::test {

inline std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

inline std::string hex(std::string_view bytes) {
    return hex({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
}

inline std::vector<std::uint8_t> unhex(std::string_view text) {
    std::vector<std::uint8_t> out;
    const auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
    for (std::size_t i = 0; i + 1 < text.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(nibble(text[i]) * 16 + nibble(text[i + 1])));
    }
    return out;
}

inline std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// The 32 bytes start, start+1, ... (mod 256): the fixed seeds of the vectors
// in proto/security.md and proto/handshake.md.
inline std::array<std::uint8_t, 32> counting(std::uint8_t start) {
    std::array<std::uint8_t, 32> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::uint8_t>(start + i);
    return out;
}

inline KeyPair key_from(std::uint8_t start) {
    const auto seed = counting(start);
    return KeyPair::from_seed(seed);
}

inline std::array<std::uint8_t, 32> public_of(const KeyPair& key) {
    std::array<std::uint8_t, 32> out{};
    std::copy(key.public_key().begin(), key.public_key().end(), out.begin());
    return out;
}

}  // namespace ferry::test
