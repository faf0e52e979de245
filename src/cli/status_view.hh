// How `ferry status` words what the daemon reports (its status JSON, see
// cli/control.hh): one line per folder saying what it is doing, bars for
// progress, durations for people. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>

#include <nlohmann/json.hpp>

namespace ferry::cli {

// What a folder is doing, e.g. "in sync", "scanning, 45 %",
// "scanning, 12,345 entries so far", "syncing 12 files (34.5 MB) at
// 2.1 MB/s, about 16 s left", "paused (`ferry resume docs` resumes it)",
// "error: ...". With `bar_width` > 0 a scan's percentage is drawn as a bar too.
std::string folder_state_line(const nlohmann::json& folder, std::size_t bar_width = 0);

// How far a device is with a folder: "in sync", "offline", "syncing, 45.2 %"
// (with a bar when `bar_width` > 0).
std::string device_progress_line(const nlohmann::json& device, std::size_t bar_width = 0);

// One relay of `ferry status --json`'s "relays": "connected (12 ms), uses
// 3.0 MB of 1.0 GB", or "not connected: <why>".
std::string relay_status_line(const nlohmann::json& relay);

// "[#####.....]" for `percent` (0..100) in `width` cells between the brackets.
std::string percent_bar(double percent, std::size_t width);

// "less than a second", "16 s", "4 min 10 s", "2 h 5 min", "3 d 4 h".
std::string human_duration(double seconds);

}  // namespace ferry::cli
