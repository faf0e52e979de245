// Unsigned LEB128 varints for ferry's compact binary forms.
//
// Seven bits per byte, least significant group first, high bit set on every
// byte but the last. The reader is strict, because these bytes come from
// disk and from peers: it refuses truncated input, values over 64 bits and
// overlong forms (a final 0x00 group after the first byte), so every value
// has exactly one encoding. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hh"

namespace ferry {

// Appends the LEB128 form of `value` to `out` (1 to 10 bytes).
void append_leb128(std::string& out, std::uint64_t value);

// Reads one value starting at `pos` and moves `pos` past it. On failure
// returns Errc::corrupt whose message says what is wrong and at which byte
// offset; callers prefix what they were decoding.
Result<std::uint64_t> read_leb128(std::span<const std::uint8_t> bytes, std::size_t& pos);

}  // namespace ferry
