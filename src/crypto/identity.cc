#include "crypto/identity.hh"

#include <sodium.h>

#include "crypto/sodium.hh"

namespace ferry {

KeyPair KeyPair::generate() {
    crypto_detail::ensure_sodium();
    KeyPair pair;
    crypto_sign_keypair(pair.m_public.data(), pair.m_secret.data());
    return pair;
}

KeyPair KeyPair::from_seed(std::span<const std::uint8_t, kSeedBytes> seed) {
    crypto_detail::ensure_sodium();
    KeyPair pair;
    crypto_sign_seed_keypair(pair.m_public.data(), pair.m_secret.data(), seed.data());
    return pair;
}

KeyPair::KeyPair(KeyPair&& other) noexcept : m_public(other.m_public), m_secret(other.m_secret) {
    other.wipe();
}

KeyPair& KeyPair::operator=(KeyPair&& other) noexcept {
    if (this != &other) {
        m_public = other.m_public;
        m_secret = other.m_secret;
        other.wipe();
    }
    return *this;
}

std::array<std::uint8_t, 64> KeyPair::sign(std::span<const std::uint8_t> message) const {
    std::array<std::uint8_t, 64> signature{};
    crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(),
                         m_secret.data());
    return signature;
}

KeyPair::~KeyPair() {
    wipe();
}

void KeyPair::wipe() noexcept {
    sodium_memzero(m_secret.data(), m_secret.size());
}

}  // namespace ferry
