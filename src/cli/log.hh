// The daemon's log: one line per event on stderr, at four levels (the line
// formats are in cli/log_format.hh). Messages below the threshold
// (set_log_level; info until set) are dropped. When stderr is the systemd
// journal (JOURNAL_STREAM names it), lines start with the journal's priority
// prefix instead of the time and level word.
//
// While a LogFileScope lives (the daemon, once it holds its home's lock), each
// line shown on stderr also goes to that log file (cli/log_file.hh), always in
// the plain style, for `ferry log`: the file holds exactly what stderr shows.
// A failure to write the file never stops the caller: it is reported on
// stderr once, and again only if the file worked in between.
//
// Thread rule: any thread. A mutex serialises lines, so lines never interleave
// and the file keeps stderr's order; each line is one write(2) to stderr.
#pragma once

#include <string>
#include <string_view>

#include "cli/log_format.hh"

namespace ferry::cli {

// The threshold: messages of `level` and more important ones are shown.
void set_log_level(LogLevel level);
LogLevel log_level();

// Logs `message` (one event, no trailing newline) at `level`.
void log_at(LogLevel level, std::string_view message);
inline void log_error(std::string_view message) {
    log_at(LogLevel::error, message);
}
inline void log_warn(std::string_view message) {
    log_at(LogLevel::warn, message);
}
inline void log_info(std::string_view message) {
    log_at(LogLevel::info, message);
}
inline void log_debug(std::string_view message) {
    log_at(LogLevel::debug, message);
}

// While alive, lines also go to the log file at `path` (created if missing).
// One scope at a time.
class LogFileScope {
public:
    explicit LogFileScope(const std::string& path);
    ~LogFileScope();
    LogFileScope(const LogFileScope&) = delete;
    LogFileScope& operator=(const LogFileScope&) = delete;
};

}  // namespace ferry::cli
