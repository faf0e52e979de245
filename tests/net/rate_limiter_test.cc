// Rate limits: the shared limiter's waits, and connections over the memory
// pipe with send and receive limits (net/rate_limiter.hh, net/connection.hh).
// Times are only ever bounded from below: N bytes at R bytes/s take at least
// (N - burst) / R; an upper bound would test the machine's speed.
#include "net/rate_limiter.hh"

#include "net/net_test_support.hh"

using namespace ferry;
using namespace ferry::net_test;

namespace {

using Clock = std::chrono::steady_clock;
using Seconds = std::chrono::duration<double>;

constexpr std::uint64_t kBurst = TokenBucket::kBurstBytes;
constexpr std::size_t kMessageBytes = 64 * 1024;

// The least time `bytes` may take at `rate` after a full burst, with 10 %
// slack for the clock's granularity.
Seconds least_time(std::uint64_t bytes, std::uint64_t rate) {
    return Seconds(0.9 * static_cast<double>(bytes - kBurst) / static_cast<double>(rate));
}

// Acquires `bytes` in the limiter's slices, as a connection does.
asio::awaitable<void> acquire_all(RateLimiter& limiter, std::uint64_t bytes) {
    Timer timer(co_await asio::this_coro::executor);
    while (bytes > 0) {
        const std::size_t slice = std::min<std::uint64_t>(bytes, limiter.slice_bytes());
        co_await limiter.acquire(slice, timer);
        bytes -= slice;
    }
}

wire::Response response(std::uint32_t id, std::size_t bytes) {
    wire::Response r;
    r.id = id;
    r.data.resize(bytes);
    for (std::size_t i = 0; i < r.data.size(); ++i) r.data[i] = static_cast<char>((i + id) % 251);
    return r;
}

// Sends `count` Responses of `bytes` from `from`; `to` receives them and
// checks each. Completes when all have arrived and been sent; counts them in
// `received` as they arrive.
asio::awaitable<Result<void>> transfer(std::shared_ptr<Connection> from,
                                       std::shared_ptr<Connection> to, std::uint32_t count,
                                       std::uint32_t& received,
                                       std::size_t bytes = kMessageBytes) {
    // The sender may outlive this coroutine (when a receive fails).
    auto sent = std::make_shared<std::optional<Result<void>>>();
    // Not inside the co_spawn call: GCC 12 would destroy the lambda twice.
    const auto executor = co_await asio::this_coro::executor;
    asio::co_spawn(
        executor,
        [from, count, bytes, sent]() -> asio::awaitable<void> {
            for (std::uint32_t id = 0; id < count; ++id) {
                const wire::Message message = response(id, bytes);
                auto r = co_await from->send(message);
                if (!r) {
                    *sent = r;
                    co_return;
                }
            }
            *sent = Result<void>{};
        },
        asio::detached);
    for (received = 0; received < count; ++received) {
        auto got = co_await to->receive();
        if (!got) co_return tl::unexpected(got.error());
        REQUIRE(std::holds_alternative<wire::Response>(*got));
        CHECK(std::get<wire::Response>(*got) == response(received, bytes));
    }
    const std::function<bool()> all_sent = [&] { return sent->has_value(); };
    co_await eventually(all_sent);
    REQUIRE(sent->has_value());
    co_return **sent;
}

struct Fixture {
    asio::io_context io;
    TestUser user;
    TestDevice laptop{user, "laptop"};
    TestDevice desktop{user, "desktop"};

    // A connection pair over a memory pipe; both ends have `options`.
    std::pair<std::shared_ptr<Connection>, std::shared_ptr<Connection>> open(
        const ConnectionOptions& options) {
        auto [a, b] = make_memory_pipe(io.get_executor());
        auto pair = run_bounded(io, open_pair(std::move(a), std::move(b), laptop, desktop,
                                              user.authorizer(), user.authorizer(), options));
        REQUIRE(pair.initiated);
        REQUIRE(pair.accepted);
        return {*pair.initiated, *pair.accepted};
    }

