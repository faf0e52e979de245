// A byte-rate limit shared by the connections of a daemon: one limiter for
// what they send and one for what they receive, so the limit holds for the
// device, not for each connection. A connection (net/connection.hh) asks
// before every slice of a frame it writes or reads; a reader that waits
// delays its next read, so TCP back-pressure slows the sender.
//
// Rate in bytes/s, 0 = unlimited: then connections never call acquire()
// (unlimited() is one comparison). Slices pass first come, first served
// (core/token_bucket.hh, with its burst). set_rate() applies at once: every
// waiting acquire() recomputes its wait at the new rate.
//
// Lifetime: create with std::make_shared (acquire() keeps it alive while
// it waits). Thread rule: every call on the thread of the io_context whose
// timers wait here; the daemon runs one io thread.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <asio/awaitable.hpp>

#include "core/token_bucket.hh"
#include "net/monotonic_time.hh"

namespace ferry {

class RateLimiter : public std::enable_shared_from_this<RateLimiter> {
public:
    explicit RateLimiter(std::uint64_t bytes_per_second = 0) : m_bucket(bytes_per_second) {}

    std::uint64_t rate() const { return m_bucket.rate(); }
    bool unlimited() const { return m_bucket.unlimited(); }
    void set_rate(std::uint64_t bytes_per_second);

    // The most bytes to pass in one acquire(): about a quarter second of
    // traffic, from 4 KiB to 256 KiB, so a wait stays far below the
    // connections' idle timeout and a chunk frame passes in one or two
    // slices at fast rates.
    std::size_t slice_bytes() const;

    // Waits on `timer` (the caller's, on its executor) until `bytes` may
    // pass, having counted them. Returns early when the caller cancels
    // `timer` (it is closing); the bytes stay counted.
    asio::awaitable<void> acquire(std::size_t bytes, Timer& timer);

private:
    TokenBucket m_bucket;
    std::vector<Timer*> m_waiting;  // timers of the acquire() calls waiting
    std::uint64_t m_rate_changes = 0;  // tells a wake-up by set_rate from the caller's cancel
};

// KiB/s (as the configuration says) to bytes/s; past TokenBucket::kMaxRate
// it stays there.
std::uint64_t kib_per_second(std::uint64_t kib);

}  // namespace ferry
