#include "cli/log.hh"

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/log_file.hh"
#include "net/clock.hh"

namespace ferry::cli {
namespace {

LogStyle stderr_style() {
    const char* journal_stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (journal_stream == nullptr || ::fstat(STDERR_FILENO, &st) != 0) return LogStyle::plain;
    return is_journal_stream(journal_stream, st.st_dev, st.st_ino) ? LogStyle::journal
                                                                   : LogStyle::plain;
}

struct Logger {
    std::atomic<LogLevel> level{LogLevel::info};
    const LogStyle style = stderr_style();
    std::mutex mutex;               // guards the rest
    std::unique_ptr<LogFile> file;  // while a LogFileScope lives
    bool file_failing = false;      // its failure is reported already
};

Logger& logger() {
    static Logger instance;
    return instance;
}

}  // namespace

void set_log_level(LogLevel level) {
    logger().level.store(level);
}

LogLevel log_level() {
    return logger().level.load();
}

void log_at(LogLevel level, std::string_view message) {
    Logger& log = logger();
    if (!log_level_shows(log.level.load(), level)) return;
    const std::int64_t now = SystemClock().now_ns();
    const std::string line = format_log_line(log.style, level, message, now);

    const std::lock_guard lock(log.mutex);
    // Nothing useful is left to do when stderr itself fails.
    write_whole(STDERR_FILENO, line);
    if (!log.file) return;
    auto appended = log.file->append(log.style == LogStyle::plain
                                         ? line
                                         : format_log_line(LogStyle::plain, level, message, now));
    if (appended) {
        log.file_failing = false;
    } else if (!log.file_failing) {
        log.file_failing = true;
        write_whole(
            STDERR_FILENO,
            format_log_line(log.style, LogLevel::error,
                            appended.error().message +
                                "; `ferry log` misses lines until this is fixed (they still "
                                "go to stderr)",
                            now));
    }
}

LogFileScope::LogFileScope(const std::string& path) {
    Logger& log = logger();
    const std::lock_guard lock(log.mutex);
    log.file = std::make_unique<LogFile>(path, kLogFileCap);
    log.file_failing = false;
}

LogFileScope::~LogFileScope() {
    Logger& log = logger();
    const std::lock_guard lock(log.mutex);
    log.file.reset();
}

}  // namespace ferry::cli