    // Sends `count` messages one way; returns how long until all arrived.
    Seconds timed_transfer(const std::shared_ptr<Connection>& from,
                           const std::shared_ptr<Connection>& to, std::uint32_t count) {
        std::uint32_t received = 0;
        const auto start = Clock::now();
        REQUIRE(run_bounded(io, transfer(from, to, count, received)));
        return Clock::now() - start;
    }
};

// Messages whose bytes (payload alone, less than on the wire) take about
// `seconds` at `rate` after the burst.
std::uint32_t messages_for(double seconds, std::uint64_t rate) {
    return static_cast<std::uint32_t>(
        (kBurst + static_cast<std::uint64_t>(seconds * static_cast<double>(rate))) / kMessageBytes);
}

}  // namespace

TEST_CASE("the limiter lets bytes through no faster than its rate", "[rate_limit]") {
    asio::io_context io;
    const std::uint64_t rate = 1 << 20;
    auto limiter = std::make_shared<RateLimiter>(rate);
    const std::uint64_t bytes = kBurst + rate;
    const auto start = Clock::now();
    run_bounded(io, acquire_all(*limiter, bytes));
    CHECK(Seconds(Clock::now() - start) >= least_time(bytes, rate));
}

TEST_CASE("a rate change wakes waiting acquires to recompute", "[rate_limit]") {
    asio::io_context io;
    auto limiter = std::make_shared<RateLimiter>(1024);
    run_bounded(io, acquire_all(*limiter, kBurst));  // empties the bucket
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await acquire_all(*limiter, 1 << 20);  // 1024 s at the old rate
            done = true;
        },
        asio::detached);
    run_bounded(io, pause(100ms));
    REQUIRE_FALSE(done);

    SECTION("to unlimited: they pass at once") {
        limiter->set_rate(0);
        CHECK(run_bounded(io, eventually([&] { return done; })));
    }
    SECTION("to a faster rate: they pass at that rate") {
        const std::uint64_t rate = 4 << 20;
        const auto start = Clock::now();
        limiter->set_rate(rate);
        CHECK(run_bounded(io, eventually([&] { return done; })));
        // A full bucket was not earned in 100 ms at 1 KiB/s: all of it waits.
        CHECK(Seconds(Clock::now() - start) >= Seconds(0.9 * (1 << 20) / static_cast<double>(rate)));
    }
}

TEST_CASE("cancelling its timer ends an acquire early", "[rate_limit]") {
    asio::io_context io;
    auto limiter = std::make_shared<RateLimiter>(1024);
    run_bounded(io, acquire_all(*limiter, kBurst));
    Timer timer(io);
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> asio::awaitable<void> {
            co_await limiter->acquire(4096, timer);  // 4 s
            done = true;
        },
        asio::detached);
    run_bounded(io, pause(100ms));
    REQUIRE_FALSE(done);
    timer.cancel();
    CHECK(run_bounded(io, eventually([&] { return done; }, 2s)));
}

