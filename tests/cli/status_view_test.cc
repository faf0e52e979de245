// How `ferry status` words the daemon's status: state lines, bars, durations.
#include "cli/status_view.hh"

#include <catch2/catch.hpp>

using namespace ferry::cli;
using nlohmann::json;

namespace {

json folder(const std::string& state) {
    return {{"id", "docs"},          {"state", state},       {"scan_completion", nullptr},
            {"scan_entries", 0},     {"need_files", 0},      {"need_bytes", 0},
            {"receive_rate", 0.0},   {"seconds_left", nullptr}, {"error", ""}};
}

}  // namespace

TEST_CASE("status view: durations for people", "[status_view]") {
    CHECK(human_duration(0.2) == "less than a second");
    CHECK(human_duration(16.4) == "16 s");
    CHECK(human_duration(60) == "1 min");
    CHECK(human_duration(250) == "4 min 10 s");
    CHECK(human_duration(2 * 3600 + 5 * 60 + 3) == "2 h 5 min");
    CHECK(human_duration(3 * 86400 + 4 * 3600) == "3 d 4 h");
}

TEST_CASE("status view: bars", "[status_view]") {
    CHECK(percent_bar(0, 10) == "[..........]");
    CHECK(percent_bar(45, 10) == "[####......]");
    CHECK(percent_bar(100, 10) == "[##########]");
    CHECK(percent_bar(150, 4) == "[####]");
    CHECK(percent_bar(-3, 4) == "[....]");
}

TEST_CASE("status view: a folder's state line", "[status_view]") {
    CHECK(folder_state_line(folder("idle")) == "in sync");
    CHECK(folder_state_line(folder("paused")) == "paused (`ferry resume docs` resumes it)");
    json failed = folder("error");
    failed["error"] = "folder docs: scan failed: permission denied";
    CHECK(folder_state_line(failed) == "error: folder docs: scan failed: permission denied");

    json scanning = folder("scanning");
    scanning["scan_entries"] = 12345;
    CHECK(folder_state_line(scanning) == "scanning, 12,345 entries so far");
    scanning["scan_completion"] = 45.0;
    CHECK(folder_state_line(scanning) == "scanning, 45.0 %");
    CHECK(folder_state_line(scanning, 10) == "[####......] scanning, 45.0 %");

    json syncing = folder("syncing");
    syncing["need_files"] = 12;
    syncing["need_bytes"] = 34'500'000;
    CHECK(folder_state_line(syncing) == "syncing 12 files (34.5 MB)");
    syncing["receive_rate"] = 2'100'000.0;
    syncing["seconds_left"] = 16.4;
    CHECK(folder_state_line(syncing) == "syncing 12 files (34.5 MB) at 2.1 MB/s, about 16 s left");
}

TEST_CASE("status view: a device's progress", "[status_view]") {
    CHECK(device_progress_line({{"connected", false}, {"in_sync", false}, {"completion", 3.0}}) ==
          "offline");
    CHECK(device_progress_line({{"connected", true}, {"in_sync", true}, {"completion", 100.0}}) ==
          "in sync");
    CHECK(device_progress_line({{"connected", true}, {"in_sync", false}, {"completion", 52.25}}, 4) ==
          "[##..] syncing, 52.2 %");
}

TEST_CASE("status view: a device reached through a relay", "[status_view]") {
    CHECK(device_progress_line({{"connected", false}, {"relayed", true}, {"in_sync", false}}) ==
          "offline; changes go through the relay");
    CHECK(device_progress_line({{"connected", false}, {"relayed", true}, {"in_sync", true}}) ==
          "offline; in sync through the relay");
}

TEST_CASE("status view: a relay", "[status_view]") {
    CHECK(relay_status_line({{"connected", true},
                             {"rtt_ms", 11.6},
                             {"used_bytes", 3'000'000},
                             {"quota_bytes", 1'000'000'000}}) ==
          "connected (12 ms), uses 3.0 MB of 1.0 GB");
    CHECK(relay_status_line({{"connected", true}, {"used_bytes", 0}, {"quota_bytes", 0}}) ==
          "connected, uses 0 B of unlimited");
    CHECK(relay_status_line({{"connected", false}, {"error", "refused: used token"}}) ==
          "not connected: refused: used token");
    CHECK(relay_status_line({{"connected", false}, {"error", ""}}) == "not connected");
}
