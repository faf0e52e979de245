// Coroutine helpers of the sync engine: waking a coroutine, running
// blocking work on the worker pool, and the bounded byte window of
// outstanding chunk requests.
//
// Thread rule: everything here except the body of the work passed to
// offload() runs on the engine's io_context thread; nothing is
// synchronised, because only that thread touches these objects.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <type_traits>
#include <utility>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>

namespace ferry::engine_detail {

// Wakes a coroutine waiting in wait(). fire() before wait() is not lost:
// wait() then returns at once. reset() re-arms it (call it only when
// nothing waits, before checking for work again).
class Signal {
public:
    explicit Signal(const asio::any_io_executor& executor)
        : m_timer(executor, asio::steady_timer::time_point::max()) {}

    asio::awaitable<void> wait() {
        if (m_fired) co_return;
        asio::error_code ignored;
        co_await m_timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    void fire() {
        m_fired = true;
        m_timer.cancel();
    }
    void reset() { m_fired = false; }
    bool fired() const { return m_fired; }

private:
    asio::steady_timer m_timer;
    bool m_fired = false;
};

// Runs `work` on `pool` and resumes the awaiting coroutine on its own
// executor with the result (so results are only ever touched on the io
// thread). `work` must not touch engine state.
//
// GCC 12 destroys class-type temporaries of a co_await expression twice:
// pass `work` as a named variable (std::move(work)), never as a temporary.
template <class Work>
asio::awaitable<std::invoke_result_t<std::decay_t<Work>&>> offload(asio::thread_pool& pool,
                                                                   Work&& work) {
    using Job = std::decay_t<Work>;
    using Value = std::invoke_result_t<Job&>;
    auto initiate = [&pool](auto handler, Job job) {
        asio::post(pool, [h = std::move(handler), j = std::move(job)]() mutable {
            Value value = j();
            auto executor = asio::get_associated_executor(h);
            asio::post(executor, [h = std::move(h), v = std::move(value)]() mutable {
                std::move(h)(std::move(v));
            });
        });
    };
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(Value)>(
        std::move(initiate), asio::use_awaitable, Job(std::forward<Work>(work)));
}

// Bytes requested from peers and not yet written: acquire() waits until the
// request fits under the limit (a single request larger than the limit is
// let through alone, so no chunk can stall forever). Waiters are served in
// order.
class ByteWindow {
public:
    ByteWindow(const asio::any_io_executor& executor, std::size_t limit)
        : m_executor(executor), m_limit(limit) {}

    asio::awaitable<void> acquire(std::size_t bytes) {
        if (m_waiters.empty() && fits(bytes)) {
            m_used += bytes;
            co_return;
        }
        auto signal = std::make_shared<Signal>(m_executor);
        m_waiters.push_back({bytes, signal});
        co_await signal->wait();  // release() has counted our bytes already
    }

    void release(std::size_t bytes) {
        m_used -= bytes < m_used ? bytes : m_used;
        while (!m_waiters.empty() && fits(m_waiters.front().bytes)) {
            m_used += m_waiters.front().bytes;
            m_waiters.front().signal->fire();
            m_waiters.pop_front();
        }
    }

    std::size_t used() const { return m_used; }
    std::size_t limit() const { return m_limit; }

private:
    bool fits(std::size_t bytes) const { return m_used == 0 || m_used + bytes <= m_limit; }

    struct Waiter {
        std::size_t bytes;
        std::shared_ptr<Signal> signal;
    };
    asio::any_io_executor m_executor;
    std::size_t m_limit;
    std::size_t m_used = 0;
    std::deque<Waiter> m_waiters;
};

}  // namespace ferry::engine_detail
