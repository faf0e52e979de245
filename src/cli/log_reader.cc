#include "cli/log_reader.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/log_file.hh"

namespace ferry::cli {
namespace {

Error os_error(const std::string& what) {
    return Error{Errc::io, what + ": " + std::strerror(errno)};
}

// The error of an operation on the log file at `path`, saying so.
tl::unexpected<Error> on_file(const Error& error, const std::string& path) {
    return fail(error.code, "log file " + path + ": " + error.message);
}

// Reads up to `limit` bytes at `offset`, fewer only at the end of the file.
Result<std::string> read_at(int fd, std::uint64_t offset, std::size_t limit) {
    std::string bytes(limit, '\0');
    std::size_t got = 0;
    while (got < limit) {
        const ssize_t n =
            ::pread(fd, bytes.data() + got, limit - got, static_cast<off_t>(offset + got));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return tl::unexpected(os_error("cannot read"));
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    return bytes;
}

Result<struct stat> stat_of(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return tl::unexpected(os_error("cannot stat"));
    return st;
}

// Opens `path` for reading; an invalid UniqueFd when it does not exist.
Result<UniqueFd> open_if_present(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid() && errno != ENOENT) return on_file(os_error("cannot open"), path);
    return fd;
}

// The last `count` lines of the whole file open at `fd`, and its size.
Result<std::pair<LastLines, std::uint64_t>> last_lines_of(int fd, std::size_t count,
                                                          const std::string& path) {
    auto st = stat_of(fd);
    if (!st) return on_file(st.error(), path);
    const auto size = static_cast<std::uint64_t>(st->st_size);
    auto tail = last_lines(fd, size, count);
    if (!tail) return on_file(tail.error(), path);
    return std::pair{std::move(*tail), size};
}

}  // namespace

Result<LastLines> last_lines(int fd, std::uint64_t end, std::size_t count, std::size_t window) {
    if (count == 0 || end == 0) return LastLines{};
    // Scans backwards for the newline before the first wanted line; the
    // newline that ends the file ends the last line and separates nothing.
    std::uint64_t start = 0;
    std::size_t newlines = 0;
    bool found = false;
    for (std::uint64_t window_end = end; window_end > 0 && !found;) {
        const std::uint64_t window_start = window_end - std::min<std::uint64_t>(window, window_end);
        const auto length = static_cast<std::size_t>(window_end - window_start);
        auto bytes = read_at(fd, window_start, length);
        if (!bytes) return tl::unexpected(bytes.error());
        if (bytes->size() != length) return fail(Errc::changed, "shrank while being read");
        for (std::size_t i = length; i-- > 0;) {
            const std::uint64_t at = window_start + i;
            if ((*bytes)[i] != '\n' || at == end - 1) continue;
            if (++newlines == count) {
                start = at + 1;
                found = true;
                break;
            }
        }
        window_end = window_start;
    }
    auto text = read_at(fd, start, static_cast<std::size_t>(end - start));
    if (!text) return tl::unexpected(text.error());
    return LastLines{std::move(*text), found ? count : newlines + 1};
}

LogReader::LogReader(std::string path) : m_path(std::move(path)) {}

Result<bool> LogReader::open_current() {
    auto fd = open_if_present(m_path);
    if (!fd) return tl::unexpected(fd.error());
    m_fd = std::move(*fd);
    m_offset = 0;
    return m_fd.valid();
}

Result<std::optional<std::string>> LogReader::last(std::size_t count) {
    auto present = open_current();
    if (!present) return tl::unexpected(present.error());
    LastLines current;
    if (*present) {
        auto tail = last_lines_of(m_fd.get(), count, m_path);
        if (!tail) return tl::unexpected(tail.error());
        current = std::move(tail->first);
        m_offset = tail->second;
    }
    if (*present && current.lines >= count) return std::move(current.text);

    const std::string previous_path = previous_log_path(m_path);
    auto previous = open_if_present(previous_path);
    if (!previous) return tl::unexpected(previous.error());
    if (!previous->valid()) {
        if (!*present) return std::nullopt;
        return std::move(current.text);
    }
    auto older = last_lines_of(previous->get(), count - current.lines, previous_path);
    if (!older) return tl::unexpected(older.error());
    std::string text = std::move(older->first.text);
    if (!text.empty() && text.back() != '\n') text += '\n';  // a line cut short stays apart
    return text + current.text;
}

Result<bool> LogReader::rotated() const {
    struct stat at_path {};
    if (::stat(m_path.c_str(), &at_path) != 0) {
        if (errno == ENOENT) return true;  // renamed; the new file is not there yet
        return on_file(os_error("cannot stat"), m_path);
    }
    auto followed = stat_of(m_fd.get());
    if (!followed) return on_file(followed.error(), m_path);
    return at_path.st_dev != followed->st_dev || at_path.st_ino != followed->st_ino;
}

Result<std::string> LogReader::read_new(std::size_t limit) {
    if (!m_fd.valid()) {
        auto present = open_current();
        if (!present) return tl::unexpected(present.error());
        if (!*present) return std::string();
    }
    // Checked before the size: the daemon writes nothing to a file after
    // renaming it, so the size read next is then final.
    auto was_rotated = rotated();
    if (!was_rotated) return tl::unexpected(was_rotated.error());
    auto followed = stat_of(m_fd.get());
    if (!followed) return on_file(followed.error(), m_path);
    const auto size = static_cast<std::uint64_t>(followed->st_size);
    if (size < m_offset) m_offset = 0;  // truncated: start again
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(limit, size - m_offset));
    auto bytes = read_at(m_fd.get(), m_offset, want);
    if (!bytes) return on_file(bytes.error(), m_path);
    m_offset += bytes->size();
    if (*was_rotated && m_offset >= size) m_fd.reset();  // the next call opens the new file
    return bytes;
}

}  // namespace ferry::cli
