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
using Nonce = std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES>;

static_assert(kFrameAeadOverhead == crypto_aead_xchacha20poly1305_ietf_ABYTES);

// proto/handshake.md, "Transport encryption".
constexpr std::string_view kRekeyDomain = "ferry-channel-rekey-v1";

Nonce counter_nonce(std::uint64_t counter) {
    Nonce nonce{};
    for (std::size_t i = 0; i < 8; ++i) {
        nonce[nonce.size() - 1 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    }
    return nonce;
}

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
void advance(Key& key, std::uint64_t& counter) {
    ++counter;
    if (counter % kRekeyInterval == 0) rekey(key);
}

}  // namespace

FrameSealer::FrameSealer(const std::array<std::uint8_t, 32>& key) : m_key(key) {
    crypto_detail::ensure_sodium();
}

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
    const Nonce nonce = counter_nonce(m_counter);
    std::uint8_t* text = frame.data() + kFrameHeadBytes;  // encrypted over itself
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(text, &written, text, size - kFrameAeadOverhead,
                                               prefix.data(), prefix.size(), nullptr,
                                               nonce.data(), m_key.data());
    advance(m_key, m_counter);
}

FrameOpener::FrameOpener(const std::array<std::uint8_t, 32>& key) : m_key(key) {
    crypto_detail::ensure_sodium();
}

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
    const Nonce nonce = counter_nonce(m_counter);
    const auto plaintext = ciphertext.first(ciphertext.size() - kFrameAeadOverhead);
    unsigned long long written = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            plaintext.data(), &written, nullptr, ciphertext.data(), ciphertext.size(),
            prefix.data(), prefix.size(), nonce.data(), m_key.data()) != 0) {
        return fail(Errc::corrupt, "frame " + std::to_string(m_counter) +
                                       " fails authentication (altered, replayed, reordered or "
                                       "from another session): the connection must be closed");
    }
    advance(m_key, m_counter);
    return plaintext;
}

}  // namespace ferry
