// `ferry run --max-send-rate / --max-recv-rate`: the limits reach the
// daemons' connections (net/rate_limiter.hh has the finer tests). Time is
// only bounded from below.
#include <chrono>

#include <catch2/catch.hpp>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

constexpr double kBurstBytes = 512 * 1024;  // TokenBucket::kBurstBytes

// A file of `bytes` (random: compression cannot shrink it) on device 0,
// scanned there; returns the seconds until every device has it.
double seconds_to_sync(TestCluster& cluster, std::size_t bytes) {
    write_file(cluster[0].file("big.bin"), random_bytes(bytes, 42));
    const auto start = std::chrono::steady_clock::now();
    cluster.scan(0);
    REQUIRE(cluster.wait_converged());
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("ferry run's rate limits slow a sync down to them", "[cli][daemon][rate_limit]") {
    TestCluster cluster(2);
    cluster.setup();
    const std::size_t bytes = 2u << 20;
    const double rate = 256 * 1024;

    SECTION("a receive limit on the receiving device") {
        REQUIRE(cluster[1].daemon->stop() == 0);
        cluster[1].start({"--max-recv-rate", "256"});
        REQUIRE(cluster.all_online());
        CHECK_THAT(cluster[1].daemon_log(),
                   Catch::Contains("rate limits: sending unlimited, receiving 256 KiB/s"));
        CHECK(seconds_to_sync(cluster, bytes) >= 0.9 * (bytes - kBurstBytes) / rate);
    }
    SECTION("a send limit on the sending device") {
        REQUIRE(cluster[0].daemon->stop() == 0);
        cluster[0].start({"--max-send-rate", "256"});
        REQUIRE(cluster.all_online());
        CHECK_THAT(cluster[0].daemon_log(),
                   Catch::Contains("rate limits: sending 256 KiB/s, receiving unlimited"));
        CHECK(seconds_to_sync(cluster, bytes) >= 0.9 * (bytes - kBurstBytes) / rate);
    }
}
