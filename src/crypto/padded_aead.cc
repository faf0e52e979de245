#include "crypto/padded_aead.hh"

#include <algorithm>
#include <bit>
#include <stdexcept>

#include <sodium.h>

#include "crypto/chacha_poly.hh"
#include "crypto/sodium.hh"

namespace ferry::crypto_detail {
namespace {

static_assert(kSealNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kSealTagBytes == kChaChaPolyTagBytes);
static_assert(kSealKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);

std::uint8_t* bytes_of(std::string& s) {
    return reinterpret_cast<std::uint8_t*>(s.data());
}

}  // namespace

std::size_t padme_size(std::size_t n) {
    if (n < 2) return n;
    const int e = std::bit_width(n) - 1;                     // floor(log2 n) >= 1
    const int s = std::bit_width(static_cast<unsigned>(e));  // floor(log2 e) + 1
    const std::size_t mask = (std::size_t{1} << (e - s)) - 1;
    return (n + mask) & ~mask;
}

std::size_t padded_body_size(std::size_t n, std::size_t cap) {
    return std::min(padme_size(n), cap);
}

std::string seal_padded(std::span<const std::uint8_t, kSealKeyBytes> key,
                        std::span<const std::uint8_t> associated_data, std::uint8_t flags,
                        std::initializer_list<std::span<const std::uint8_t>> body,
                        std::size_t cap) {
    ensure_sodium();
    std::size_t length = 0;
    for (const auto part : body) length += part.size();
    if (length > cap || cap > UINT32_MAX) {
        throw std::invalid_argument("seal_padded: a body of " + std::to_string(length) +
                                    " bytes over the cap of " + std::to_string(cap));
    }
    const std::size_t plain = kSealHeaderBytes + padded_body_size(length, cap);
    std::string out(kSealNonceBytes + plain + kSealTagBytes, '\0');  // zeros: the padding
    std::uint8_t* nonce = bytes_of(out);
    randombytes_buf(nonce, kSealNonceBytes);
    std::uint8_t* p = nonce + kSealNonceBytes;
    p[0] = flags;
    for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<std::uint8_t>(length >> (24 - 8 * i));
    std::uint8_t* at = p + kSealHeaderBytes;
    for (const auto part : body) at = std::copy(part.begin(), part.end(), at);
    // Encrypted in place; the tag lands after the plaintext.
    xchacha_seal(key, std::span<const std::uint8_t, kSealNonceBytes>(nonce, kSealNonceBytes),
                 associated_data, std::span(p, plain),
                 std::span<std::uint8_t, kSealTagBytes>(p + plain, kSealTagBytes));
    return out;
}

Result<PaddedPlaintext> open_padded(std::span<const std::uint8_t, kSealKeyBytes> key,
                                    std::span<const std::uint8_t> associated_data,
                                    std::span<const std::uint8_t> sealed, std::size_t cap) {
    ensure_sodium();
    if (sealed.size() < kSealOverhead || sealed.size() - kSealOverhead > cap) {
        return fail(Errc::corrupt, std::to_string(sealed.size()) + " sealed bytes, outside " +
                                       std::to_string(kSealOverhead) + ".." +
                                       std::to_string(kSealOverhead + cap));
    }
    const std::size_t plain = sealed.size() - kSealNonceBytes - kSealTagBytes;
    std::string out(plain, '\0');
    if (!xchacha_open(key, sealed.first<kSealNonceBytes>(), associated_data,
                      sealed.subspan(kSealNonceBytes, plain), std::span(bytes_of(out), plain),
                      sealed.last<kSealTagBytes>())) {
        return fail(Errc::corrupt,
                    "does not authenticate (changed, under another key, or for another id)");
    }
    const auto* p = reinterpret_cast<const std::uint8_t*>(out.data());
    std::size_t length = 0;
    for (int i = 0; i < 4; ++i) length = (length << 8) | p[1 + i];
    const std::size_t padded = plain - kSealHeaderBytes;
    if (length > cap || padded_body_size(length, cap) != padded) {
        return fail(Errc::corrupt, "the header declares " + std::to_string(length) +
                                       " bytes, which do not pad to the " + std::to_string(padded) +
                                       " sealed");
    }
    if (!std::all_of(p + kSealHeaderBytes + length, p + plain,
                     [](std::uint8_t b) { return b == 0; })) {
        return fail(Errc::corrupt, "padding bytes that are not zero");
    }
    PaddedPlaintext result{p[0], {}};
    out.resize(kSealHeaderBytes + length);
    out.erase(0, kSealHeaderBytes);
    result.body = std::move(out);
    return result;
}

std::array<std::uint8_t, kSealKeyBytes> derive_subkey(std::span<const std::uint8_t> key,
                                                      std::string_view domain) {
    ensure_sodium();
    std::array<std::uint8_t, kSealKeyBytes> out{};
    crypto_generichash(out.data(), out.size(), reinterpret_cast<const std::uint8_t*>(domain.data()),
                       domain.size(), key.data(), key.size());
    return out;
}

}  // namespace ferry::crypto_detail
