// A transfer rate over the last few seconds, for status lines ("12.3 MB/s,
// 2 min left"). Bytes are added as they move, with the time they moved; the
// rate is what moved within the window before `now`, per second. A meter
// younger than its window divides by its age, so a transfer that just began
// shows its real pace instead of a fraction of it.
//
// Times are nanoseconds of any monotonic clock; they must not go backwards.
// Memory is one counter per second of the window. Not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace ferry {

class RateMeter {
public:
    explicit RateMeter(int window_seconds = 5);

    void add(std::uint64_t bytes, std::int64_t now_ns);
    // Bytes per second over the window before `now_ns`; 0 when nothing moved in it.
    double rate(std::int64_t now_ns) const;
    // Seconds until `remaining` bytes have moved at the current rate;
    // nullopt when nothing is moving.
    std::optional<double> seconds_left(std::uint64_t remaining, std::int64_t now_ns) const;

private:
    struct Second {
        std::int64_t index;  // now_ns / 1 s
        std::uint64_t bytes;
    };
    int m_window;
    std::deque<Second> m_seconds;  // oldest first, at most m_window
    std::optional<std::int64_t> m_first_ns;  // when the first bytes moved
};

}  // namespace ferry
