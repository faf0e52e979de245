#include "cli/log.hh"

#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>

#include <unistd.h>

namespace ferry::cli {

void log_line(std::string_view message) {
    const auto now = std::chrono::system_clock::now();
    const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
    const auto millis =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    std::array<char, 48> stamp{};
    std::snprintf(stamp.data(), stamp.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis));
    std::string line = stamp.data();
    line += "ferry: ";
    line += message;
    line += '\n';
    // One write per line; a short write to a pipe only happens past PIPE_BUF,
    // and a log line that long is still written whole by the loop.
    for (std::size_t done = 0; done < line.size();) {
        const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
        if (n <= 0) return;
        done += static_cast<std::size_t>(n);
    }
}

}  // namespace ferry::cli
