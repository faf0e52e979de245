// ferry.toml: this device's configuration, as a typed value (man ferry.toml(5)).
//
// The file is TOML. Every key is optional; a missing key has the default
// below. Top-level keys:
//   listen            array of "HOST:PORT" (IPv6 in brackets; port 0: any);
//                     empty: no listener (the device only dials out and
//                     uses relays)
//   watcher           "inotify" or "poll"
//   rescan_interval   seconds between rescans of a polled folder, 1..86400
//   version_retention days a replaced or deleted file is kept, 0..36500
//                     (0: kept forever)
//   max_send_rate     KiB/s, 0 = unlimited, at most kMaxRateKib
//   max_recv_rate     KiB/s, as above
//   log_level         "error", "warn", "info" or "debug"
//   relay_forward_seconds  seconds between attempts to reach a device that is
//                     not connected through a relay's forwarding, 1..3600
//   relay_retry_seconds  seconds before an upload a full relay refused is
//                     tried again, 1..86400
// and one table per folder, [folders.ID] with `path` (absolute; required)
// and `mode` ("send-receive" (default), "send-only" or "receive-only").
// Folder ids follow check_folder_id(); folders may not share a path, nest
// or overlap.
//
// parse_config() refuses a file larger than kMaxConfigBytes, bad TOML,
// unknown keys, wrong types and out-of-range values; the Failure's `why`
// starts with "NAME:LINE:" (and the column when the TOML itself is bad), e.g.
//   ferry.toml:7: rescan_interval must be a whole number of seconds from 1 to 86400, not "abc"
// It also reports, for the line editor (cli/config_edit.hh), where each key
// and each folder table was found.
//
// Keys as `ferry config get/set` name them: the top-level names above, and
// "folders.ID.path" / "folders.ID.mode".
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/addresses.hh"
#include "cli/failure.hh"
#include "core/folder_mode.hh"
#include "core/token_bucket.hh"

namespace ferry::cli {

inline constexpr std::size_t kMaxConfigBytes = 1024 * 1024;
inline constexpr std::size_t kMaxConfigFolders = 10'000;
inline constexpr std::size_t kMaxListenAddresses = 64;
// The largest rate limit (1 TiB/s, what the token bucket counts up to).
inline constexpr std::uint64_t kMaxRateKib = TokenBucket::kMaxRate / 1024;

struct FolderConfig {
    std::string path;
    FolderMode mode = FolderMode::send_receive;
    friend bool operator==(const FolderConfig&, const FolderConfig&) = default;
};

struct Config {
    std::vector<std::string> listen{kDefaultListenAddress};
    std::string watcher = "inotify";
    std::uint32_t rescan_interval_s = 60;
    std::uint32_t version_retention_days = 30;
    std::uint64_t max_send_rate_kib = 0;
    std::uint64_t max_recv_rate_kib = 0;
    std::string log_level = "info";
    std::uint32_t relay_forward_s = 30;
    std::uint32_t relay_retry_s = 30;
    std::map<std::string, FolderConfig> folders;  // by id
    friend bool operator==(const Config&, const Config&) = default;
};

// Where a value is in the file: lines 1-based and inclusive; `begin_byte`
// is the byte offset of the value on line `first`, `end_byte` the one just
// past it on line `last` (where a trailing comment would start).
struct ValueSpan {
    std::size_t first = 0;
    std::size_t last = 0;
    std::size_t begin_byte = 0;
    std::size_t end_byte = 0;
};
struct ConfigLayout {
    std::map<std::string, ValueSpan> keys;         // "rescan_interval", "folders.ID.path"
    std::map<std::string, std::size_t> folder_tables;  // folder id -> the line where it starts
    std::vector<std::size_t> table_lines;  // sorted: where `folders` and each folder table start
};

struct ParsedConfig {
    Config config;
    ConfigLayout layout;
};

// A configuration file's text and what it says.
struct ConfigFile {
    std::string text;
    ParsedConfig parsed;
};

// Parses and checks the text of a configuration file; `name` (e.g.
// "ferry.toml") starts each error.
Outcome<ParsedConfig> parse_config(std::string_view text, std::string_view name);

// Checks a folder id: 1 to 64 letters, digits, '-', '_' or '.', starting
// with a letter or digit. Returns the reason when it is not one.
std::optional<std::string> folder_id_problem(std::string_view id);

// The keys `ferry config` knows, in the order `ferry config list` prints
// them (folders last, one pair per folder of `config`).
std::vector<std::string> config_keys(const Config& config);

// The effective value of `key` as a person reads it (a string unquoted; the
// addresses of `listen` one per line). Failure: no such key.
Outcome<std::string> config_value(const Config& config, const std::string& key);

// The effective value of a key config_keys() lists, as TOML writes it
// ("60", "\"poll\"", "[\"0.0.0.0:22400\"]").
std::string config_toml_value(const Config& config, const std::string& key);

// The value of `key` as a TOML value ("60", "\"poll\"", "[\"a:1\", \"b:2\"]"),
// converted from what a person typed on the command line (`listen`: one or
// more addresses separated by commas) and checked as the parser checks it.
Outcome<std::string> toml_value_from_text(const std::string& key, const std::string& text);

// The TOML basic string for `text` ("..." with \" \\ and control characters escaped).
std::string toml_quote(std::string_view text);

}  // namespace ferry::cli
