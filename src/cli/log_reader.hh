// Reading the daemon's log file (cli/log_file.hh) for `ferry log`: its last
// lines, then what is appended later, across rotation. Only reads; works
// whether or not the daemon runs.
//
// Thread rule: one thread at a time. Errors name the path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cli/unique_fd.hh"
#include "core/error.hh"

namespace ferry::cli {

struct LastLines {
    std::string text;       // the lines as in the file, each with its '\n' but a
                            // last one that has none yet
    std::size_t lines = 0;  // how many (at most the count asked for)
};

// The last `count` lines of the first `end` bytes of the file open at `fd`,
// read backwards `window` bytes at a time (the whole file is never read
// unless it has fewer lines than asked for).
Result<LastLines> last_lines(int fd, std::uint64_t end, std::size_t count,
                             std::size_t window = 64 * 1024);

class LogReader {
public:
    explicit LogReader(std::string path);

    // The last `count` lines of the log, taking the older ones from the
    // rotated predecessor when the file has fewer; std::nullopt when neither
    // file exists. read_new() continues after them.
    Result<std::optional<std::string>> last(std::size_t count);

    // What was appended since the last call: the rest of the file, and when
    // it was rotated meanwhile, then the new file from its start. Empty when
    // nothing is new (or the log does not exist yet). At most `limit` bytes a
    // call; call again for more.
    Result<std::string> read_new(std::size_t limit = 1024 * 1024);

private:
    Result<bool> open_current();  // false: no file at the path
    Result<bool> rotated() const;

    std::string m_path;
    UniqueFd m_fd;               // the file being followed
    std::uint64_t m_offset = 0;  // read up to here
};

}  // namespace ferry::cli
