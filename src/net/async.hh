// Coroutine helpers: waking a coroutine, and running blocking work (disk,
// SQLite) on a thread pool from a coroutine on an io_context thread. Used by
// the sync engine and the relay server.
//
// Thread rule: a Signal is used from its executor's thread only; offload()
// runs `work` on the workers and resumes the caller on the caller's executor.
#pragma once

#include <type_traits>
#include <utility>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/awaitable.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/any_io_executor.hpp>
#include <asio/use_awaitable.hpp>

#include "net/monotonic_time.hh"

namespace ferry {

// Wakes a coroutine waiting in wait(). fire() before wait() is not lost:
// wait() then returns at once. reset() re-arms it (call it only when
// nothing waits, before checking for work again).
class Signal {
public:
    explicit Signal(const asio::any_io_executor& executor)
        : m_timer(executor, Timer::time_point::max()) {}

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
    Timer m_timer;
    bool m_fired = false;
};

// Runs `work` on `workers` (a thread pool's executor; the simulation passes
// its one io_context's, so the work runs there as a handler of its own) and
// resumes the awaiting coroutine on its own executor with the result (so
// results are only ever touched on the io thread). `work` must not touch state owned by the io thread.
//
// GCC 12 destroys class-type temporaries of a co_await expression twice:
// pass `work` as a named variable (std::move(work)), never as a temporary.
template <class Work>
asio::awaitable<std::invoke_result_t<std::decay_t<Work>&>> offload(
    asio::any_io_executor workers, Work&& work) {
    using Job = std::decay_t<Work>;
    using Value = std::invoke_result_t<Job&>;
    auto initiate = [workers](auto handler, Job job) {
        asio::post(workers, [h = std::move(handler), j = std::move(job)]() mutable {
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

}  // namespace ferry
