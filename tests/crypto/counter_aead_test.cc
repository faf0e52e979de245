// CounterAead against libsodium's XChaCha20-Poly1305-IETF, which it must
// equal byte for byte, and its refusal of anything altered.
#include "crypto/counter_aead.hh"

#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <sodium.h>

using namespace ferry;

namespace {

std::array<std::uint8_t, 24> sodium_nonce(std::uint64_t counter) {
    std::array<std::uint8_t, 24> nonce{};
    for (std::size_t i = 0; i < 8; ++i)
        nonce[23 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return nonce;
}

std::vector<std::uint8_t> random_bytes(std::mt19937_64& rng, std::size_t size) {
    std::vector<std::uint8_t> out(size);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

}  // namespace

TEST_CASE("CounterAead seals exactly as libsodium's XChaCha20-Poly1305-IETF", "[channel]") {
    REQUIRE(sodium_init() >= 0);
    std::mt19937_64 rng(11);
    for (int round = 0; round < 60; ++round) {
        CounterAead::Key key;
        for (auto& b : key) b = static_cast<std::uint8_t>(rng());
        CounterAead aead(key);
        // Sizes around ChaCha20's 64-byte blocks and its vector widths.
        const std::size_t sizes[] = {0, 1, 63, 64, 65, 255, 256, 257, 1000, 4096, 70000};
        const std::size_t size = sizes[static_cast<std::size_t>(round) % std::size(sizes)];
        const std::uint64_t counter = round < 30 ? static_cast<std::uint64_t>(round) : rng();
        const auto associated = random_bytes(rng, round % 5);
        const auto plain = random_bytes(rng, size);

        std::vector<std::uint8_t> expected(size + CounterAead::kTagBytes);
        unsigned long long written = 0;
        const auto nonce = sodium_nonce(counter);
        crypto_aead_xchacha20poly1305_ietf_encrypt(expected.data(), &written, plain.data(), size,
                                                   associated.data(), associated.size(), nullptr,
                                                   nonce.data(), key.data());
        std::vector<std::uint8_t> sealed = plain;
        sealed.resize(size + CounterAead::kTagBytes);
        aead.seal(counter, associated, std::span(sealed).first(size),
                  std::span(sealed).last<CounterAead::kTagBytes>());
        REQUIRE(sealed == expected);

        CounterAead reader(key);
        REQUIRE(reader.open(counter, associated, std::span(sealed).first(size),
                            std::span(std::as_const(sealed)).last<CounterAead::kTagBytes>()));
        CHECK(std::vector<std::uint8_t>(sealed.begin(), sealed.begin() + static_cast<long>(size)) ==
              plain);
    }
}

TEST_CASE("CounterAead refuses an altered byte, counter, associated data or key", "[channel]") {
    CounterAead::Key key{};
    key[0] = 1;
    CounterAead aead(key);
    const std::vector<std::uint8_t> associated{0, 0, 0, 21};
    std::vector<std::uint8_t> frame{'a', 'l', 't', 'e', 'r', 'e', 'd'};
    frame.resize(frame.size() + CounterAead::kTagBytes);
    const std::size_t size = frame.size() - CounterAead::kTagBytes;
    aead.seal(5, associated, std::span(frame).first(size), std::span(frame).last<16>());

    auto opens = [&](std::vector<std::uint8_t> copy, std::uint64_t counter,
                     const std::vector<std::uint8_t>& ad, const CounterAead::Key& k) {
        CounterAead reader(k);
        return reader.open(counter, ad, std::span(copy).first(size),
                           std::span(std::as_const(copy)).last<16>());
    };
    CHECK(opens(frame, 5, associated, key));
    for (std::size_t i = 0; i < frame.size(); ++i) {
        auto altered = frame;
        altered[i] ^= 0x40;
        CHECK_FALSE(opens(altered, 5, associated, key));
    }
    CHECK_FALSE(opens(frame, 6, associated, key));
    CHECK_FALSE(opens(frame, 5, {0, 0, 0, 22}, key));
    auto other = key;
    other[31] = 9;
    CHECK_FALSE(opens(frame, 5, associated, other));

    // After set_key (the channel's rekeying) it seals under the new key.
    aead.set_key(other);
    std::vector<std::uint8_t> resealed{'a', 'l', 't', 'e', 'r', 'e', 'd'};
    resealed.resize(frame.size());
    aead.seal(5, associated, std::span(resealed).first(size), std::span(resealed).last<16>());
    CHECK(resealed != frame);
    CHECK(opens(resealed, 5, associated, other));
    CHECK_FALSE(opens(resealed, 5, associated, key));
}