TEST_CASE("slices are about a quarter second of traffic, within bounds", "[rate_limit]") {
    CHECK(RateLimiter(1024).slice_bytes() == 4096);
    CHECK(RateLimiter(400'000).slice_bytes() == 100'000);
    CHECK(RateLimiter(100 << 20).slice_bytes() == 256 * 1024);
    CHECK(kib_per_second(0) == 0);
    CHECK(kib_per_second(100) == 102'400);
    CHECK(kib_per_second(~std::uint64_t{0}) == TokenBucket::kMaxRate);
}

TEST_CASE("a send limit paces a connection's frames", "[rate_limit]") {
    Fixture f;
    const std::uint64_t rate = 1 << 20;
    ConnectionOptions options;
    options.send_limit = std::make_shared<RateLimiter>(rate);
    auto [a, b] = f.open(options);
    const std::uint32_t count = messages_for(1.0, rate);
    CHECK(f.timed_transfer(a, b, count) >= least_time(count * kMessageBytes, rate));
}

TEST_CASE("a receive limit paces a connection's reads", "[rate_limit]") {
    Fixture f;
    const std::uint64_t rate = 1 << 20;
    ConnectionOptions options;
    options.receive_limit = std::make_shared<RateLimiter>(rate);
    auto [a, b] = f.open(options);
    const std::uint32_t count = messages_for(1.0, rate);
    CHECK(f.timed_transfer(a, b, count) >= least_time(count * kMessageBytes, rate));
}

TEST_CASE("connections sharing a limiter share its rate", "[rate_limit]") {
    Fixture f;
    const std::uint64_t rate = 1 << 20;
    ConnectionOptions options;
    options.send_limit = std::make_shared<RateLimiter>(rate);
    auto [a1, b1] = f.open(options);
    auto [a2, b2] = f.open(options);
    const std::uint32_t each = messages_for(1.0, rate) / 2 + 1;
    std::uint32_t received1 = 0;
    std::uint32_t received2 = 0;
    std::optional<Result<void>> second;
    const auto start = Clock::now();
    asio::co_spawn(
        f.io,
        [&, a2 = a2, b2 = b2]() -> asio::awaitable<void> {
            second = co_await transfer(a2, b2, each, received2);
        },
        asio::detached);
    REQUIRE(run_bounded(f.io, transfer(a1, b1, each, received1)));
    REQUIRE(run_bounded(f.io, eventually([&] { return second.has_value(); })));
    REQUIRE(*second);
    CHECK(Seconds(Clock::now() - start) >= least_time(2 * each * kMessageBytes, rate));
}

TEST_CASE("a rate change applies to a connection's next slices", "[rate_limit]") {
    Fixture f;
    auto limiter = std::make_shared<RateLimiter>(0);
    ConnectionOptions options;
    options.send_limit = limiter;
    auto [a, b] = f.open(options);

    SECTION("from unlimited to a limit") {
        f.timed_transfer(a, b, 32);
        const std::uint64_t rate = 1 << 20;
        limiter->set_rate(rate);
        const std::uint32_t count = messages_for(1.0, rate);
        CHECK(f.timed_transfer(a, b, count) >= least_time(count * kMessageBytes, rate));
    }
    SECTION("from a slow limit to unlimited, in the middle of a transfer") {
        limiter->set_rate(16 * 1024);
        const std::uint32_t count = messages_for(100.0, 16 * 1024);
        std::uint32_t received = 0;
        std::optional<Result<void>> done;
        asio::co_spawn(
            f.io,
            [&, a = a, b = b]() -> asio::awaitable<void> {
                done = co_await transfer(a, b, count, received);
            },
            asio::detached);
        run_bounded(f.io, pause(300ms));
        REQUIRE_FALSE(done.has_value());
        CHECK(received < count);
        limiter->set_rate(0);
        REQUIRE(run_bounded(f.io, eventually([&] { return done.has_value(); })));
        CHECK(*done);
        CHECK(received == count);
    }
}

TEST_CASE("a reader waiting for its limit does not time out the connection", "[rate_limit]") {
    Fixture f;
    ConnectionOptions options;
    options.idle_timeout = 300ms;
    options.ping_interval = 100ms;
    auto limiter = std::make_shared<RateLimiter>(8 * 1024);  // 0.5 s per 4 KiB slice
    options.receive_limit = limiter;
    auto [a, b] = f.open(options);
    run_bounded(f.io, acquire_all(*limiter, kBurst));  // no burst left
    std::uint32_t received = 0;
    REQUIRE(run_bounded(f.io, transfer(a, b, 1, received, 8 * 1024)));
    CHECK(b->is_open());
}

TEST_CASE("an unlimited limiter leaves connections as they are", "[rate_limit]") {
    Fixture f;
    ConnectionOptions options;
    options.send_limit = std::make_shared<RateLimiter>(0);
    options.receive_limit = std::make_shared<RateLimiter>(0);
    auto [a, b] = f.open(options);
    f.timed_transfer(a, b, 160);  // 10 MiB; whole and in order (transfer checks)
    CHECK(a->bytes_out() == b->bytes_in());
}
