// One daemon per FERRY_HOME: `ferry run` holds an exclusive flock(2) on
// $FERRY_HOME/daemon.lock for its whole life (the kernel drops it when the
// process dies, even by kill -9, so there is never a stale lock to clean).
// The file holds the holder's pid, for the message a second daemon prints.
//
// Thread rule: main thread. Failures name the home and the running pid.
#pragma once

#include "cli/failure.hh"
#include "cli/home.hh"

namespace ferry::cli {

class DaemonLock {
public:
    static Outcome<DaemonLock> acquire(const HomePaths& paths);
    DaemonLock(DaemonLock&& other) noexcept : m_fd(other.m_fd) { other.m_fd = -1; }
    DaemonLock& operator=(DaemonLock&&) = delete;
    DaemonLock(const DaemonLock&) = delete;
    ~DaemonLock();

private:
    explicit DaemonLock(int fd) : m_fd(fd) {}
    int m_fd;
};

}  // namespace ferry::cli
