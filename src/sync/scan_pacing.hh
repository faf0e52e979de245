// When a scan that a watcher asked for may start: `delay` after the change,
// and never sooner than `kScanPace` times the last scan's duration after it
// ended, so that scans triggered by changes take at most about a fifth of
// the time however large the folder (a no-change scan of 100,000 files
// takes ~0.3 s here; a file rewritten every second would otherwise keep
// rescanning it). A single change after a quiet spell waits only `delay`.
//
// Pure.
#pragma once

#include <algorithm>
#include <chrono>

#include "net/monotonic_time.hh"

namespace ferry {

inline constexpr int kScanPace = 4;

inline MonotonicClock::duration watch_scan_wait(
    MonotonicClock::time_point now, MonotonicClock::duration delay,
    MonotonicClock::time_point last_scan_ended,
    MonotonicClock::duration last_scan_took) {
    const auto paced = last_scan_ended + kScanPace * last_scan_took;
    return std::max<MonotonicClock::duration>(delay, paced - now);
}

}  // namespace ferry
