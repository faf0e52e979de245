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

namespace ferry {

inline constexpr int kScanPace = 4;

inline std::chrono::steady_clock::duration watch_scan_wait(
    std::chrono::steady_clock::time_point now, std::chrono::steady_clock::duration delay,
    std::chrono::steady_clock::time_point last_scan_ended,
    std::chrono::steady_clock::duration last_scan_took) {
    const auto paced = last_scan_ended + kScanPace * last_scan_took;
    return std::max<std::chrono::steady_clock::duration>(delay, paced - now);
}

}  // namespace ferry
