// Linked into the simulation's programs (ferry-sim, test_sim) only: their
// io_contexts make no kernel call that cannot change what they do.
//
// Timers. asio's reactor arms a timerfd for its earliest timer and re-arms
// it each time that changes; under virtual time every
// VirtualTime::recheck_if_due() made two timerfd_settime calls, a sixth of
// the simulation's time on this hypervisor. When timerfd_create() fails,
// asio does what it does on systems without one: it looks at its timers on
// every run of its reactor (which each poll() ends with) and bounds a
// blocking wait by the earliest timer, so real timers still fire on time.
//
// Polls. Each poll() of an io_context with work left runs its reactor once,
// an epoll_wait() with no timeout, about a seventh of the simulation's time.
// The simulation's byte streams are in memory, so the only descriptor its
// reactors watch is asio's own wake-up eventfd; without a timerfd, the
// reactor checks its timers whether or not that eventfd is ready, so it
// makes no difference what such a call returns. While every descriptor
// registered with epoll is an eventfd, a call that would not wait returns
// "no events" without entering the kernel; once anything else is
// registered (a real socket, say), every call goes to the kernel.
//
// Seeds take the same course either way (their traces were compared).
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <string_view>

namespace {

std::atomic<bool> g_watches_real_descriptor{false};

bool is_eventfd(int fd) {
    const std::string link = "/proc/self/fd/" + std::to_string(fd);
    char target[64];
    const ssize_t n = readlink(link.c_str(), target, sizeof target);
    return n > 0 && std::string_view(target, static_cast<std::size_t>(n)) == "anon_inode:[eventfd]";
}

}  // namespace

extern "C" int timerfd_create(clockid_t, int) noexcept {
    errno = ENOSYS;
    return -1;
}

extern "C" int epoll_ctl(int epfd, int op, int fd, epoll_event* event) noexcept {
    if (op == EPOLL_CTL_ADD && !is_eventfd(fd)) g_watches_real_descriptor = true;
    return static_cast<int>(syscall(SYS_epoll_ctl, epfd, op, fd, event));
}

extern "C" int epoll_wait(int epfd, epoll_event* events, int maxevents, int timeout) {
    if (timeout == 0 && !g_watches_real_descriptor.load(std::memory_order_relaxed)) return 0;
    return epoll_pwait(epfd, events, maxevents, timeout, nullptr);
}
