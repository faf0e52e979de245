// Strong types shared by every part of ferry.
//
// ShortId names a device inside version vectors (64 bits of its device id);
// Sequence orders a device's local changes to its index; ChunkHash is the
// content address of a chunk. Distinct types so that one cannot be passed
// where another is meant. Plain values, thread-safe to copy.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

namespace ferry {

// 64-bit short form of a device id, used as the key in version vectors.
struct ShortId {
    std::uint64_t value = 0;
    friend constexpr auto operator<=>(ShortId, ShortId) = default;
};

// A device's monotonically increasing counter of index changes (per folder).
struct Sequence {
    std::int64_t value = 0;
    friend constexpr auto operator<=>(Sequence, Sequence) = default;
};

// 32-byte cryptographic hash of a chunk's contents (see core/chunk_hash.hh).
struct ChunkHash {
    std::array<std::uint8_t, 32> bytes{};
    friend constexpr auto operator<=>(const ChunkHash&, const ChunkHash&) = default;

    // Lower-case hexadecimal, 64 characters.
    std::string hex() const;
};

}  // namespace ferry

template <>
struct std::hash<ferry::ChunkHash> {
    std::size_t operator()(const ferry::ChunkHash& h) const noexcept {
        // The hash is uniformly distributed: its first 8 bytes are a fine key.
        std::size_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | h.bytes[static_cast<std::size_t>(i)];
        return v;
    }
};
