// Reading durations and times from the command line.
//
// parse_duration: a positive number with a unit, "90s", "30m", "1h", "7d"
// (a bare number means seconds); at most `max_ns`.
// parse_time: a UTC time as "2026-11-25T16:20:01Z", "2026-11-25T16:20:01",
// "2026-11-25 16:20:01", "2026-11-25" (midnight), or "20261125-162001" (as
// in version names). Pure; thread-safe. Failures say what form is expected.
#pragma once

#include <cstdint>
#include <string>

#include "cli/failure.hh"

namespace ferry::cli {

Outcome<std::int64_t> parse_duration_ns(const std::string& text, std::int64_t max_ns);
Outcome<std::int64_t> parse_time_ns(const std::string& text);

}  // namespace ferry::cli
