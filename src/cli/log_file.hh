// LogFile: the daemon's log in FERRY_HOME (ferry.log), size-capped.
//
// Lines are appended, each with one write(2). When the next line would take
// the file past `cap` bytes, the file is renamed to its predecessor
// (PATH.1, replacing the one before) and a new file starts, so the pair never
// holds much more than 2 x cap bytes: a daemon that logs for months never
// fills the disk. If the rename fails, lines are dropped (with an error)
// rather than growing the file past the cap. Lines are not fsync'd: a crash
// may lose the last ones. The file is created mode 0600 (it names peers and
// paths).
//
// Thread rule: one thread at a time (cli/log.hh serialises). Errors name the
// path; after a failed write the file is reopened on the next line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cli/unique_fd.hh"
#include "core/error.hh"

namespace ferry::cli {

inline constexpr std::uint64_t kLogFileCap = 1024 * 1024;

// The rotated predecessor of the log file at `path`.
inline std::string previous_log_path(const std::string& path) {
    return path + ".1";
}

class LogFile {
public:
    LogFile(std::string path, std::uint64_t cap);

    // Appends `line` (which ends in '\n'), rotating first when it would not fit.
    Result<void> append(std::string_view line);

    const std::string& path() const { return m_path; }

private:
    Result<void> open();
    Result<void> rotate();

    std::string m_path;
    std::uint64_t m_cap;
    UniqueFd m_fd;
    std::uint64_t m_size = 0;  // of the open file
};

// Writes all of `bytes` to `fd`: one write(2) unless the kernel takes less
// (then the rest follows), retrying on EINTR. False, with errno set, on failure.
bool write_whole(int fd, std::string_view bytes);

}  // namespace ferry::cli
