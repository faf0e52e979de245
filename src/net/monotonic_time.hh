// The monotonic time of ferry's event loops: every timer, deadline and
// pacing measurement in src/net, src/sync and relay/ is on MonotonicClock,
// and every timer is a ferry::Timer.
//
// MonotonicClock is std::chrono::steady_clock, unless the calling thread
// has installed a VirtualTime (the deterministic simulation, tests/sim):
// then now() is that virtual time, which moves only when its owner advances
// it, and a Timer is due once the virtual time reaches its expiry. With
// virtual time the io_context never sleeps for a timer: it checks timers on
// every poll(), and tells the VirtualTime the earliest expiry still ahead,
// so the owner can jump straight to it when nothing else is ready.
//
// Thread rule: a VirtualTime belongs to the thread that created it; only an
// io_context run by that thread (with poll()) may use timers under it.
#pragma once

#include <chrono>
#include <optional>

#include <asio/basic_waitable_timer.hpp>

namespace ferry {

struct MonotonicClock {
    using duration = std::chrono::nanoseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<MonotonicClock>;
    static constexpr bool is_steady = true;
    static time_point now() noexcept;
};

// asio's wait traits for Timer: the real wait, or none under virtual time
// (where the wait is recorded as the VirtualTime's next due time instead).
struct MonotonicWaitTraits {
    static MonotonicClock::duration to_wait_duration(const MonotonicClock::duration& d);
    static MonotonicClock::duration to_wait_duration(const MonotonicClock::time_point& t);
};

using Timer = asio::basic_waitable_timer<MonotonicClock, MonotonicWaitTraits>;

class VirtualTime {
public:
    // Installs virtual time on this thread, starting at `start`; there may
    // be one per thread at a time.
    explicit VirtualTime(MonotonicClock::time_point start = MonotonicClock::time_point{});
    ~VirtualTime();
    VirtualTime(const VirtualTime&) = delete;
    VirtualTime& operator=(const VirtualTime&) = delete;

    MonotonicClock::time_point now() const { return m_now; }
    // Moves time forward (never back).
    void advance_to(MonotonicClock::time_point when);
    // The earliest timer expiry after now() that the io_context reported
    // since the last call, then forgets it. Empty: no timer is pending.
    std::optional<MonotonicClock::time_point> take_next_due();

private:
    friend struct MonotonicWaitTraits;
    void note_wait(MonotonicClock::duration wait);

    MonotonicClock::time_point m_now;
    std::optional<MonotonicClock::time_point> m_next_due;
};

}  // namespace ferry
