// XChaCha20-Poly1305-IETF for messages whose 24-byte nonce is 16 zero
// bytes and a 64-bit counter (the secure channel's frames), on OpenSSL's
// ChaCha20-Poly1305 (crypto/chacha_poly.hh says why).
//
// Promises: byte for byte what libsodium's crypto_aead_xchacha20poly1305_ietf
// gives for the same key, nonce and associated data (a test checks): the
// subkey is HChaCha20(key, 16 zero bytes), taken once per key, and each
// message is RFC 8439 ChaCha20-Poly1305 under it with the nonce
// 0x00000000 || counter (big-endian). Keys are wiped on destruction and on
// set_key.
// Thread rule: one thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>

namespace ferry {

class CounterAead {
public:
    static constexpr std::size_t kTagBytes = 16;
    using Key = std::array<std::uint8_t, 32>;

    explicit CounterAead(const Key& key);
    ~CounterAead();
    CounterAead(const CounterAead&) = delete;
    CounterAead& operator=(const CounterAead&) = delete;

    // Replaces the key (the secure channel's rekeying).
    void set_key(const Key& key);
    // Encrypts `text` over itself and writes the tag.
    void seal(std::uint64_t counter, std::span<const std::uint8_t> associated,
              std::span<std::uint8_t> text, std::span<std::uint8_t, kTagBytes> tag);
    // Decrypts `text` over itself; false when the tag does not authenticate
    // it (then `text` holds garbage and must not be used).
    [[nodiscard]] bool open(std::uint64_t counter, std::span<const std::uint8_t> associated,
                            std::span<std::uint8_t> text,
                            std::span<const std::uint8_t, kTagBytes> tag);

private:
    struct Context;
    std::unique_ptr<Context> m_context;
    Key m_subkey{};
};

}  // namespace ferry
