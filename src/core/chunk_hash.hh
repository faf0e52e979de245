// The chunk hash: how ferry names a chunk's contents on every device and relay.
//
// BLAKE3-256 (chosen by measurement over SHA-256 and BLAKE2b; figures in
// proto/chunking.md). This header is the only place that knows which hash
// it is. Pure computation; each object is single-threaded, distinct objects
// may be used on distinct threads.
#pragma once

#include <cstdint>
#include <span>

#include "core/types.hh"

namespace ferry {

// Hash of a whole chunk held in memory.
ChunkHash hash_chunk(std::span<const std::uint8_t> data);

// Incremental hash, for a chunk that arrives in several buffers.
class ChunkHasher {
public:
    ChunkHasher();
    void update(std::span<const std::uint8_t> data);
    // Returns the hash of everything updated since construction or reset,
    // then resets.
    ChunkHash finish();
    void reset();

private:
    alignas(16) std::uint8_t m_state[2048];  // a blake3_hasher (1912 bytes), kept opaque
};

// Keyed hash (BLAKE3 keyed mode) with a 32-byte key: for ids that must reveal
// nothing to whoever lacks the key (relay chunk ids).
ChunkHash keyed_hash(std::span<const std::uint8_t, 32> key, std::span<const std::uint8_t> data);

}  // namespace ferry
