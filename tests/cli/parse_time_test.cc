// The command line's parsers: durations, times and HOST:PORT addresses.
#include <catch2/catch.hpp>

#include "cli/addresses.hh"
#include "cli/parse_time.hh"

using namespace ferry::cli;

namespace {
constexpr std::int64_t kS = 1'000'000'000;
constexpr std::int64_t kWeek = 7 * 86400 * kS;
}  // namespace

TEST_CASE("durations take a unit, default seconds, and are bounded", "[cli][parse]") {
    CHECK(parse_duration_ns("90s", kWeek).value() == 90 * kS);
    CHECK(parse_duration_ns("30m", kWeek).value() == 1800 * kS);
    CHECK(parse_duration_ns("1h", kWeek).value() == 3600 * kS);
    CHECK(parse_duration_ns("7d", kWeek).value() == kWeek);
    CHECK(parse_duration_ns("2", kWeek).value() == 2 * kS);
    CHECK(parse_duration_ns("1.5h", kWeek).value() == 5400 * kS);
    CHECK_FALSE(parse_duration_ns("8d", kWeek).has_value());
    CHECK_FALSE(parse_duration_ns("0s", kWeek).has_value());
    CHECK_FALSE(parse_duration_ns("-1h", kWeek).has_value());
    CHECK_FALSE(parse_duration_ns("1w", kWeek).has_value());
    CHECK_FALSE(parse_duration_ns("", kWeek).has_value());
    CHECK_FALSE(parse_duration_ns("h", kWeek).has_value());
    CHECK_THAT(parse_duration_ns("1w", kWeek).error().why, Catch::Contains("unknown unit 'w'"));
}

TEST_CASE("times are read as UTC in the documented forms", "[cli][parse]") {
    const std::int64_t t = 1'795'623'601 * kS;  // 2026-11-25T16:20:01Z
    CHECK(parse_time_ns("2026-11-25T16:20:01Z").value() == t);
    CHECK(parse_time_ns("2026-11-25T16:20:01").value() == t);
    CHECK(parse_time_ns("2026-11-25 16:20:01").value() == t);
    CHECK(parse_time_ns("20261125-162001").value() == t);
    CHECK(parse_time_ns("2026-11-25").value() == t - (16 * 3600 + 20 * 60 + 1) * kS);
    CHECK(parse_time_ns("1970-01-01").value() == 0);
    CHECK(parse_time_ns("2024-02-29").has_value());
    CHECK_FALSE(parse_time_ns("2026-02-29").has_value());
    CHECK_FALSE(parse_time_ns("2026-13-01").has_value());
    CHECK_FALSE(parse_time_ns("2026-11-25T24:00:00").has_value());
    CHECK_FALSE(parse_time_ns("yesterday").has_value());
    CHECK_FALSE(parse_time_ns("2026-11-25T16:20:01+01:00").has_value());
}

TEST_CASE("HOST:PORT addresses, IPv6 in brackets", "[cli][parse]") {
    auto v4 = parse_host_port("192.168.1.20:22400", "address");
    REQUIRE(v4.has_value());
    CHECK(v4->host == "192.168.1.20");
    CHECK(v4->port == 22400);
    auto v6 = parse_host_port("[::1]:7", "address");
    REQUIRE(v6.has_value());
    CHECK(v6->host == "::1");
    CHECK(format_host_port(*v6) == "[::1]:7");
    CHECK(parse_host_port("127.0.0.1:0", "address", true).has_value());
    CHECK_FALSE(parse_host_port("127.0.0.1:0", "address").has_value());
    CHECK_FALSE(parse_host_port("localhost", "address").has_value());
    CHECK_FALSE(parse_host_port(":80", "address").has_value());
    CHECK_FALSE(parse_host_port("::1:80", "address").has_value());
    CHECK_FALSE(parse_host_port("[::1:80", "address").has_value());
    CHECK_FALSE(parse_host_port("host:65536", "address").has_value());
    CHECK_FALSE(parse_host_port("host:12a", "address").has_value());

    CHECK(advertised_addresses("127.0.0.1:5000") == std::vector<std::string>{"127.0.0.1:5000"});
    const auto any = advertised_addresses("0.0.0.0:5000");
    REQUIRE_FALSE(any.empty());
    CHECK(any.back() == "127.0.0.1:5000");  // loopback last
}
