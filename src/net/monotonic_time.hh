// The monotonic time of ferry's event loops: every timer, deadline and
// pacing measurement in src/net, src/sync and relay/ is on MonotonicClock,
// and every timer is a ferry::Timer.
//
// MonotonicClock is std::chrono::steady_clock, unless the calling thread
// has installed a VirtualTime (the deterministic simulation, tests/sim):
// then now() is that virtual time, which moves only when its owner advances
// it, and a Timer is due once the virtual time reaches its expiry. The owner
// runs its io_contexts with poll() only. Every Timer tells the VirtualTime
// the expiry it is set to, so the owner can jump straight to the next one
// when nothing is ready; after each jump the owner calls recheck_if_due()
// on each io_context, which makes those with a Timer due look at their
// timers on their next poll() (asio looks only when its earliest timer
// changes, or when the kernel timer it armed fires). Making an io_context
// look costs two timerfd_settime calls, so it is done only for those with
// a Timer due; the simulation's programs also run without asio's kernel
// timer (tests/sim/no_idle_kernel_calls.cc), which makes it one epoll_ctl.
//
// Thread rule: a VirtualTime belongs to the thread that created it; only an
// io_context run by that thread (with poll()) may use timers under it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>

#include <asio/basic_waitable_timer.hpp>
#include <asio/io_context.hpp>

namespace ferry {

struct MonotonicClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<MonotonicClock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
};

// asio's wait traits for Timer: the real wait, or under virtual time none
// for a due timer and "for ever" for a later one (the owner's recheck
// takes the place of the kernel timer's firing).
struct MonotonicWaitTraits {
    // (asio asks only with a duration: detail/chrono_time_traits.hpp.)
    static MonotonicClock::duration to_wait_duration(const MonotonicClock::duration& d);
};

class Timer;

class VirtualTime {
public:
    // Installs virtual time on this thread, starting at `start` (after the
    // clock's zero); there may be one per thread at a time.
    explicit VirtualTime(MonotonicClock::time_point start = MonotonicClock::time_point(std::chrono::hours(1)));
    ~VirtualTime();
    VirtualTime(const VirtualTime&) = delete;
    VirtualTime& operator=(const VirtualTime&) = delete;

    MonotonicClock::time_point now() const { return m_now; }
    // Moves time forward (never back).
    void advance_to(MonotonicClock::time_point when);
    // The earliest expiry after now() of a Timer neither cancelled nor
    // destroyed since it was set. Empty: none.
    std::optional<MonotonicClock::time_point> next_due() const;
    // Makes `io` look at its timers on its next poll() if one of its Timers
    // fell due in an advance_to() since its last recheck here.
    void recheck_if_due(asio::io_context& io);

private:
    friend class Timer;
    using Armed = std::multimap<MonotonicClock::time_point, const asio::execution_context*>;

    MonotonicClock::time_point m_now;
    std::uint64_t m_serial;  // tells this VirtualTime from an earlier one at its address
    Armed m_armed;           // the expiries Timers are set to, with their io_contexts
    std::set<const asio::execution_context*> m_due;  // io_contexts to recheck
};

// asio's timer on MonotonicClock; under virtual time it keeps the
// VirtualTime told of its expiry. Neither copied nor moved.
class Timer : public asio::basic_waitable_timer<MonotonicClock, MonotonicWaitTraits> {
    using Base = asio::basic_waitable_timer<MonotonicClock, MonotonicWaitTraits>;

public:
    explicit Timer(const executor_type& executor) : Base(executor) {}
    explicit Timer(asio::io_context& io) : Base(io) {}
    Timer(const executor_type& executor, const time_point& expiry) : Base(executor, expiry) {
        armed();
    }
    Timer(asio::io_context& io, const time_point& expiry) : Base(io, expiry) { armed(); }
    Timer(const executor_type& executor, const duration& wait) : Base(executor, wait) { armed(); }
    Timer(asio::io_context& io, const duration& wait) : Base(io, wait) { armed(); }
    ~Timer() { disarmed(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    std::size_t expires_at(const time_point& expiry) {
        const std::size_t cancelled = Base::expires_at(expiry);
        armed();
        return cancelled;
    }
    std::size_t expires_after(const duration& wait) {
        const std::size_t cancelled = Base::expires_after(wait);
        armed();
        return cancelled;
    }
    std::size_t cancel() {
        disarmed();
        return Base::cancel();
    }

private:
    void armed();
    void disarmed();

    std::uint64_t m_serial = 0;  // of the VirtualTime holding m_entry; 0: none
    VirtualTime::Armed::iterator m_entry;
};

}  // namespace ferry
