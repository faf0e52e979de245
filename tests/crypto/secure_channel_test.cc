#include "crypto/secure_channel.hh"

#include <string>

#include <catch2/catch.hpp>

#include "crypto_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

std::vector<std::uint8_t> text(const std::string& s) {
    return {s.begin(), s.end()};
}

// The payload of a sealed frame (what the reader hands to open()).
std::span<const std::uint8_t> payload(const std::vector<std::uint8_t>& frame) {
    return std::span(frame).subspan(4);
}

std::uint32_t prefix_of(const std::vector<std::uint8_t>& frame) {
    return (std::uint32_t{frame[0]} << 24) | (std::uint32_t{frame[1]} << 16) |
           (std::uint32_t{frame[2]} << 8) | frame[3];
}

}  // namespace

TEST_CASE("sealed frames have the golden bytes of proto/handshake.md", "[channel]") {
    // Computed independently (Python: HChaCha20 + cryptography's
    // ChaCha20Poly1305, hashlib.blake2b) for the key c0 c1 ... df.
    FrameSealer sealer(counting(0xc0));
    CHECK(hex(sealer.seal(text("hello"))) == "0000001515b16e55785c7f9a85e010bab89dcfffee759fd4f4");
}

TEST_CASE("frames open in order, any size, with the length as the prefix", "[channel]") {
    const auto key = counting(0x11);
    FrameSealer sealer(key);
    FrameOpener opener(key);
    for (std::size_t size : {0u, 1u, 15u, 16u, 17u, 1000u, 70000u}) {
        std::vector<std::uint8_t> plain(size);
        for (std::size_t i = 0; i < size; ++i) plain[i] = static_cast<std::uint8_t>(i * 7);
        const auto frame = sealer.seal(plain);
        REQUIRE(frame.size() == 4 + size + kFrameAeadOverhead);
        CHECK(prefix_of(frame) == size + kFrameAeadOverhead);
        const auto opened = opener.open(payload(frame));
        REQUIRE(opened);
        CHECK(*opened == plain);
    }
}

TEST_CASE("sealing and opening in place give the same bytes as with copies", "[channel]") {
    const auto key = counting(0x11);
    FrameSealer copying(key);
    FrameSealer in_place(key);
    FrameOpener opener(key);
    for (std::size_t size : {0u, 5u, 70000u}) {
        std::vector<std::uint8_t> plain(size);
        for (std::size_t i = 0; i < size; ++i) plain[i] = static_cast<std::uint8_t>(i * 3);
        std::vector<std::uint8_t> frame(kFrameHeadBytes + size + kFrameAeadOverhead, 0xee);
        std::copy(plain.begin(), plain.end(), frame.begin() + kFrameHeadBytes);
        in_place.seal_in_place(frame);
        CHECK(frame == copying.seal(plain));
        auto opened = opener.open_in_place(std::span(frame).subspan(kFrameHeadBytes));
        REQUIRE(opened);
        CHECK(std::vector<std::uint8_t>(opened->begin(), opened->end()) == plain);
        CHECK(opened->data() == frame.data() + kFrameHeadBytes);  // over the ciphertext
    }
    // Too short to hold a length and a tag.
    std::vector<std::uint8_t> short_frame(kFrameHeadBytes + kFrameAeadOverhead - 1);
    CHECK_THROWS_AS(in_place.seal_in_place(short_frame), std::length_error);
    // A frame that fails in place is refused as with a copy.
    auto frame = copying.seal(text("x"));
    frame.back() ^= 1;
    CHECK(opener.open_in_place(std::span(frame).subspan(kFrameHeadBytes)).error().code ==
          Errc::corrupt);
}

TEST_CASE("the same plaintext never gives the same frame twice", "[channel]") {
    FrameSealer sealer(counting(0x11));
    CHECK(sealer.seal(text("ping")) != sealer.seal(text("ping")));
}

TEST_CASE("an altered byte anywhere in a frame fails authentication", "[channel]") {
    const auto key = counting(0x22);
    FrameSealer sealer(key);
    const auto frame = sealer.seal(text("index update"));
    for (std::size_t i = 4; i < frame.size(); ++i) {
        auto bad = frame;
        bad[i] ^= 0x01;
        FrameOpener opener(key);
        const auto result = opener.open(payload(bad));
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::corrupt);
    }
}

TEST_CASE("replayed, reordered, truncated and foreign frames fail", "[channel]") {
    const auto key = counting(0x33);
    FrameSealer sealer(key);
    const auto first = sealer.seal(text("first"));
    const auto second = sealer.seal(text("second"));

    SECTION("replay") {
        FrameOpener opener(key);
        REQUIRE(opener.open(payload(first)));
        CHECK_FALSE(opener.open(payload(first)));
    }
    SECTION("reorder") {
        FrameOpener opener(key);
        CHECK_FALSE(opener.open(payload(second)));
    }
    SECTION("dropped frame") {
        FrameOpener opener(key);
        REQUIRE(opener.open(payload(first)));
        const auto third = sealer.seal(text("third"));
        CHECK_FALSE(opener.open(payload(third)));
    }
    SECTION("truncation, including a length prefix that was changed to match") {
        for (std::size_t n = 0; n < first.size() - 4; ++n) {
            FrameOpener opener(key);
            const auto result = opener.open(payload(first).first(n));
            REQUIRE_FALSE(result);
            CHECK(result.error().code == Errc::corrupt);
        }
    }
    SECTION("wrong key") {
        FrameOpener opener(counting(0x34));
        CHECK_FALSE(opener.open(payload(first)));
    }
}

TEST_CASE("the key changes every kRekeyInterval frames on both sides", "[channel]") {
    const auto key = counting(0xc0);
    FrameSealer sealer(key);
    FrameOpener opener(key);
    const auto plain = text("hello");
    std::vector<std::uint8_t> last_before;
    for (std::uint64_t i = 0; i < kRekeyInterval; ++i) {
        const auto frame = sealer.seal(plain);
        REQUIRE(opener.open(payload(frame)));
        if (i + 1 == kRekeyInterval) last_before = frame;
    }
    // Frame 65536 is sealed under BLAKE2b-256(key = old key,
    // "ferry-channel-rekey-v1"): the vector of proto/handshake.md.
    const auto boundary = sealer.seal(plain);
    CHECK(hex(boundary) == "0000001531d3b37993cca07d66c9e8d32727b6afa3eae72987");
    const auto opened = opener.open(payload(boundary));
    REQUIRE(opened);
    CHECK(*opened == plain);
    const auto after = sealer.seal(plain);
    CHECK(opener.open(payload(after)));
    // A frame of the old key replayed after the boundary fails.
    CHECK_FALSE(opener.open(payload(last_before)));
}
