// The token bucket with explicit times (core/token_bucket.hh).
#include "core/token_bucket.hh"

#include <random>

#include <catch2/catch.hpp>

using namespace ferry;

namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::uint64_t kBurst = TokenBucket::kBurstBytes;
constexpr std::int64_t kStart = 5 * kSecond;  // any point on a monotonic scale

// A bucket at 1000 bytes/s, emptied at kStart.
TokenBucket emptied() {
    TokenBucket bucket(1000);
    const auto ticket = bucket.reserve(kBurst, kStart);
    REQUIRE(bucket.wait_ns(ticket, kStart) == 0);
    return bucket;
}

}  // namespace

TEST_CASE("a new bucket lets a burst pass at once, then the rate", "[token_bucket]") {
    TokenBucket bucket(1000);
    CHECK(bucket.delay_ns(kBurst, kStart) == 0);
    bucket.reserve(kBurst, kStart);
    CHECK(bucket.delay_ns(1000, kStart) == kSecond);
    CHECK(bucket.delay_ns(1, kStart) == kSecond / 1000);
    CHECK(bucket.delay_ns(1000, kStart + kSecond / 4) == 3 * kSecond / 4);
    CHECK(bucket.delay_ns(1000, kStart + kSecond) == 0);
}

TEST_CASE("tokens never exceed the burst, however long the pause", "[token_bucket]") {
    TokenBucket bucket = emptied();
    const std::int64_t later = kStart + 1'000'000 * kSecond;
    CHECK(bucket.delay_ns(kBurst, later) == 0);
    bucket.reserve(kBurst, later);
    CHECK(bucket.delay_ns(1000, later) == kSecond);
}

TEST_CASE("reservations pass in order, each behind the earlier ones", "[token_bucket]") {
    TokenBucket bucket = emptied();
    const auto first = bucket.reserve(1000, kStart);
    const auto second = bucket.reserve(500, kStart);
    const auto third = bucket.reserve(1500, kStart);
    CHECK(bucket.wait_ns(first, kStart) == kSecond);
    CHECK(bucket.wait_ns(second, kStart) == 3 * kSecond / 2);
    CHECK(bucket.wait_ns(third, kStart) == 3 * kSecond);
    CHECK(bucket.wait_ns(second, kStart + kSecond) == kSecond / 2);
    CHECK(bucket.wait_ns(first, kStart + 2 * kSecond) == 0);
    // A request asked about now waits behind all three.
    CHECK(bucket.delay_ns(1000, kStart) == 4 * kSecond);
}

TEST_CASE("a rate change applies to waiting tickets from then on", "[token_bucket]") {
    TokenBucket bucket = emptied();
    const auto ticket = bucket.reserve(2000, kStart);
    CHECK(bucket.wait_ns(ticket, kStart) == 2 * kSecond);
    // 1000 bytes earned at the old rate; the other 1000 at 4000 bytes/s.
    bucket.set_rate(4000, kStart + kSecond);
    CHECK(bucket.rate() == 4000);
    CHECK(bucket.wait_ns(ticket, kStart + kSecond) == kSecond / 4);
    bucket.set_rate(500, kStart + kSecond + kSecond / 8);  // 500 bytes earned meanwhile
    CHECK(bucket.wait_ns(ticket, kStart + kSecond + kSecond / 8) == kSecond);
}

