// Clocks: where the engine and the cluster get the time of day, so tests
// (and later the simulation) can set it.
//
// Thread rule: now_ns() may be called from any thread.
#pragma once

#include <cstdint>

namespace ferry {

class Clock {
public:
    virtual ~Clock() = default;
    // Wall-clock time, ns since the Unix epoch.
    virtual std::int64_t now_ns() const = 0;
};

class SystemClock final : public Clock {
public:
    std::int64_t now_ns() const override;
};

// A clock that stands still until told otherwise (tests).
class ManualClock final : public Clock {
public:
    explicit ManualClock(std::int64_t now_ns) : m_now(now_ns) {}
    std::int64_t now_ns() const override { return m_now; }
    void set(std::int64_t now_ns) { m_now = now_ns; }
    void advance(std::int64_t delta_ns) { m_now += delta_ns; }

private:
    std::int64_t m_now;
};

}  // namespace ferry
