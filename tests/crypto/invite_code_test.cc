#include "crypto/invite_code.hh"

#include <algorithm>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <sodium.h>

#include "crypto/base32.hh"
#include "crypto_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// proto/security.md's vector, computed independently (Python: hashlib.blake2b,
// base64.b32encode).
constexpr const char* kGoldenCode =
    "ferry1-ag6wegzx25af5wgudq37rx76r5sw45moonlfc75f47gztwxwgvqqzifbukr2jjngu6uktkvlvsw25l5qwgzl"
    "hnfvw233ron2xo6l3pv7yda4fq6eyxdmpsgjzlf4ztooz4mhv77ntcbkaaacciytsmroge3dqlrrfyzdaorsgiydamap"
    "lntgkobqhi5dcxj2gizdambqhutih6i";

InviteCode golden_invite() {
    InviteCode code;
    code.inviter = key_from(0x20).device_id();
    const auto id = counting(0xa0);
    std::copy_n(id.begin(), code.invite_id.size(), code.invite_id.begin());
    code.secret = counting(0xb0);
    code.expires_ns = 1764003600000000000;
    code.addresses = {"192.168.1.20:22000", "[fe80::1]:22000"};
    return code;
}

bool same(const InviteCode& a, const InviteCode& b) {
    return a.inviter == b.inviter && a.addresses == b.addresses && a.invite_id == b.invite_id &&
           a.secret == b.secret && a.expires_ns == b.expires_ns;
}

// A code with a correct checksum around any body, to reach the checks
// behind the checksum.
std::string code_with_body(std::vector<std::uint8_t> body) {
    std::array<std::uint8_t, 32> hash{};
    crypto_generichash(hash.data(), hash.size(), body.data(), body.size(), nullptr, 0);
    body.insert(body.end(), hash.begin(), hash.begin() + 4);
    std::string text = base32_encode(body);
    std::transform(text.begin(), text.end(), text.begin(), ::tolower);
    return "ferry1-" + text;
}

std::vector<std::uint8_t> body_before_addresses() {
    std::vector<std::uint8_t> body(1 + 32 + 16 + 32 + 8, 0);
    body[0] = 1;
    return body;
}

std::string message_of(std::string_view text) {
    const auto result = InviteCode::decode(text);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_argument);
    return result.error().message;
}

}  // namespace

TEST_CASE("a join code has the golden text and decodes back", "[invite_code]") {
    const InviteCode code = golden_invite();
    CHECK(code.encode() == kGoldenCode);
    const auto decoded = InviteCode::decode(kGoldenCode);
    REQUIRE(decoded);
    CHECK(same(*decoded, code));
}

TEST_CASE("join codes round-trip at the limits", "[invite_code]") {
    InviteCode code = golden_invite();
    code.addresses.clear();
    for (std::size_t i = 0; i < InviteCode::kMaxAddresses; ++i) {
        code.addresses.push_back(std::string(InviteCode::kMaxAddressBytes - 6, 'h') + ":" +
                                 std::to_string(10000 + i));
    }
    code.expires_ns = -1;
    const auto decoded = InviteCode::decode(code.encode());
    REQUIRE(decoded);
    CHECK(same(*decoded, code));

    code.addresses.clear();
    const auto none = InviteCode::decode(code.encode());
    REQUIRE(none);
    CHECK(none->addresses.empty());
}

TEST_CASE("join codes are read in either case and with surrounding blanks", "[invite_code]") {
    std::string upper = kGoldenCode;
    std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
    const auto decoded = InviteCode::decode("  " + upper + "\n");
    REQUIRE(decoded);
    CHECK(same(*decoded, golden_invite()));
}

