// Formatting numbers, sizes and times for people (and ISO 8601 for tools).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/byte_size.hh"
#include "core/types.hh"

namespace ferry::cli {

// 10234 -> "10,234".
std::string with_commas(std::uint64_t n);

using ferry::human_bytes;  // core/byte_size.hh

// UTC ISO 8601 with nanoseconds: "2026-11-25T13:35:59.123456789Z".
std::string iso_time_ns(std::int64_t ns_since_epoch);
// The same to the millisecond (log lines): "2026-11-25T13:35:59.123Z".
std::string iso_time_ms(std::int64_t ns_since_epoch);

// Permission bits as four octal digits: "0644".
std::string octal_mode(std::uint32_t mode);

// A short id as 16 lower-case hex digits (as in version vectors).
std::string short_id_hex(ShortId id);

// "1 file" / "2 files".
std::string count_of(std::uint64_t n, const char* singular, const char* plural);

}  // namespace ferry::cli
