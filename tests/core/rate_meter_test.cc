#include <catch2/catch.hpp>

#include "core/rate_meter.hh"

using namespace ferry;

namespace {
constexpr std::int64_t kS = 1'000'000'000;
}

TEST_CASE("rate meter: bytes per second over the window", "[rate_meter]") {
    RateMeter meter(5);
    CHECK(meter.rate(0) == 0.0);
    CHECK_FALSE(meter.seconds_left(100, 0));
    for (int s = 0; s < 10; ++s) meter.add(1000, 100 * kS + s * kS);
    // The last 5 seconds held 5,000 bytes.
    CHECK(meter.rate(109 * kS + kS / 2) == Approx(1000.0));
    CHECK(*meter.seconds_left(10'000, 109 * kS) == Approx(10.0));
    // Nothing moved since: the rate falls away, then is 0.
    CHECK(meter.rate(112 * kS) == Approx(400.0));
    CHECK(meter.rate(200 * kS) == 0.0);
    CHECK_FALSE(meter.seconds_left(10'000, 200 * kS));
}

TEST_CASE("rate meter: a young meter divides by its age, at least a second", "[rate_meter]") {
    RateMeter meter(5);
    meter.add(4000, 50 * kS);
    CHECK(meter.rate(50 * kS + kS / 10) == Approx(4000.0));  // not 40,000 B/s
    meter.add(4000, 52 * kS);
    CHECK(meter.rate(52 * kS) == Approx(4000.0));  // 8,000 bytes in 2 s
}
