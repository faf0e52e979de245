// net/monotonic_time.hh: timers on real time, and on a thread's virtual time.
#include <chrono>
#include <vector>

#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "net/monotonic_time.hh"

using namespace ferry;
using namespace std::chrono_literals;

TEST_CASE("monotonic clock follows steady_clock without virtual time", "[monotonic]") {
    const auto before = std::chrono::steady_clock::now().time_since_epoch();
    const auto now = MonotonicClock::now().time_since_epoch();
    const auto after = std::chrono::steady_clock::now().time_since_epoch();
    CHECK(now >= before);
    CHECK(now <= after);
}

TEST_CASE("a real timer waits in real time", "[monotonic]") {
    asio::io_context io;
    // Taken before the timer is set: its 20 ms count from its construction.
    const auto started = std::chrono::steady_clock::now();
    Timer timer(io, 20ms);
    bool fired = false;
    timer.async_wait([&](const asio::error_code& ec) { fired = !ec; });
    io.run_for(2s);
    CHECK(fired);
    CHECK(std::chrono::steady_clock::now() - started >= 20ms);
}

TEST_CASE("timers under virtual time fire when the owner advances it", "[monotonic]") {
    asio::io_context io;
    VirtualTime time(MonotonicClock::time_point(1h));
    CHECK(MonotonicClock::now() == MonotonicClock::time_point(1h));

    std::vector<int> fired;
    Timer late(io, 10min);
    Timer early(io, 3s);
    Timer never(io, Timer::time_point::max());
    late.async_wait([&](const asio::error_code& ec) { if (!ec) fired.push_back(2); });
    early.async_wait([&](const asio::error_code& ec) { if (!ec) fired.push_back(1); });
    never.async_wait([&](const asio::error_code&) { fired.push_back(9); });

    const auto started = std::chrono::steady_clock::now();
    // Nothing is ready; the earliest due time is known.
    io.poll();
    CHECK(fired.empty());
    auto due = time.next_due();
    REQUIRE(due.has_value());
    CHECK(*due == MonotonicClock::time_point(1h + 3s));

    // Time moved, but without a recheck the io_context does not look.
    time.advance_to(*due);
    io.poll();
    CHECK(fired.empty());
    time.recheck_if_due(io);
    io.poll();
    CHECK(fired == std::vector<int>{1});
    due = time.next_due();
    REQUIRE(due.has_value());
    CHECK(*due == MonotonicClock::time_point(1h + 10min));

    time.advance_to(*due);
    time.recheck_if_due(io);
    io.poll();
    CHECK(fired == std::vector<int>{1, 2});
    // Only the timer that never expires is left: no due time to jump to.
    CHECK_FALSE(time.next_due().has_value());
    never.cancel();
    io.poll();
    CHECK(fired == std::vector<int>{1, 2, 9});
    // Ten virtual minutes took no real waiting.
    CHECK(std::chrono::steady_clock::now() - started < 5s);
}

TEST_CASE("under virtual time only an io_context with a timer due is made to look", "[monotonic]") {
    asio::io_context quiet;
    asio::io_context busy;
    VirtualTime time(MonotonicClock::time_point(1h));
    Timer later(quiet, 1min);
    Timer soon(busy, 1s);
    bool soon_fired = false;
    later.async_wait([](const asio::error_code&) {});
    soon.async_wait([&](const asio::error_code& ec) { soon_fired = !ec; });

    time.advance_to(MonotonicClock::time_point(1h + 1s));
    time.recheck_if_due(quiet);
    time.recheck_if_due(busy);
    // The recheck is a handler of its own: it runs where one was made.
    CHECK(quiet.poll() == 0);
    CHECK(busy.poll() == 2);
    CHECK(soon_fired);
    // Made to look once per time it falls due.
    time.recheck_if_due(busy);
    CHECK(busy.poll() == 0);
}

TEST_CASE("under virtual time a timer cancelled, set again or destroyed is no longer due",
          "[monotonic]") {
    asio::io_context io;
    VirtualTime time(MonotonicClock::time_point(1h));
    Timer moved(io, 1s);
    moved.expires_after(5s);
    CHECK(time.next_due() == MonotonicClock::time_point(1h + 5s));
    {
        Timer gone(io, 2s);
        CHECK(time.next_due() == MonotonicClock::time_point(1h + 2s));
    }
    CHECK(time.next_due() == MonotonicClock::time_point(1h + 5s));
    moved.cancel();
    CHECK_FALSE(time.next_due().has_value());
    moved.expires_at(MonotonicClock::time_point(1h + 7s));
    CHECK(time.next_due() == MonotonicClock::time_point(1h + 7s));
}

TEST_CASE("virtual time never goes back", "[monotonic]") {
    VirtualTime time(MonotonicClock::time_point(5s));
    time.advance_to(MonotonicClock::time_point(1s));
    CHECK(MonotonicClock::now() == MonotonicClock::time_point(5s));
}
