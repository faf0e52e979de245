// Byte sizes as people write and read them: "10G", "500 MiB", "1.5TB",
// "unlimited" (quotas, limits on the command line), and "2.1 GB" back.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/error.hh"

namespace ferry {

// A whole number or decimal, then an optional unit: B; k/K, M, G, T, P with
// an optional B (decimal: 1 kB = 1000 B) or with iB (binary: 1 KiB = 1024
// B); case-insensitive, spaces allowed before the unit. "0" and
// "unlimited" give 0. Errc::invalid_argument quoting the text for anything
// else, a negative value or one over 2^63.
Result<std::uint64_t> parse_byte_size(std::string_view text);

// Decimal units with one decimal from 1 kB on: "999 B", "1.2 kB", "2.1 GB".
std::string human_bytes(std::uint64_t bytes);

}  // namespace ferry
