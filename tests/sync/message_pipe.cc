#include "message_pipe.hh"

#include <algorithm>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace ferry::test {

PipeEnd::PipeEnd(const asio::any_io_executor& executor, const PublicKey& peer_key, bool initiated)
    : m_wake(executor, Timer::time_point::max()),
      m_closed_wait(executor, Timer::time_point::max()),
      m_initiated(initiated) {
    m_peer.device_key = peer_key;
}

std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_message_pipe(
    const asio::any_io_executor& executor, const PublicKey& first_key,
    const PublicKey& second_key) {
    return make_message_pipe(executor, executor, first_key, second_key, PipeOptions{});
}

std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_message_pipe(
    const asio::any_io_executor& first_executor, const asio::any_io_executor& second_executor,
    const PublicKey& first_key, const PublicKey& second_key, PipeOptions options) {
    auto first = std::make_shared<PipeEnd>(first_executor, second_key, true);
    auto second = std::make_shared<PipeEnd>(second_executor, first_key, false);
    first->m_other = second;
    second->m_other = first;
    first->m_options = options;
    second->m_options = options;
    if (!options.transit) {
        first->m_options.transit = second_executor;
        second->m_options.transit = first_executor;
    }
    return {first, second};
}

asio::awaitable<Result<wire::Message>> PipeEnd::receive() {
    while (m_inbox.empty() && !m_closed) {
        asio::error_code ignored;
        co_await m_wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
    if (m_inbox.empty()) co_return fail(Errc::io, "memory pipe: closed");
    std::vector<std::uint8_t> frame = std::move(m_inbox.front());
    m_inbox.pop_front();
    m_bytes_in += frame.size() + 4;
    auto message = wire::decode(frame);
    if (!message) {
        // As a real connection does: a frame that does not decode closes it.
        close("undecodable message");
        co_return tl::unexpected(message.error());
    }
    co_return std::move(*message);
}

asio::awaitable<Result<void>> PipeEnd::send(const wire::Message& message) {
    if (m_closed) co_return fail(Errc::io, "memory pipe: closed");
    std::vector<std::uint8_t> frame = wire::encode(message);
    ++m_counters.messages[wire::message_type(message)];
    if (on_send) on_send(message);
    m_counters.bytes += frame.size() + 4;
    if (!m_options.latency) {
        if (auto other = m_other.lock()) other->inject(std::move(frame));
        co_return Result<void>{};
    }
    // In order: never before the message sent before it.
    m_last_arrival = std::max(MonotonicClock::now() + m_options.latency(),
                              m_last_arrival + std::chrono::nanoseconds(1));
    auto on_the_way = std::make_shared<Timer>(m_options.transit, m_last_arrival);
    on_the_way->async_wait([on_the_way, other = m_other, f = std::move(frame)](
                               const asio::error_code&) mutable {
        if (auto end = other.lock()) end->inject(std::move(f));
    });
    co_return Result<void>{};
}

void PipeEnd::inject(std::vector<std::uint8_t> frame) {
    if (m_closed) return;
    m_inbox.push_back(std::move(frame));
    m_wake.cancel();
}

void PipeEnd::shut() {
    m_closed = true;
    m_wake.cancel();
    m_closed_wait.cancel();
}

asio::awaitable<void> PipeEnd::wait_closed() {
    while (!m_closed) {
        asio::error_code ignored;
        co_await m_closed_wait.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
}

void PipeEnd::close(std::string reason) {
    if (m_closed) return;
    m_close_reason = std::move(reason);
    shut();
    if (auto other = m_other.lock()) other->shut();
}

}  // namespace ferry::test
