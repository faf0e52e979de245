#include "crypto/counter_aead.hh"

#include <sodium.h>

#include "crypto/chacha_poly.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

crypto_detail::ChaChaPoly::Nonce counter_nonce(std::uint64_t counter) {
    crypto_detail::ChaChaPoly::Nonce nonce{};
    for (std::size_t i = 0; i < 8; ++i)
        nonce[nonce.size() - 1 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return nonce;
}

}  // namespace

struct CounterAead::Context {
    crypto_detail::ChaChaPoly aead;
};

CounterAead::CounterAead(const Key& key) : m_context(std::make_unique<Context>()) {
    crypto_detail::ensure_sodium();
    set_key(key);
}

CounterAead::~CounterAead() {
    sodium_memzero(m_subkey.data(), m_subkey.size());
}

void CounterAead::set_key(const Key& key) {
    static constexpr std::array<std::uint8_t, 16> kZeroNoncePrefix{};
    crypto_core_hchacha20(m_subkey.data(), kZeroNoncePrefix.data(), key.data(), nullptr);
}

void CounterAead::seal(std::uint64_t counter, std::span<const std::uint8_t> associated,
                       std::span<std::uint8_t> text, std::span<std::uint8_t, kTagBytes> tag) {
    m_context->aead.seal(m_subkey, counter_nonce(counter), associated, text, tag);
}

bool CounterAead::open(std::uint64_t counter, std::span<const std::uint8_t> associated,
                       std::span<std::uint8_t> text, std::span<const std::uint8_t, kTagBytes> tag) {
    return m_context->aead.open(m_subkey, counter_nonce(counter), associated, text, text, tag);
}

}  // namespace ferry
