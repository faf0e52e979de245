// Relay URLs (net/relay_url.hh).
#include "net/relay_url.hh"

#include <catch2/catch.hpp>

#include "crypto/identity.hh"

using namespace ferry;

namespace {

std::string some_id() {
    std::array<std::uint8_t, 32> seed{};
    seed[0] = 7;
    return KeyPair::from_seed(seed).device_id().to_string();
}

}  // namespace

TEST_CASE("relay URLs: parse and print back", "[relay_url]") {
    const std::string id = some_id();
    auto url = RelayUrl::parse("relay://relay.example.org:22100#" + id);
    REQUIRE(url);
    CHECK(url->address == "relay.example.org:22100");
    CHECK(url->relay_id.to_string() == id);
    CHECK(url->to_string() == "relay://relay.example.org:22100#" + id);
    auto v6 = RelayUrl::parse("relay://[::1]:9#" + id);
    REQUIRE(v6);
    CHECK(v6->address == "[::1]:9");
}

TEST_CASE("relay URLs: refusals name the problem", "[relay_url]") {
    const std::string id = some_id();
    const std::pair<std::string, std::string> cases[] = {
        {"http://h:1#" + id, "relay://"},
        {"relay://h:1", "no #RELAYID"},
        {"relay://h#" + id, "no port"},
        {"relay://:1#" + id, "no host"},
        {"relay://h:0#" + id, "port 0"},
        {"relay://h:70000#" + id, "port over 65535"},
        {"relay://h:1#NOT-AN-ID", "relay id"},
        {"relay://h:1#" + id + std::string(600, 'x'), "longer than 512"},
    };
    for (const auto& [text, expected] : cases) {
        INFO(text);
        auto url = RelayUrl::parse(text);
        REQUIRE_FALSE(url);
        CHECK(url.error().code == Errc::invalid_argument);
        CHECK(url.error().message.find(expected) != std::string::npos);
    }
}
