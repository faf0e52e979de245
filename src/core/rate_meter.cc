#include "core/rate_meter.hh"

#include <algorithm>

namespace ferry {

namespace {
constexpr std::int64_t kSecondNs = 1'000'000'000;
}

RateMeter::RateMeter(int window_seconds) : m_window(std::max(1, window_seconds)) {}

void RateMeter::add(std::uint64_t bytes, std::int64_t now_ns) {
    const std::int64_t index = now_ns / kSecondNs;
    if (!m_first_ns) m_first_ns = now_ns;
    if (m_seconds.empty() || m_seconds.back().index != index) m_seconds.push_back({index, 0});
    m_seconds.back().bytes += bytes;
    while (m_seconds.front().index <= index - m_window) m_seconds.pop_front();
}

double RateMeter::rate(std::int64_t now_ns) const {
    const std::int64_t index = now_ns / kSecondNs;
    std::uint64_t bytes = 0;
    for (const Second& s : m_seconds)
        if (s.index > index - m_window) bytes += s.bytes;
    if (bytes == 0) return 0.0;
    // The window, or the meter's age when younger (at least 1 s, so a first
    // burst is not taken for an enormous rate).
    const double age_s = static_cast<double>(now_ns - *m_first_ns) / kSecondNs;
    const double span = std::clamp(age_s, 1.0, static_cast<double>(m_window));
    return static_cast<double>(bytes) / span;
}

std::optional<double> RateMeter::seconds_left(std::uint64_t remaining, std::int64_t now_ns) const {
    const double per_second = rate(now_ns);
    if (per_second <= 0.0) return std::nullopt;
    return static_cast<double>(remaining) / per_second;
}

}  // namespace ferry
