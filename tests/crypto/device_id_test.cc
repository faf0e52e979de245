#include "crypto/device_id.hh"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include <catch2/catch.hpp>

#include "crypto/identity.hh"

using namespace ferry;

namespace {

std::array<std::uint8_t, 32> counting_seed() {
    std::array<std::uint8_t, 32> seed{};
    for (std::size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<std::uint8_t>(i);
    return seed;
}

// Computed independently (Python: cryptography's Ed25519, hashlib.blake2b,
// base64.b32encode) for the seed 00 01 02 ... 1f.
constexpr const char* kGoldenId = "DKCHJ56-HKUBATB-R757KW2-VBDSASB-GMPXL3V-MUCUPG4-ISZ2APG-F7WSEAT";
constexpr std::uint64_t kGoldenShort = 0x1a8474f7c7550209ULL;

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

}  // namespace

TEST_CASE("device id derivation from a fixed seed matches the golden value", "[device_id]") {
    const auto seed = counting_seed();
    const KeyPair key = KeyPair::from_seed(seed);
    CHECK(hex(key.public_key()) ==
          "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8");
    const DeviceId id = key.device_id();
    CHECK(hex(id.bytes()) == "1a8474f7c7550209c7fdfaadaa8472048cc7dd7bab282a3cc896740798bfb488");
    CHECK(id.to_string() == kGoldenId);
    CHECK(id.to_string().size() == DeviceId::kTextLength);
    CHECK(id.short_id() == ShortId{kGoldenShort});
    // Deterministic: the same seed, the same id.
    CHECK(KeyPair::from_seed(seed).device_id() == id);
}

TEST_CASE("generated identities differ and have the shown form", "[device_id]") {
    const DeviceId a = KeyPair::generate().device_id();
    const DeviceId b = KeyPair::generate().device_id();
    CHECK(a != b);
    const std::string text = a.to_string();
    REQUIRE(text.size() == 63);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i % 8 == 7) {
            CHECK(text[i] == '-');
        } else {
            const char c = text[i];
            CHECK(((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')));
        }
    }
}

TEST_CASE("device id parse round-trips and accepts lower case and no dashes", "[device_id]") {
    const DeviceId id = KeyPair::generate().device_id();
    const std::string text = id.to_string();
    auto parsed = DeviceId::parse(text);
    REQUIRE(parsed);
    CHECK(*parsed == id);

    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    auto from_lower = DeviceId::parse(lower);
    REQUIRE(from_lower);
    CHECK(*from_lower == id);

    std::string bare = text;
    bare.erase(std::remove(bare.begin(), bare.end(), '-'), bare.end());
    REQUIRE(bare.size() == 56);
    auto from_bare = DeviceId::parse(bare);
    REQUIRE(from_bare);
    CHECK(*from_bare == id);
}

TEST_CASE("every single-character change of a device id is caught", "[device_id]") {
    static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const std::string text = kGoldenId;
    int changes = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '-') continue;
        for (char c : alphabet) {
            if (c == text[i]) continue;
            std::string typo = text;
            typo[i] = c;
            auto parsed = DeviceId::parse(typo);
            INFO("position " << i << " changed to " << c);
            REQUIRE_FALSE(parsed);
            CHECK(parsed.error().code == Errc::invalid_argument);
            ++changes;
        }
    }
    CHECK(changes == 56 * 31);
}

TEST_CASE("device id parse names the group with the mistake", "[device_id]") {
    std::string typo = kGoldenId;
    typo[17] = typo[17] == 'A' ? 'B' : 'A';  // third group of 7
    auto parsed = DeviceId::parse(typo);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Catch::Contains("groups 3-4"));

    std::string last = kGoldenId;
    last[62] = last[62] == 'A' ? 'B' : 'A';  // a check character itself
    parsed = DeviceId::parse(last);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.error().message, Catch::Contains("groups 7-8"));
}

TEST_CASE("device id parse refuses bad characters and lengths", "[device_id]") {
    const std::string text = kGoldenId;
    auto bad_char = DeviceId::parse("1" + text.substr(1));  // '1' is not base32
    REQUIRE_FALSE(bad_char);
    CHECK_THAT(bad_char.error().message, Catch::Contains("'1'"));

    auto short_id = DeviceId::parse(text.substr(0, 62));  // one character short
    REQUIRE_FALSE(short_id);
    CHECK_THAT(short_id.error().message, Catch::Contains("55 characters"));

    CHECK_FALSE(DeviceId::parse(""));
    CHECK_FALSE(DeviceId::parse(text + "A"));
}
