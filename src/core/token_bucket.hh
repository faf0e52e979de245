// A token bucket: how fast bytes may pass, as pure logic. No clock and no
// I/O: every call is given the time, in ns on any monotonic scale (a time
// earlier than one seen before counts as no time passing).
//
// Contract: with rate R bytes/s, the bytes of the reservations that may pass
// within any span of t seconds are at most kBurstBytes + R × t (plus, when one
// request is larger than the burst, its excess: it waits for a full bucket
// and leaves a debt that later requests wait out). Rate 0 means unlimited:
// nothing waits and nothing is counted. The rate may change at any time: the
// tokens earned so far are kept and the new rate earns from then on; going
// from unlimited to a limit starts with a full bucket, going to unlimited
// forgives every debt.
//
// Reservations pass in the order they were made: reserve() takes the bytes
// at once and returns a ticket; wait_ns(ticket) says how long until it may
// pass at the current rate, so a rate change shortens or lengthens the
// waits of tickets already handed out.
//
// Limits: rates above kMaxRate count as kMaxRate; a debt beyond
// kMaxDebtBytes is forgotten (the daemon has at most one frame slice per
// connection and direction outstanding, far less).
//
// Thread rule: none inside; one owner at a time (net/rate_limiter.hh).
#pragma once

#include <cstdint>

namespace ferry {

class TokenBucket {
public:
    // The largest bytes that pass at once after a pause: a frame carrying
    // the largest chunk (kChunkerParams.max_size, 256 KiB, plus a few bytes
    // of header) twice over, so chunk frames pass whole and back to back.
    static constexpr std::uint64_t kBurstBytes = 512 * 1024;
    static constexpr std::uint64_t kMaxRate = std::uint64_t{1} << 40;  // 1 TiB/s
    static constexpr std::uint64_t kMaxDebtBytes = std::uint64_t{1} << 32;

    // A reservation's place in line (compare only through wait_ns).
    using Ticket = std::uint64_t;

    // Starts full.
    explicit TokenBucket(std::uint64_t bytes_per_second = 0);

    std::uint64_t rate() const { return m_rate; }
    bool unlimited() const { return m_rate == 0; }
    void set_rate(std::uint64_t bytes_per_second, std::int64_t now_ns);

    // How long until `bytes` could pass if reserved at `now_ns` (0: at once).
    // Takes nothing.
    std::int64_t delay_ns(std::uint64_t bytes, std::int64_t now_ns) const;

    // Takes `bytes` now, behind every earlier reservation; they may pass once
    // wait_ns(ticket, ...) is 0.
    Ticket reserve(std::uint64_t bytes, std::int64_t now_ns);

    // How long from `now_ns` until the reservation may pass, at the current
    // rate (0: now).
    std::int64_t wait_ns(Ticket ticket, std::int64_t now_ns) const;

private:
    // Tokens in nano-bytes (1e-9 byte), so any rate earns exactly.
    std::int64_t tokens_at(std::int64_t now_ns) const;
    void earn_until(std::int64_t now_ns);

    std::uint64_t m_rate = 0;
    // Tokens after every reservation so far, as of m_updated_ns; negative
    // while reservations wait (a debt).
    std::int64_t m_tokens;
    std::int64_t m_updated_ns = 0;
    std::uint64_t m_reserved = 0;  // bytes of every reservation so far (wraps)
};

}  // namespace ferry
