// Chunks sealed for a relay: the relay stores them and hands them back, but
// learns neither their contents nor their chunk hashes (proto/relay_sealing.md
// gives the exact bytes and the vectors tests/crypto/relay_seal_test.cc checks).
//
// FolderRelayKeys derives two keys from a folder key (certificate.hh,
// derive_folder_key): every device of the user derives the same ones, so the
// same chunk of the same folder gets the same relay id and sealed chunks
// dedupe across devices; other folders' ids are unrelated.
//   - chunk_id(): BLAKE3 keyed by the id key over the chunk hash.
//   - seal_chunk(): zstd when it makes the chunk smaller (a flag inside the
//     sealed bytes), padded (Padmé, crypto/padded_aead.hh) and sealed with
//     XChaCha20-Poly1305, a random nonce, the relay id as associated data.
//     kSealOverhead + padme_size(body) <= kMaxSealedChunkSize bytes.
//   - open_chunk() takes untrusted bytes (from the relay): size checked before
//     anything is allocated; authenticated (a chunk moved to another id, or
//     sealed for another folder, fails); decompressed to at most the expected
//     size (no decompression bombs). Any failure is Errc::corrupt naming the
//     chunk. The contents are not checked against the hash: only a device
//     holding the folder key can seal, and the caller hashes the chunk anyway
//     (the puller checks every chunk it writes, whichever source sent it).
//
// seal_chunk() REQUIRES 1 <= size <= kMaxRelayChunk (the chunker's maximum;
// std::invalid_argument otherwise, a bug: chunks from other devices' records
// may declare sizes up to core's kMaxChunkSize, so callers check first).
//
// The keys are wiped when a FolderRelayKeys is destroyed; it can be moved,
// not copied. Const methods are safe from several threads at once.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hh"
#include "core/types.hh"
#include "crypto/certificate.hh"
#include "crypto/padded_aead.hh"
#include "net/messages.hh"  // ids and limits only: crypto does not link net

namespace ferry {

using wire::RelayChunkId;

inline constexpr std::size_t kMaxRelayChunk = 256u << 10;
inline constexpr std::size_t kMaxSealedChunkSize = crypto_detail::kSealOverhead + kMaxRelayChunk;
static_assert(kMaxSealedChunkSize <= wire::kMaxSealedChunk);

class FolderRelayKeys {
public:
    static constexpr std::size_t kKeyBytes = 32;

    // id key = KH(folder key, "ferry-relay-chunk-id-v1"),
    // seal key = KH(folder key, "ferry-relay-chunk-seal-v1").
    explicit FolderRelayKeys(std::span<const std::uint8_t, kKeyBytes> folder_key);
    FolderRelayKeys(FolderRelayKeys&& other) noexcept;
    FolderRelayKeys& operator=(FolderRelayKeys&& other) noexcept;
    FolderRelayKeys(const FolderRelayKeys&) = delete;
    FolderRelayKeys& operator=(const FolderRelayKeys&) = delete;
    ~FolderRelayKeys();

    RelayChunkId chunk_id(const ChunkHash& hash) const;
    std::string seal_chunk(const ChunkHash& hash, std::span<const std::uint8_t> data) const;
    Result<std::string> open_chunk(const ChunkHash& hash, std::span<const std::uint8_t> sealed,
                                   std::size_t expected_size) const;

    // The derived keys themselves, for the known-answer vectors.
    std::span<const std::uint8_t, kKeyBytes> id_key() const { return m_id_key; }
    std::span<const std::uint8_t, kKeyBytes> seal_key() const { return m_seal_key; }

private:
    void wipe() noexcept;

    std::array<std::uint8_t, kKeyBytes> m_id_key{};
    std::array<std::uint8_t, kKeyBytes> m_seal_key{};
};

}  // namespace ferry
