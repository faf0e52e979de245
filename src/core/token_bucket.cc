// Token bucket (core/token_bucket.hh). Tokens are counted in nano-bytes, so
// earning rate × elapsed ns is exact integer arithmetic; every product is
// bounded first (burst and debt limits) so none overflows.
#include "core/token_bucket.hh"

#include <algorithm>

namespace ferry {
namespace {

constexpr std::int64_t kNano = 1'000'000'000;
constexpr std::int64_t kFull = static_cast<std::int64_t>(TokenBucket::kBurstBytes) * kNano;
constexpr std::int64_t kMaxDebt = static_cast<std::int64_t>(TokenBucket::kMaxDebtBytes) * kNano;

}  // namespace

TokenBucket::TokenBucket(std::uint64_t bytes_per_second)
    : m_rate(std::min(bytes_per_second, kMaxRate)), m_tokens(kFull) {}

std::int64_t TokenBucket::tokens_at(std::int64_t now_ns) const {
    if (m_rate == 0 || m_tokens >= kFull || now_ns <= m_updated_ns) return m_tokens;
    const std::int64_t elapsed = now_ns - m_updated_ns;
    const auto rate = static_cast<std::int64_t>(m_rate);
    const std::int64_t missing = kFull - m_tokens;
    if (elapsed > missing / rate) return kFull;  // then elapsed × rate > missing
    return m_tokens + elapsed * rate;
}

void TokenBucket::earn_until(std::int64_t now_ns) {
    m_tokens = tokens_at(now_ns);
    m_updated_ns = std::max(m_updated_ns, now_ns);
}

void TokenBucket::set_rate(std::uint64_t bytes_per_second, std::int64_t now_ns) {
    const std::uint64_t rate = std::min(bytes_per_second, kMaxRate);
    earn_until(now_ns);  // at the old rate
    if (rate == 0 || m_rate == 0) m_tokens = kFull;
    m_rate = rate;
}

std::int64_t TokenBucket::delay_ns(std::uint64_t bytes, std::int64_t now_ns) const {
    return wait_ns(m_reserved + std::min(bytes, kBurstBytes), now_ns);
}

TokenBucket::Ticket TokenBucket::reserve(std::uint64_t bytes, std::int64_t now_ns) {
    if (m_rate == 0) return m_reserved;
    earn_until(now_ns);
    // It may pass once the tokens it found reach min(bytes, burst).
    const Ticket ticket = m_reserved + std::min(bytes, kBurstBytes);
    m_reserved += bytes;
    const auto taken = static_cast<std::int64_t>(std::min(bytes, kMaxDebtBytes)) * kNano;
    m_tokens = std::max(m_tokens - taken, -kMaxDebt);
    return ticket;
}

std::int64_t TokenBucket::wait_ns(Ticket ticket, std::int64_t now_ns) const {
    if (m_rate == 0) return 0;
    // The ticket passes once the tokens reach `ahead` bytes: positive for a
    // request asked about before reserving, negative while later
    // reservations queue behind it (wrapping subtraction, then bounded).
    const std::int64_t ahead =
        std::clamp(static_cast<std::int64_t>(ticket - m_reserved),
                   -static_cast<std::int64_t>(kMaxDebtBytes), static_cast<std::int64_t>(kBurstBytes));
    const std::int64_t missing = ahead * kNano - tokens_at(now_ns);
    if (missing <= 0) return 0;
    const auto rate = static_cast<std::int64_t>(m_rate);
    return missing / rate + (missing % rate != 0 ? 1 : 0);
}

}  // namespace ferry
