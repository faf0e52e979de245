// Base32 (RFC 4648 alphabet, no padding) for the text forms of device ids and
// join codes.
//
// Encoding writes upper case; decoding accepts either case and is strict:
// it refuses characters outside the alphabet, lengths no encoding produces
// and non-zero bits after the last whole byte, so every byte string has
// exactly one text form (a typo can never decode to the same bytes).
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

// The value (0-31) of a base32 character of either case; -1 if it is none.
int base32_digit(char c);

std::string base32_encode(std::span<const std::uint8_t> bytes);

// The bytes of `text`; nullopt when it is not the exact encoding of any.
std::optional<std::vector<std::uint8_t>> base32_decode(std::string_view text);

}  // namespace ferry
