// Coroutine helpers of the sync engine: the bounded byte window of
// outstanding chunk requests (Signal and offload() are net/async.hh's).
//
// Thread rule: a ByteWindow belongs to the engine's io_context thread;
// nothing is synchronised, because only that thread touches it.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>

#include "net/async.hh"

namespace ferry::engine_detail {

using ferry::offload;
using ferry::Signal;

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
