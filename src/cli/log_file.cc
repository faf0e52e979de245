#include "cli/log_file.hh"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry::cli {
namespace {

tl::unexpected<Error> os_failure(const std::string& what, const std::string& path) {
    const int err = errno;
    return fail(err == ENOSPC ? Errc::no_space : Errc::io,
                what + " " + path + ": " + std::strerror(err));
}

}  // namespace

bool write_whole(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

LogFile::LogFile(std::string path, std::uint64_t cap) : m_path(std::move(path)), m_cap(cap) {}

Result<void> LogFile::open() {
    m_fd.reset(::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
    if (!m_fd.valid()) return os_failure("cannot open the log file", m_path);
    struct stat st {};
    if (::fstat(m_fd.get(), &st) != 0) {
        auto failure = os_failure("cannot read the size of the log file", m_path);
        m_fd.reset();
        return failure;
    }
    m_size = static_cast<std::uint64_t>(st.st_size);
    return {};
}

Result<void> LogFile::rotate() {
    m_fd.reset();
    const std::string previous = previous_log_path(m_path);
    if (::rename(m_path.c_str(), previous.c_str()) != 0) {
        return os_failure("cannot rename the log file", m_path + " to " + previous);
    }
    return open();
}

Result<void> LogFile::append(std::string_view line) {
    if (!m_fd.valid()) {
        if (auto opened = open(); !opened) return opened;
    }
    if (m_size > 0 && m_size + line.size() > m_cap) {
        if (auto rotated = rotate(); !rotated) return rotated;
    }
    if (!write_whole(m_fd.get(), line)) {
        auto failure = os_failure("cannot write the log file", m_path);
        m_fd.reset();  // reopened (and its size read again) on the next line
        return failure;
    }
    m_size += line.size();
    return {};
}

}  // namespace ferry::cli
