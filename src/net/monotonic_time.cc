#include "net/monotonic_time.hh"

#include <atomic>
#include <cassert>
#include <memory>
#include <utility>

namespace ferry {
namespace {

thread_local VirtualTime* t_virtual = nullptr;
std::atomic<std::uint64_t> g_serials{0};

// A wait longer than this is a timer that never expires (Signal and the
// "wait for a wake-up" timers are set to time_point::max()).
constexpr auto kNever = std::chrono::hours(24 * 365);

// Makes `io` look at its timers on its next poll(): a timer due before any
// other (virtual time starts later than the clock's zero) is the earliest,
// so scheduling it makes asio re-arm its kernel timer to fire at once.
void recheck(asio::io_context& io) {
    auto due = std::make_shared<asio::basic_waitable_timer<MonotonicClock, MonotonicWaitTraits>>(
        io, MonotonicClock::time_point{});
    due->async_wait([due](const asio::error_code&) {});
}

}  // namespace

MonotonicClock::time_point MonotonicClock::now() noexcept {
    if (t_virtual != nullptr) return t_virtual->now();
    return time_point(std::chrono::duration_cast<duration>(
        std::chrono::steady_clock::now().time_since_epoch()));
}

MonotonicClock::duration MonotonicWaitTraits::to_wait_duration(
    const MonotonicClock::duration& d) {
    if (t_virtual == nullptr) return d;
    return d <= MonotonicClock::duration::zero() ? MonotonicClock::duration::zero() : kNever;
}

VirtualTime::VirtualTime(MonotonicClock::time_point start) : m_now(start), m_serial(++g_serials) {
    assert(t_virtual == nullptr);
    t_virtual = this;
}

VirtualTime::~VirtualTime() { t_virtual = nullptr; }

void VirtualTime::advance_to(MonotonicClock::time_point when) {
    if (when <= m_now) return;
    for (auto it = m_armed.upper_bound(m_now); it != m_armed.end() && it->first <= when; ++it)
        m_due.insert(it->second);
    m_now = when;
}

std::optional<MonotonicClock::time_point> VirtualTime::next_due() const {
    const auto next = m_armed.upper_bound(m_now);
    if (next == m_armed.end()) return std::nullopt;
    return next->first;
}

void VirtualTime::recheck_if_due(asio::io_context& io) {
    if (m_due.erase(&io) != 0) recheck(io);
}

void Timer::armed() {
    disarmed();
    VirtualTime* time = t_virtual;
    if (time == nullptr) return;
    const auto at = expiry();
    // Due already (asio fires it at once), or never.
    if (at <= time->m_now || at - time->m_now > kNever) return;
    m_entry = time->m_armed.emplace(at, &asio::query(get_executor(), asio::execution::context));
    m_serial = time->m_serial;
}

void Timer::disarmed() {
    if (m_serial != 0 && t_virtual != nullptr && t_virtual->m_serial == m_serial)
        t_virtual->m_armed.erase(m_entry);
    m_serial = 0;
}

}  // namespace ferry
