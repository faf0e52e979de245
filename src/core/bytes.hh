// Viewing text as bytes: the one cast between std::string's chars and the
// byte spans of hashing, sealing and decoding. Pure; thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

namespace ferry {

inline std::span<const std::uint8_t> bytes_of(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace ferry
