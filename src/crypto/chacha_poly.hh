// ChaCha20-Poly1305 with OpenSSL's vectorised code, and the
// XChaCha20-Poly1305-IETF that ferry seals with, built on it.
//
// Why not libsodium for the bulk: Debian's libsodium 1.0.18 runs its AEADs
// on a portable ChaCha20 (about 1 GB/s here); OpenSSL's is about twice as
// fast, and every byte a device sends, and every chunk it gives a relay or
// takes from one, goes through it. libsodium still supplies HChaCha20.
//
// Promises:
// - ChaChaPoly: RFC 8439 AEAD_CHACHA20_POLY1305 under a 32-byte key and a
//   12-byte nonce. One EVP context, reused; one thread at a time.
// - xchacha_seal / xchacha_open: byte for byte libsodium's
//   crypto_aead_xchacha20poly1305_ietf (draft-irtf-cfrg-xchacha): subkey
//   HChaCha20(key, nonce[0..16)), then ChaCha20-Poly1305 under it with the
//   nonce 0x00000000 || nonce[16..24). Safe from any thread (a context per
//   thread); the subkey is wiped after each call. A test checks both against
//   libsodium.
// - open/xchacha_open return false when the tag does not authenticate; the
//   output then holds garbage and must not be used.
// Private to src/crypto.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include <openssl/types.h>

namespace ferry::crypto_detail {

inline constexpr std::size_t kChaChaPolyTagBytes = 16;
using ChaChaPolyKey = std::span<const std::uint8_t, 32>;
using ChaChaPolyTag = std::span<std::uint8_t, kChaChaPolyTagBytes>;
using ChaChaPolyConstTag = std::span<const std::uint8_t, kChaChaPolyTagBytes>;

class ChaChaPoly {
public:
    using Nonce = std::array<std::uint8_t, 12>;

    ChaChaPoly();
    ~ChaChaPoly();
    ChaChaPoly(const ChaChaPoly&) = delete;
    ChaChaPoly& operator=(const ChaChaPoly&) = delete;

    // Encrypts `text` over itself and writes the tag.
    void seal(ChaChaPolyKey key, const Nonce& nonce,
              std::span<const std::uint8_t> associated, std::span<std::uint8_t> text,
              ChaChaPolyTag tag);
    // Decrypts `in` into `out` (the same size; the same bytes, or apart).
    [[nodiscard]] bool open(ChaChaPolyKey key, const Nonce& nonce,
                            std::span<const std::uint8_t> associated,
                            std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                            ChaChaPolyConstTag tag);

private:
    EVP_CIPHER_CTX* m_ctx;
};

using XChaChaNonce = std::span<const std::uint8_t, 24>;

void xchacha_seal(ChaChaPolyKey key, XChaChaNonce nonce,
                  std::span<const std::uint8_t> associated, std::span<std::uint8_t> text,
                  ChaChaPolyTag tag);

[[nodiscard]] bool xchacha_open(ChaChaPolyKey key, XChaChaNonce nonce,
                                std::span<const std::uint8_t> associated,
                                std::span<const std::uint8_t> in, std::span<std::uint8_t> out,
                                ChaChaPolyConstTag tag);

}  // namespace ferry::crypto_detail
