#include "net/monotonic_time.hh"

#include <cassert>
#include <memory>
#include <utility>

namespace ferry {
namespace {

thread_local VirtualTime* t_virtual = nullptr;

// A wait longer than this is a timer that never expires (Signal and the
// "wait for a wake-up" timers are set to time_point::max()).
constexpr auto kNever = std::chrono::hours(24 * 365);

}  // namespace

MonotonicClock::time_point MonotonicClock::now() noexcept {
    if (t_virtual != nullptr) return t_virtual->now();
    return time_point(std::chrono::duration_cast<duration>(
        std::chrono::steady_clock::now().time_since_epoch()));
}

// Under virtual time a due timer is waited for not at all, a later one "for
// ever": the kernel timer asio arms fires at once or never, and the owner's
// recheck() takes the place of its firing.
MonotonicClock::duration MonotonicWaitTraits::to_wait_duration(
    const MonotonicClock::duration& d) {
    if (t_virtual == nullptr) return d;
    t_virtual->note_wait(d);
    return d <= MonotonicClock::duration::zero() ? MonotonicClock::duration::zero() : kNever;
}

VirtualTime::VirtualTime(MonotonicClock::time_point start) : m_now(start) {
    assert(t_virtual == nullptr);
    t_virtual = this;
}

VirtualTime::~VirtualTime() { t_virtual = nullptr; }

void VirtualTime::advance_to(MonotonicClock::time_point when) {
    if (when > m_now) m_now = when;
}

std::optional<MonotonicClock::time_point> VirtualTime::take_next_due() {
    return std::exchange(m_next_due, std::nullopt);
}

void VirtualTime::recheck(asio::io_context& io) {
    // A timer due before any other (virtual time starts later than the
    // clock's zero) is the earliest: scheduling it makes asio re-arm its
    // kernel timer to fire at once, and the next poll() checks every timer.
    auto due = std::make_shared<Timer>(io, MonotonicClock::time_point{});
    due->async_wait([due](const asio::error_code&) {});
}

void VirtualTime::note_wait(MonotonicClock::duration wait) {
    if (wait <= MonotonicClock::duration::zero() || wait > kNever) return;
    const auto due = m_now + wait;
    if (!m_next_due || due < *m_next_due) m_next_due = due;
}

}  // namespace ferry
