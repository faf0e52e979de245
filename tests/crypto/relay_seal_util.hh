// Helpers for the relay sealing tests and fuzz target: sealed values built
// by hand with libsodium from proto/relay_sealing.md's layout, so the tests
// check the documented bytes rather than the code's own helpers, and can
// make values the code would never make (bombs, bad padding, forgeries).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include <sodium.h>

namespace ferry::test {

// nonce (24, fixed by `nonce_byte`) || XChaCha20-Poly1305(key, AD, plaintext) || tag.
inline std::string seal_by_hand(std::span<const std::uint8_t, 32> key,
                                std::span<const std::uint8_t> associated_data,
                                std::span<const std::uint8_t> plaintext,
                                std::uint8_t nonce_byte = 7) {
    std::string out(24 + plaintext.size() + 16, '\0');
    auto* p = reinterpret_cast<std::uint8_t*>(out.data());
    std::fill_n(p, 24, nonce_byte);
    crypto_aead_xchacha20poly1305_ietf_encrypt(p + 24, nullptr, plaintext.data(), plaintext.size(),
                                               associated_data.data(), associated_data.size(),
                                               nullptr, p, key.data());
    return out;
}

// The plaintext inside `sealed`, or an empty string when it does not open.
inline std::string open_by_hand(std::span<const std::uint8_t, 32> key,
                                std::span<const std::uint8_t> associated_data,
                                std::span<const std::uint8_t> sealed) {
    if (sealed.size() < 40) return {};
    std::string out(sealed.size() - 40, '\0');
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(
            reinterpret_cast<std::uint8_t*>(out.data()), nullptr, nullptr, sealed.data() + 24,
            sealed.size() - 24, associated_data.data(), associated_data.size(), sealed.data(),
            key.data()) != 0) {
        return {};
    }
    return out;
}

// flags || length (4, big-endian) || body || `padding` bytes of `pad_byte`.
inline std::string padded_plaintext(std::uint8_t flags, std::span<const std::uint8_t> body,
                                    std::size_t padding, std::uint8_t pad_byte = 0) {
    std::string out(1, static_cast<char>(flags));
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((body.size() >> shift) & 0xff));
    }
    out.append(reinterpret_cast<const char*>(body.data()), body.size());
    out.append(padding, static_cast<char>(pad_byte));
    return out;
}

}  // namespace ferry::test
