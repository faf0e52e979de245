// Ed25519 key pairs: a device's identity and the user's key.
//
// Each device has its own key pair; its public key gives the device id
// (crypto/device_id.hh). The user key pair is created by `ferry init` on the
// first device and (in a later step) signs the certificates of the user's
// devices. The secret half is wiped (sodium_memzero) when a KeyPair is
// destroyed or moved from; a KeyPair cannot be copied, so secrets do not
// spread through memory.
//
// Thread rule: a KeyPair is an immutable value after construction; const
// methods may be called from several threads. generate() throws only when
// libsodium cannot start (no random source): a start-up failure.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "crypto/device_id.hh"

namespace ferry {

class KeyPair {
public:
    static constexpr std::size_t kSeedBytes = 32;
    static constexpr std::size_t kPublicBytes = 32;

    // A new key pair from the system's random source.
    static KeyPair generate();
    // The key pair deterministically derived from a 32-byte seed (tests,
    // and loading a saved key: the seed is what the key file stores).
    static KeyPair from_seed(std::span<const std::uint8_t, kSeedBytes> seed);

    KeyPair(KeyPair&& other) noexcept;
    KeyPair& operator=(KeyPair&& other) noexcept;
    KeyPair(const KeyPair&) = delete;
    KeyPair& operator=(const KeyPair&) = delete;
    ~KeyPair();

    std::span<const std::uint8_t, kPublicBytes> public_key() const { return m_public; }
    // The secret seed (the first half of libsodium's 64-byte secret key).
    std::span<const std::uint8_t, kSeedBytes> seed() const {
        return std::span<const std::uint8_t, kSeedBytes>(m_secret.data(), kSeedBytes);
    }

    DeviceId device_id() const { return DeviceId::from_public_key(m_public); }

    // The detached Ed25519 signature of `message` by this key (certificates,
    // handshake transcripts): the secret never has to leave the KeyPair.
    std::array<std::uint8_t, 64> sign(std::span<const std::uint8_t> message) const;

private:
    KeyPair() = default;
    void wipe() noexcept;

    std::array<std::uint8_t, kPublicBytes> m_public{};
    std::array<std::uint8_t, 64> m_secret{};  // libsodium layout: seed || public key
};

}  // namespace ferry
