#include "crypto/random.hh"

#include <set>

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("random_below stays in range and covers it", "[random]") {
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 2000; ++i) {
        const std::uint32_t v = random_below(26);
        REQUIRE(v < 26);
        seen.insert(v);
    }
    // 2000 draws miss one of 26 values with probability about 26 * (25/26)^2000 < 1e-30.
    CHECK(seen.size() == 26);
    CHECK(random_below(1) == 0);
}
