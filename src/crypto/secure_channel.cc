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
    if (plaintext.size() > std::numeric_limits<std::uint32_t>::max() - kFrameAeadOverhead) {
        throw std::length_error("FrameSealer::seal: a frame of " +
                                std::to_string(plaintext.size()) +
                                " bytes does not fit a 32-bit length");
    }
    const std::size_t size = plaintext.size() + kFrameAeadOverhead;
    const auto prefix = length_prefix(size);
    const Nonce nonce = counter_nonce(m_counter);
    std::vector<std::uint8_t> frame(prefix.size() + size);
    std::copy(prefix.begin(), prefix.end(), frame.begin());
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(frame.data() + prefix.size(), &written,
                                               plaintext.data(), plaintext.size(), prefix.data(),
                                               prefix.size(), nullptr, nonce.data(), m_key.data());
    advance(m_key, m_counter);
    return frame;
}

FrameOpener::FrameOpener(const std::array<std::uint8_t, 32>& key) : m_key(key) {
    crypto_detail::ensure_sodium();
}

FrameOpener::~FrameOpener() {
    sodium_memzero(m_key.data(), m_key.size());
}

Result<std::vector<std::uint8_t>> FrameOpener::open(std::span<const std::uint8_t> ciphertext) {
    if (ciphertext.size() < kFrameAeadOverhead) {
        return fail(Errc::corrupt, "encrypted frame of " + std::to_string(ciphertext.size()) +
                                       " bytes is shorter than its authentication tag");
    }
    if (ciphertext.size() > std::numeric_limits<std::uint32_t>::max()) {
        return fail(Errc::corrupt, "encrypted frame is longer than a 32-bit length allows");
    }
    const auto prefix = length_prefix(ciphertext.size());
    const Nonce nonce = counter_nonce(m_counter);
    std::vector<std::uint8_t> plaintext(ciphertext.size() - kFrameAeadOverhead);
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
