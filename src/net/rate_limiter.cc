// RateLimiter (net/rate_limiter.hh): a token bucket on the steady clock,
// waits on the callers' timers.
#include "net/rate_limiter.hh"

#include <algorithm>
#include <chrono>
#include <system_error>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {
namespace {

constexpr std::size_t kMinSlice = 4 * 1024;
constexpr std::size_t kMaxSlice = 256 * 1024;

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               MonotonicClock::now().time_since_epoch())
        .count();
}

// Keeps a timer in the list of waiting ones while it waits (also when the
// waiting coroutine is destroyed instead of resumed).
class Waiting {
public:
    Waiting(std::vector<Timer*>& waiting, Timer& timer)
        : m_waiting(waiting), m_timer(&timer) {
        m_waiting.push_back(m_timer);
    }
    ~Waiting() { std::erase(m_waiting, m_timer); }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

private:
    std::vector<Timer*>& m_waiting;
    Timer* m_timer;
};

}  // namespace

void RateLimiter::set_rate(std::uint64_t bytes_per_second) {
    m_bucket.set_rate(bytes_per_second, now_ns());
    ++m_rate_changes;
    for (Timer* timer : m_waiting) timer->cancel();
}

std::size_t RateLimiter::slice_bytes() const {
    return static_cast<std::size_t>(std::clamp<std::uint64_t>(rate() / 4, kMinSlice, kMaxSlice));
}

asio::awaitable<void> RateLimiter::acquire(std::size_t bytes, Timer& timer) {
    const auto keep = shared_from_this();
    const TokenBucket::Ticket ticket = m_bucket.reserve(bytes, now_ns());
    while (true) {
        const std::int64_t wait = m_bucket.wait_ns(ticket, now_ns());
        if (wait == 0) co_return;
        const std::uint64_t rate_changes = m_rate_changes;
        const Waiting waiting(m_waiting, timer);
        timer.expires_after(std::chrono::nanoseconds(wait));
        std::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec && rate_changes == m_rate_changes) co_return;  // the caller's cancel
    }
}

std::uint64_t kib_per_second(std::uint64_t kib) {
    return std::min(kib, TokenBucket::kMaxRate / 1024) * 1024;
}

}  // namespace ferry