TEST_CASE("every single mistyped character of a join code is reported", "[invite_code]") {
    const std::string good = kGoldenCode;
    const std::string alphabet = "abcdefghijklmnopqrstuvwxyz234567";
    for (std::size_t i = 7; i < good.size(); ++i) {
        // Two different substitutes per position: the next character and a far one.
        for (std::size_t step : {1u, 17u}) {
            std::string bad = good;
            bad[i] = alphabet[(alphabet.find(good[i]) + step) % alphabet.size()];
            INFO("position " << i);
            CHECK_FALSE(InviteCode::decode(bad));
        }
    }
    CHECK(message_of(good.substr(0, 50) + "x" + good.substr(51)).find("checksum") !=
          std::string::npos);
}

TEST_CASE("truncated, extended or foreign join codes are refused", "[invite_code]") {
    const std::string good = kGoldenCode;
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("length " << n);
        CHECK_FALSE(InviteCode::decode(good.substr(0, n)));
    }
    CHECK_FALSE(InviteCode::decode(good + "a"));
    CHECK_FALSE(InviteCode::decode(good + "aaaaaaaa"));
    CHECK(message_of("ferry2-" + good.substr(7)).find("ferry1-") != std::string::npos);
    CHECK(message_of(good.substr(0, 20) + "1" + good.substr(21)).find("'1' at position 21") !=
          std::string::npos);
    CHECK(message_of("ferry1-" + std::string(10000, 'a')).find("long") != std::string::npos);
}

TEST_CASE("join codes break no limit even with a valid checksum", "[invite_code]") {
    SECTION("too many addresses") {
        auto body = body_before_addresses();
        body.push_back(17);
        for (int i = 0; i < 17; ++i) {
            body.push_back(1);
            body.push_back('a');
        }
        CHECK(message_of(code_with_body(body)).find("17 addresses") != std::string::npos);
    }
    SECTION("an address that is empty or holds a space") {
        auto body = body_before_addresses();
        body.push_back(1);
        body.push_back(0);
        CHECK_FALSE(InviteCode::decode(code_with_body(body)));
        body.back() = 3;
        body.insert(body.end(), {'a', ' ', 'b'});
        CHECK_FALSE(InviteCode::decode(code_with_body(body)));
    }
    SECTION("an address running past the end") {
        auto body = body_before_addresses();
        body.insert(body.end(), {1, 9, 'a'});
        CHECK(message_of(code_with_body(body)).find("ends inside address 1") != std::string::npos);
    }
    SECTION("bytes after the last address") {
        auto body = body_before_addresses();
        body.insert(body.end(), {0, 0});
        CHECK(message_of(code_with_body(body)).find("extra") != std::string::npos);
    }
    SECTION("a newer format") {
        auto body = body_before_addresses();
        body[0] = 2;
        body.push_back(0);
        CHECK(message_of(code_with_body(body)).find("update ferry") != std::string::npos);
    }
    SECTION("encode refuses what decode would") {
        InviteCode code = golden_invite();
        code.addresses.assign(InviteCode::kMaxAddresses + 1, "a:1");
        CHECK_THROWS_AS(code.encode(), std::invalid_argument);
        code.addresses = {std::string(256, 'a')};
        CHECK_THROWS_AS(code.encode(), std::invalid_argument);
    }
}

TEST_CASE("base32 has exactly one text form for each byte string", "[base32]") {
    CHECK(base32_encode(std::vector<std::uint8_t>{'f', 'o', 'o', 'b', 'a', 'r'}) == "MZXW6YTBOI");
    const auto decoded = base32_decode("mzxw6ytboi");
    REQUIRE(decoded);
    CHECK(*decoded == std::vector<std::uint8_t>{'f', 'o', 'o', 'b', 'a', 'r'});
    CHECK_FALSE(base32_decode("MZXW6YTBOJ"));  // non-zero bits after the last byte
    CHECK_FALSE(base32_decode("MZXW6YTBO"));   // a length no encoding has
    CHECK_FALSE(base32_decode("MZXW6YTB0I"));  // '0' is not in the alphabet
    CHECK(base32_decode("") == std::vector<std::uint8_t>{});
}