TEST_CASE("rate 0 is unlimited: nothing waits, debts are forgiven", "[token_bucket]") {
    TokenBucket unlimited;
    CHECK(unlimited.unlimited());
    const auto huge = unlimited.reserve(std::uint64_t{1} << 40, kStart);
    CHECK(unlimited.wait_ns(huge, kStart) == 0);
    CHECK(unlimited.delay_ns(std::uint64_t{1} << 40, kStart) == 0);

    TokenBucket bucket = emptied();
    const auto waiting = bucket.reserve(10'000, kStart);
    REQUIRE(bucket.wait_ns(waiting, kStart) == 10 * kSecond);
    bucket.set_rate(0, kStart + 1);
    CHECK(bucket.wait_ns(waiting, kStart + 1) == 0);

    SECTION("and a limit set later starts with a full bucket") {
        bucket.set_rate(1000, kStart + 2);
        CHECK(bucket.delay_ns(kBurst, kStart + 2) == 0);
        bucket.reserve(kBurst, kStart + 2);
        CHECK(bucket.delay_ns(1000, kStart + 2) == kSecond);
    }
}

TEST_CASE("a request larger than the burst waits for a full bucket and leaves a debt",
          "[token_bucket]") {
    TokenBucket bucket = emptied();
    const std::uint64_t large = 3 * kBurst;
    const std::int64_t fill = static_cast<std::int64_t>(kBurst) * kSecond / 1000;
    CHECK(bucket.delay_ns(large, kStart) == fill);
    const auto ticket = bucket.reserve(large, kStart);
    CHECK(bucket.wait_ns(ticket, kStart) == fill);
    // The next byte waits for the debt of the other two bursts as well.
    CHECK(bucket.delay_ns(1, kStart + fill) == 2 * fill + kSecond / 1000);
}

TEST_CASE("time going backwards earns nothing", "[token_bucket]") {
    TokenBucket bucket = emptied();
    bucket.reserve(1000, kStart + kSecond);  // earned 1000, spent 1000
    CHECK(bucket.delay_ns(1000, kStart) == kSecond);
    bucket.reserve(1000, kStart);  // earlier than the last call: no time passed
    CHECK(bucket.delay_ns(1000, kStart + kSecond) == 2 * kSecond);
}

TEST_CASE("rates beyond the maximum count as the maximum, without overflow", "[token_bucket]") {
    TokenBucket bucket(~std::uint64_t{0});
    CHECK(bucket.rate() == TokenBucket::kMaxRate);
    bucket.reserve(kBurst, kStart);
    bucket.reserve(TokenBucket::kMaxDebtBytes, kStart);
    const std::int64_t wait = bucket.delay_ns(1, kStart);
    CHECK(wait > 0);
    CHECK(wait <= 2 * kSecond / 256);  // 4 GiB at 1 TiB/s, rounded up
    CHECK(bucket.delay_ns(kBurst, kStart + 1'000'000 * kSecond) == 0);
}

TEST_CASE("over any span, no more than burst + rate × time passes", "[token_bucket]") {
    // Random requests at random times; each passes at the time its wait
    // says. Then every window [a, b] of pass times holds at most
    // burst + rate × (b - a) bytes.
    std::mt19937_64 random(7);
    const std::uint64_t rate = 100'000;
    TokenBucket bucket(rate);
    std::vector<std::pair<std::int64_t, std::uint64_t>> passed;  // time, bytes
    std::int64_t now = kStart;
    for (int i = 0; i < 2000; ++i) {
        now += static_cast<std::int64_t>(random() % (kSecond / 10));
        if (i == 1000) bucket.set_rate(rate / 2, now);
        const std::uint64_t bytes = 1 + random() % (64 * 1024);
        const auto ticket = bucket.reserve(bytes, now);
        const std::int64_t at = now + bucket.wait_ns(ticket, now);
        REQUIRE(bucket.wait_ns(ticket, at) == 0);
        if (at > now) REQUIRE(bucket.wait_ns(ticket, at - 1) > 0);  // not a ns too late
        now = at;  // one waiter: the next request comes after this one passed
        passed.emplace_back(at, bytes);
    }
    for (std::size_t a = 0; a < passed.size(); ++a) {
        std::uint64_t sum = 0;
        for (std::size_t b = a; b < passed.size(); ++b) {
            sum += passed[b].second;
            const std::int64_t span = passed[b].first - passed[a].first;
            // The faster rate bounds every window, also those after the change.
            const auto allowed = kBurst + static_cast<std::uint64_t>(span) * rate / kSecond + 1;
            REQUIRE(sum <= allowed);
        }
    }
}
