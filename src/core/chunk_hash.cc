#include "core/chunk_hash.hh"

#include <blake3.h>

#include <new>

namespace ferry {
namespace {

blake3_hasher* state_of(std::uint8_t* storage) {
    return std::launder(reinterpret_cast<blake3_hasher*>(storage));
}

ChunkHash finalize(const blake3_hasher& hasher) {
    ChunkHash out;
    static_assert(sizeof(out.bytes) == BLAKE3_OUT_LEN);
    blake3_hasher_finalize(&hasher, out.bytes.data(), out.bytes.size());
    return out;
}

}  // namespace

ChunkHash hash_chunk(std::span<const std::uint8_t> data) {
    blake3_hasher hasher;
    blake3_hasher_init(&hasher);
    blake3_hasher_update(&hasher, data.data(), data.size());
    return finalize(hasher);
}

ChunkHasher::ChunkHasher() {
    static_assert(sizeof(blake3_hasher) <= sizeof(m_state));
    static_assert(alignof(blake3_hasher) <= 16);
    blake3_hasher_init(new (m_state) blake3_hasher);
}

void ChunkHasher::update(std::span<const std::uint8_t> data) {
    blake3_hasher_update(state_of(m_state), data.data(), data.size());
}

ChunkHash ChunkHasher::finish() {
    const ChunkHash out = finalize(*state_of(m_state));
    reset();
    return out;
}

void ChunkHasher::reset() { blake3_hasher_reset(state_of(m_state)); }

ChunkHash keyed_hash(std::span<const std::uint8_t, 32> key, std::span<const std::uint8_t> data) {
    static_assert(BLAKE3_KEY_LEN == 32);
    blake3_hasher hasher;
    blake3_hasher_init_keyed(&hasher, key.data());
    blake3_hasher_update(&hasher, data.data(), data.size());
    return finalize(hasher);
}

}  // namespace ferry
