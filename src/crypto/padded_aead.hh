// The padded, sealed layout that everything a device gives a relay shares
// (proto/relay_sealing.md, "Sealed layout"): relay chunks
// (crypto/relay_seal.hh) and mailbox envelopes (crypto/mailbox_envelope.hh).
//
//   sealed = nonce (24, random) || XChaCha20-Poly1305(key, nonce, AD, P) || tag (16)
//   P      = flags (1) || body length (4, big-endian) || body || zero bytes
//
// The zero bytes pad the body to padded_body_size(length, cap): Padmé, capped.
// So a sealed value is kSealOverhead + padded_body_size(body) bytes, and its
// size tells at most which Padmé bucket the body is in.
//
// derive_subkey() is the relay keys' derivation, KH(key, domain) in
// proto/security.md's notation: BLAKE2b-256 keyed by `key` over the domain
// text.
//
// open_padded() takes untrusted bytes: it checks the size against the cap
// before allocating, then authenticates, then requires the exact padding
// (the declared length's padded size, zero bytes): one plaintext per sealed
// value. Every failure is Errc::corrupt with a message that the caller
// prefixes with what was being opened. Flags are the caller's to check.
//
// Pure functions (randomness from libsodium); safe from any thread. Private
// to src/crypto.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hh"

namespace ferry::crypto_detail {

inline constexpr std::size_t kSealNonceBytes = 24;
inline constexpr std::size_t kSealTagBytes = 16;
inline constexpr std::size_t kSealHeaderBytes = 5;  // flags, body length
inline constexpr std::size_t kSealOverhead = kSealNonceBytes + kSealHeaderBytes + kSealTagBytes;
inline constexpr std::size_t kSealKeyBytes = 32;

// Padmé (Nikitin et al., "Reducing metadata leakage from encrypted files and
// communication with PURBs", 2019): for n >= 2 with E = floor(log2 n) and
// S = floor(log2 E) + 1, n rounded up to a multiple of 2^(E - S); n < 2 as it
// is. At most 2^S sizes per power of two, so a size leaks O(log log n) bits;
// the padding is at most 15/129 (11.6 %) of n, and below 1/2^S otherwise.
std::size_t padme_size(std::size_t n);

// min(padme_size(n), cap). REQUIRES: n <= cap.
std::size_t padded_body_size(std::size_t n, std::size_t cap);

// The sealed value of `body` (the concatenation of the parts). REQUIRES:
// the body's total length <= cap < 2^32.
std::string seal_padded(std::span<const std::uint8_t, kSealKeyBytes> key,
                        std::span<const std::uint8_t> associated_data, std::uint8_t flags,
                        std::initializer_list<std::span<const std::uint8_t>> body, std::size_t cap);

struct PaddedPlaintext {
    std::uint8_t flags = 0;
    std::string body;  // without the header and the padding
};

Result<PaddedPlaintext> open_padded(std::span<const std::uint8_t, kSealKeyBytes> key,
                                    std::span<const std::uint8_t> associated_data,
                                    std::span<const std::uint8_t> sealed, std::size_t cap);

std::array<std::uint8_t, kSealKeyBytes> derive_subkey(std::span<const std::uint8_t> key,
                                                      std::string_view domain);

}  // namespace ferry::crypto_detail
