// Byte sizes as people write them (core/byte_size.hh).
#include "core/byte_size.hh"

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("byte sizes: units, decimal and binary", "[byte_size]") {
    CHECK(parse_byte_size("0").value() == 0);
    CHECK(parse_byte_size("unlimited").value() == 0);
    CHECK(parse_byte_size("Unlimited").value() == 0);
    CHECK(parse_byte_size("512").value() == 512);
    CHECK(parse_byte_size("512B").value() == 512);
    CHECK(parse_byte_size("1k").value() == 1000);
    CHECK(parse_byte_size("1KB").value() == 1000);
    CHECK(parse_byte_size("1KiB").value() == 1024);
    CHECK(parse_byte_size("500MiB").value() == 500ull << 20);
    CHECK(parse_byte_size("500 MiB").value() == 500ull << 20);
    CHECK(parse_byte_size("10G").value() == 10'000'000'000ull);
    CHECK(parse_byte_size("1.5TB").value() == 1'500'000'000'000ull);
    CHECK(parse_byte_size("2pib").value() == 2ull << 50);
}

TEST_CASE("byte sizes: refusals say what is wrong", "[byte_size]") {
    for (const char* bad : {"", "-1", "1.2.3", ".5G", "5.G", "10X", "10 GiBs", "G", "1e9",
                            "99999999999P"}) {
        auto parsed = parse_byte_size(bad);
        INFO(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == Errc::invalid_argument);
        CHECK(parsed.error().message.find("size \"") == 0);
    }
}

TEST_CASE("byte sizes: numbers too long for a double are refused, not thrown", "[byte_size]") {
    // Found by fuzz_relay_text: std::stod threw std::out_of_range on these.
    for (const std::string& bad : {"1" + std::string(400, '0'), "0." + std::string(400, '0') + "1",
                                   std::string(33, '1') + "k"}) {
        auto parsed = parse_byte_size(bad);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().message.find("too many digits") != std::string::npos);
    }
    CHECK(parse_byte_size(std::string(32, '0') + "1k").error().message.find("too many digits") !=
          std::string::npos);
    CHECK(parse_byte_size("0." + std::string(29, '0') + "1").value() == 0);
}

TEST_CASE("byte sizes: shown in decimal units", "[byte_size]") {
    CHECK(human_bytes(999) == "999 B");
    CHECK(human_bytes(1000) == "1.0 kB");
    CHECK(human_bytes(999'999) == "1.0 MB");
    CHECK(human_bytes(3'000'000) == "3.0 MB");
}
