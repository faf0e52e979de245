// The monotonic time of ferry's event loops: every timer, deadline and
// pacing measurement in src/net, src/sync and relay/ is on MonotonicClock,
// and every timer is a ferry::Timer.
//
// MonotonicClock is std::chrono::steady_clock, unless the calling thread
// has installed a VirtualTime (the deterministic simulation, tests/sim):
// then now() is that virtual time, which moves only when its owner advances
// it, and a Timer is due once the virtual time reaches its expiry. The owner
// runs its io_contexts with poll() only. Each io_context tells the
// VirtualTime the earliest expiry it has ahead whenever it looks at its
// timers, so the owner can jump straight there when nothing is ready; after
// each jump the owner calls recheck() on each io_context, which then looks
// at its timers on its next poll() (asio does so only when its earliest
// timer changes, or when the kernel timer it armed fires).
//
// Thread rule: a VirtualTime belongs to the thread that created it; only an
// io_context run by that thread (with poll()) may use timers under it.
#pragma once

#include <chrono>
#include <optional>

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

// asio's wait traits for Timer: the real wait, or none under virtual time
// (where the wait is recorded as the VirtualTime's next due time instead).
struct MonotonicWaitTraits {
    // (asio asks only with a duration: detail/chrono_time_traits.hpp.)
    static MonotonicClock::duration to_wait_duration(const MonotonicClock::duration& d);
};

using Timer = asio::basic_waitable_timer<MonotonicClock, MonotonicWaitTraits>;

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
    // The earliest timer expiry after now() that an io_context reported
    // since the last call, then forgets it. Empty: no timer is pending.
    std::optional<MonotonicClock::time_point> take_next_due();
    // Makes `io` look at its timers on its next poll() (see above).
    static void recheck(asio::io_context& io);

private:
    friend struct MonotonicWaitTraits;
    void note_wait(MonotonicClock::duration wait);

    MonotonicClock::time_point m_now;
    std::optional<MonotonicClock::time_point> m_next_due;
};

}  // namespace ferry
