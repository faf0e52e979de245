// Pacing of the scans a watcher asks for.
#include "sync/scan_pacing.hh"

#include <catch2/catch.hpp>

using namespace ferry;
using namespace std::chrono_literals;

TEST_CASE("scan pacing: after a quiet spell only the delay, after long scans a multiple of them",
          "[watch]") {
    const auto now = MonotonicClock::now();
    // Quiet: the last scan ended long ago.
    CHECK(watch_scan_wait(now, 100ms, now - 60s, 300ms) == 100ms);
    // Small folder: its scans take milliseconds.
    CHECK(watch_scan_wait(now, 100ms, now - 1ms, 5ms) == 100ms);
    // Large folder, scanned a moment ago for 300 ms: 4 x 300 ms after it ended.
    CHECK(watch_scan_wait(now, 100ms, now - 200ms, 300ms) == 1000ms);
    // Never negative.
    CHECK(watch_scan_wait(now, 0ms, now - 10s, 1s) == 0ms);
}
