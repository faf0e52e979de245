#include "cli/daemon_lock.hh"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace ferry::cli {

Outcome<DaemonLock> DaemonLock::acquire(const HomePaths& paths) {
    const std::string path = paths.daemon_lock();
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return failed("cannot open " + path, std::strerror(errno));
    DaemonLock lock(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) return failed("cannot lock " + path, std::strerror(errno));
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        std::string pid = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
        while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
        return failed("cannot start the daemon",
                      "another ferry daemon runs for " + paths.home +
                          (pid.empty() ? std::string() : " (pid " + pid + ")"),
                      "use that one (`ferry status`), or stop it first");
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
        return failed("cannot write " + path, std::strerror(errno));
    }
    return lock;
}

DaemonLock::~DaemonLock() {
    if (m_fd >= 0) ::close(m_fd);  // releases the flock
}

}  // namespace ferry::cli
