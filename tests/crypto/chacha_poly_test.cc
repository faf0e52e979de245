// xchacha_seal / xchacha_open against libsodium's XChaCha20-Poly1305-IETF,
// which they must equal byte for byte, and their refusal of anything altered.
#include "crypto/chacha_poly.hh"

#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <sodium.h>

using namespace ferry;
using namespace ferry::crypto_detail;

namespace {

std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t size) {
    std::vector<std::uint8_t> out(size);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

struct Sealed {
    std::vector<std::uint8_t> text;  // ciphertext, then the tag
    std::size_t size() const { return text.size() - kChaChaPolyTagBytes; }
    std::span<const std::uint8_t> body() const { return std::span(text).first(size()); }
    ChaChaPolyConstTag tag() const { return std::span(text).last<kChaChaPolyTagBytes>(); }
};

Sealed seal(const std::vector<std::uint8_t>& key, const std::vector<std::uint8_t>& nonce,
            const std::vector<std::uint8_t>& associated, std::vector<std::uint8_t> plain) {
    const std::size_t size = plain.size();
    plain.resize(size + kChaChaPolyTagBytes);
    xchacha_seal(std::span(key).first<32>(), std::span(nonce).first<24>(), associated,
                 std::span(plain).first(size), std::span(plain).last<kChaChaPolyTagBytes>());
    return Sealed{std::move(plain)};
}

bool opens(const std::vector<std::uint8_t>& key, const std::vector<std::uint8_t>& nonce,
           const std::vector<std::uint8_t>& associated, const Sealed& sealed) {
    std::vector<std::uint8_t> out(sealed.size());
    return xchacha_open(std::span(key).first<32>(), std::span(nonce).first<24>(), associated,
                        sealed.body(), out, sealed.tag());
}

}  // namespace

TEST_CASE("xchacha_seal seals exactly as libsodium's XChaCha20-Poly1305-IETF", "[crypto]") {
    REQUIRE(sodium_init() >= 0);
    std::mt19937_64 rng(17);
    // Sizes around ChaCha20's 64-byte blocks, its vector widths and a chunk.
    const std::size_t sizes[] = {0, 1, 63, 64, 65, 255, 256, 257, 1000, 4096, 70000, 1 << 20};
    for (int round = 0; round < 48; ++round) {
        const std::size_t size = sizes[static_cast<std::size_t>(round) % std::size(sizes)];
        const auto key = random_bytes(rng, 32);
        const auto nonce = random_bytes(rng, 24);
        const auto associated = random_bytes(rng, static_cast<std::size_t>(round % 40));
        const auto plain = random_bytes(rng, size);

        std::vector<std::uint8_t> expected(size + kChaChaPolyTagBytes);
        crypto_aead_xchacha20poly1305_ietf_encrypt(expected.data(), nullptr, plain.data(), size,
                                                   associated.data(), associated.size(), nullptr,
                                                   nonce.data(), key.data());
        const Sealed sealed = seal(key, nonce, associated, plain);
        REQUIRE(sealed.text == expected);

        // Opened apart from the input, and in place.
        std::vector<std::uint8_t> out(size);
        REQUIRE(xchacha_open(std::span(key).first<32>(), std::span(nonce).first<24>(),
                             associated, sealed.body(), out, sealed.tag()));
        CHECK(out == plain);
        std::vector<std::uint8_t> in_place(sealed.text.begin(),
                                           sealed.text.begin() + static_cast<long>(size));
        REQUIRE(xchacha_open(std::span(key).first<32>(), std::span(nonce).first<24>(),
                             associated, in_place, in_place, sealed.tag()));
        CHECK(in_place == plain);
    }
}

TEST_CASE("xchacha_open refuses an altered byte, nonce, associated data or key", "[crypto]") {
    const std::vector<std::uint8_t> key(32, 3);
    std::vector<std::uint8_t> nonce(24, 5);
    const std::vector<std::uint8_t> associated{'c', 'h', 'u', 'n', 'k'};
    const Sealed sealed = seal(key, nonce, associated, {'a', 'l', 't', 'e', 'r', 'e', 'd'});
    CHECK(opens(key, nonce, associated, sealed));
    for (std::size_t i = 0; i < sealed.text.size(); ++i) {
        Sealed altered = sealed;
        altered.text[i] ^= 0x40;
        CHECK_FALSE(opens(key, nonce, associated, altered));
    }
    // A byte of the HChaCha20 part of the nonce, and one of the rest.
    for (const std::size_t i : {std::size_t{0}, std::size_t{15}, std::size_t{16}, std::size_t{23}}) {
        auto other = nonce;
        other[i] ^= 1;
        CHECK_FALSE(opens(key, other, associated, sealed));
    }
    CHECK_FALSE(opens(key, nonce, {'c', 'h', 'u', 'n', 'j'}, sealed));
    auto other_key = key;
    other_key[31] ^= 1;
    CHECK_FALSE(opens(other_key, nonce, associated, sealed));
}
