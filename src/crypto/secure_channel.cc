#include "crypto/secure_channel.hh"

#include <limits>
#include <stdexcept>
#include <string>

#include <sodium.h>

#include "crypto/bytes.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

using Key = std::array<std::uint8_t, 32>;

static_assert(kFrameAeadOverhead == CounterAead::kTagBytes);
static_assert(kFrameAeadOverhead == crypto_aead_xchacha20poly1305_ietf_ABYTES);

// proto/handshake.md, "Transport encryption".
constexpr std::string_view kRekeyDomain = "ferry-channel-rekey-v1";

std::array<std::uint8_t, 4> length_prefix(std::size_t size) {
    return {static_cast<std::uint8_t>(size >> 24), static_cast<std::uint8_t>(size >> 16),
            static_cast<std::uint8_t>(size >> 8), static_cast<std::uint8_t>(size)};
}

// key' = BLAKE2b-256 keyed by key over the rekey label: one-way, so the new
// key does not give the old one.
void rekey(Key& key) {
    Key next{};
    crypto_generichash(next.data(), next.size(), crypto_detail::as_bytes(kRekeyDomain).data(),
                       kRekeyDomain.size(), key.data(), key.size());
    key = next;
    sodium_memzero(next.data(), next.size());
}

// Called after each frame: the counter moves on, and every kRekeyInterval
// frames the key is replaced.
void advance(Key& key, std::uint64_t& counter, CounterAead& aead) {
    ++counter;
    if (counter % kRekeyInterval == 0) {
        rekey(key);
        aead.set_key(key);
    }
}

}  // namespace

FrameSealer::FrameSealer(const std::array<std::uint8_t, 32>& key) : m_key(key), m_aead(key) {}

FrameSealer::~FrameSealer() {
    sodium_memzero(m_key.data(), m_key.size());
}

std::vector<std::uint8_t> FrameSealer::seal(std::span<const std::uint8_t> plaintext) {
    std::vector<std::uint8_t> frame(kFrameHeadBytes + plaintext.size() + kFrameAeadOverhead);
    std::copy(plaintext.begin(), plaintext.end(), frame.begin() + kFrameHeadBytes);
    seal_in_place(frame);
    return frame;
}

void FrameSealer::seal_in_place(std::span<std::uint8_t> frame) {
    if (frame.size() < kFrameHeadBytes + kFrameAeadOverhead ||
        frame.size() - kFrameHeadBytes > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("FrameSealer::seal: a frame of " + std::to_string(frame.size()) +
                                " bytes cannot hold a length, a tag and a 32-bit size");
    }
    const std::size_t size = frame.size() - kFrameHeadBytes;  // ciphertext and tag
    const auto prefix = length_prefix(size);
    std::copy(prefix.begin(), prefix.end(), frame.begin());
    // Encrypted over itself, the tag after it.
    const auto text = frame.subspan(kFrameHeadBytes, size - kFrameAeadOverhead);
    m_aead.seal(m_counter, prefix, text, frame.last<kFrameAeadOverhead>());
    advance(m_key, m_counter, m_aead);
}

FrameOpener::FrameOpener(const std::array<std::uint8_t, 32>& key) : m_key(key), m_aead(key) {}

FrameOpener::~FrameOpener() {
    sodium_memzero(m_key.data(), m_key.size());
}

Result<std::vector<std::uint8_t>> FrameOpener::open(std::span<const std::uint8_t> ciphertext) {
    std::vector<std::uint8_t> copy(ciphertext.begin(), ciphertext.end());
    auto plaintext = open_in_place(copy);
    if (!plaintext) return tl::unexpected(plaintext.error());
    copy.resize(plaintext->size());
    return copy;
}

Result<std::span<std::uint8_t>> FrameOpener::open_in_place(std::span<std::uint8_t> ciphertext) {
    if (ciphertext.size() < kFrameAeadOverhead) {
        return fail(Errc::corrupt, "encrypted frame of " + std::to_string(ciphertext.size()) +
                                       " bytes is shorter than its authentication tag");
    }
    if (ciphertext.size() > std::numeric_limits<std::uint32_t>::max()) {
        return fail(Errc::corrupt, "encrypted frame is longer than a 32-bit length allows");
    }
    const auto prefix = length_prefix(ciphertext.size());
    const auto plaintext = ciphertext.first(ciphertext.size() - kFrameAeadOverhead);
    if (!m_aead.open(m_counter, prefix, plaintext, ciphertext.last<kFrameAeadOverhead>())) {
        return fail(Errc::corrupt, "frame " + std::to_string(m_counter) +
                                       " fails authentication (altered, replayed, reordered or "
                                       "from another session): the connection must be closed");
    }
    advance(m_key, m_counter, m_aead);
    return plaintext;
}

}  // namespace ferry
