// Log levels and how one log line looks. Pure functions; thread-safe.
//
// A line on a terminal, a pipe or a file ("plain"):
//   2026-11-25T16:20:01.123Z INFO connected to laptop (MFZWI3D) at 127.0.0.1:4100
// A line on the systemd journal ("journal"): the sd-daemon priority prefix
// (<3> error, <4> warning, <6> info, <7> debug) and no time, which journald
// adds itself:
//   <6>connected to laptop (MFZWI3D) at 127.0.0.1:4100
// Messages may carry text from peers (device names, their errors): control
// characters are escaped (a newline becomes "\n"), so one event is one line,
// and a message is cut at kMaxLogMessage bytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "core/error.hh"

namespace ferry::cli {

// In order of importance; a threshold shows its own level and the ones before.
enum class LogLevel { error, warn, info, debug };

inline constexpr std::size_t kMaxLogMessage = 4096;

// "error", "warn", "info" or "debug" (as in the config file and --log-level).
std::string_view log_level_name(LogLevel level);

// Parses one of the names above (exactly, lower case); an invalid_argument
// error naming the accepted words otherwise.
Result<LogLevel> parse_log_level(std::string_view text);

// True when a message of `level` passes the threshold `shown`.
constexpr bool log_level_shows(LogLevel shown, LogLevel level) {
    return level <= shown;
}

enum class LogStyle { plain, journal };

// One line, ending in '\n'. `time_ns`: nanoseconds since the epoch (UTC),
// used only by the plain style.
std::string format_log_line(LogStyle style, LogLevel level, std::string_view message,
                            std::int64_t time_ns);

// True when JOURNAL_STREAM's value ("DEVICE:INODE", decimal, as systemd sets
// it for a service whose stderr goes to the journal) names the file whose
// fstat gave `device` and `inode`.
bool is_journal_stream(std::string_view journal_stream, dev_t device, ino_t inode);

}  // namespace ferry::cli
