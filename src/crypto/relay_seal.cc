#include "crypto/relay_seal.hh"

#include <stdexcept>

#include <sodium.h>

#include "core/chunk_hash.hh"
#include "core/chunker.hh"
#include "core/compression.hh"

namespace ferry {
namespace {

using crypto_detail::derive_subkey;

// proto/relay_sealing.md, "Keys".
constexpr std::string_view kIdKeyDomain = "ferry-relay-chunk-id-v1";
constexpr std::string_view kSealKeyDomain = "ferry-relay-chunk-seal-v1";
constexpr std::uint8_t kCompressed = 0x01;  // the only flag a sealed chunk may carry

static_assert(kMaxRelayChunk == kChunkerParams.max_size);
static_assert(kMaxRelayChunk <= kMaxChunkSize);

tl::unexpected<Error> corrupt(const ChunkHash& hash, const std::string& what) {
    return fail(Errc::corrupt, "relay chunk " + hash.hex() + ": " + what);
}

}  // namespace

FolderRelayKeys::FolderRelayKeys(std::span<const std::uint8_t, kKeyBytes> folder_key)
    : m_id_key(derive_subkey(folder_key, kIdKeyDomain)),
      m_seal_key(derive_subkey(folder_key, kSealKeyDomain)) {}

FolderRelayKeys::FolderRelayKeys(FolderRelayKeys&& other) noexcept
    : m_id_key(other.m_id_key), m_seal_key(other.m_seal_key) {
    other.wipe();
}

FolderRelayKeys& FolderRelayKeys::operator=(FolderRelayKeys&& other) noexcept {
    if (this != &other) {
        m_id_key = other.m_id_key;
        m_seal_key = other.m_seal_key;
        other.wipe();
    }
    return *this;
}

FolderRelayKeys::~FolderRelayKeys() {
    wipe();
}

void FolderRelayKeys::wipe() noexcept {
    sodium_memzero(m_id_key.data(), m_id_key.size());
    sodium_memzero(m_seal_key.data(), m_seal_key.size());
}

RelayChunkId FolderRelayKeys::chunk_id(const ChunkHash& hash) const {
    return keyed_hash(m_id_key, hash.bytes).bytes;
}

std::string FolderRelayKeys::seal_chunk(const ChunkHash& hash,
                                        std::span<const std::uint8_t> data) const {
    if (data.empty() || data.size() > kMaxRelayChunk) {
        throw std::invalid_argument("seal_chunk: a chunk of " + std::to_string(data.size()) +
                                    " bytes, outside 1.." + std::to_string(kMaxRelayChunk));
    }
    const RelayChunkId id = chunk_id(hash);
    if (const auto packed = compress_if_smaller(data)) {
        const std::span<const std::uint8_t> body(
            reinterpret_cast<const std::uint8_t*>(packed->data()), packed->size());
        return crypto_detail::seal_padded(m_seal_key, id, kCompressed, {body}, kMaxRelayChunk);
    }
    return crypto_detail::seal_padded(m_seal_key, id, 0, {data}, kMaxRelayChunk);
}

Result<std::string> FolderRelayKeys::open_chunk(const ChunkHash& hash,
                                                std::span<const std::uint8_t> sealed,
                                                std::size_t expected_size) const {
    if (expected_size == 0 || expected_size > kMaxRelayChunk) {
        return corrupt(hash, "expected size " + std::to_string(expected_size) + " is outside 1.." +
                                 std::to_string(kMaxRelayChunk));
    }
    auto opened = crypto_detail::open_padded(m_seal_key, chunk_id(hash), sealed, kMaxRelayChunk);
    if (!opened) return corrupt(hash, opened.error().message);
    if ((opened->flags & ~kCompressed) != 0) {
        return corrupt(hash, "unknown flags " + std::to_string(opened->flags));
    }
    std::string data;
    if (opened->flags & kCompressed) {
        const std::span<const std::uint8_t> body(
            reinterpret_cast<const std::uint8_t*>(opened->body.data()), opened->body.size());
        auto plain = decompress(body, expected_size);
        if (!plain) return corrupt(hash, plain.error().message);
        data = std::move(*plain);
    } else {
        if (opened->body.size() != expected_size) {
            return corrupt(hash, "holds " + std::to_string(opened->body.size()) +
                                     " bytes, expected " + std::to_string(expected_size));
        }
        data = std::move(opened->body);
    }
    return data;
}

}  // namespace ferry
