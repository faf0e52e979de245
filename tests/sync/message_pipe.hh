// A test double of net/connection.hh: two Connection ends joined in memory.
// Every message goes through wire::encode and wire::decode, as on a real
// connection (minus the handshake and encryption), so the engine meets the
// real codec and its limits. Each end counts what it sent, by type.
// Optionally each message takes a while to arrive (PipeOptions::latency, in
// the time of net/monotonic_time.hh), in order; closing the pipe loses what
// is still on the way, as a cut connection does.
//
// Thread rule: one thread, like a real Connection; the two ends may belong
// to different io_contexts run by that thread (the simulation, tests/sim).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include <asio/any_io_executor.hpp>

#include "net/connection.hh"
#include "net/monotonic_time.hh"

namespace ferry::test {

class PipeEnd;

struct PipeCounters {
    std::map<wire::MessageType, std::uint64_t> messages;  // sent, by type
    std::uint64_t bytes = 0;                              // encoded bytes sent
};

struct PipeOptions {
    // How long the next message takes to arrive; empty: at once.
    std::function<std::chrono::nanoseconds()> latency;
    // Where the messages on their way wait (with a latency); it must outlive
    // both ends' executors. Empty: the receiving end's executor.
    asio::any_io_executor transit;
};

// Two ends: `first` believes it talks to `second_identity`, and the
// other way round.
std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_message_pipe(
    const asio::any_io_executor& executor, const PublicKey& first_key, const PublicKey& second_key);
// The same with each end on its own executor.
std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_message_pipe(
    const asio::any_io_executor& first_executor, const asio::any_io_executor& second_executor,
    const PublicKey& first_key, const PublicKey& second_key, PipeOptions options);

class PipeEnd : public Connection {
public:
    PipeEnd(const asio::any_io_executor& executor, const PublicKey& peer_key, bool initiated);

    asio::awaitable<Result<wire::Message>> receive() override;
    asio::awaitable<Result<void>> send(const wire::Message& message) override;
    void close(std::string reason) override;
    bool is_open() const override { return !m_closed; }
    asio::awaitable<void> wait_closed() override;
    const PeerIdentity& peer() const override { return m_peer; }
    bool initiated_here() const override { return m_initiated; }
    std::string peer_address() const override { return "memory"; }
    std::uint64_t bytes_in() const override { return m_bytes_in; }
    std::uint64_t bytes_out() const override { return m_counters.bytes; }

    // Raw bytes as if they came from the peer (hostile tests).
    void inject(std::vector<std::uint8_t> frame);
    const PipeCounters& counters() const { return m_counters; }
    // Called with every message this end sends (tests look at what went out).
    std::function<void(const wire::Message&)> on_send;
    const std::string& close_reason() const { return m_close_reason; }

private:
    friend std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> make_message_pipe(
        const asio::any_io_executor&, const asio::any_io_executor&, const PublicKey&,
        const PublicKey&, PipeOptions);
    void shut();

    Timer m_wake;         // cancelled when a frame arrives or the pipe closes
    Timer m_closed_wait;  // cancelled when the pipe closes
    PeerIdentity m_peer;
    bool m_initiated;
    bool m_closed = false;
    std::string m_close_reason;
    std::deque<std::vector<std::uint8_t>> m_inbox;
    std::weak_ptr<PipeEnd> m_other;
    PipeOptions m_options;
    MonotonicClock::time_point m_last_arrival{};  // of the latest message sent with a latency
    PipeCounters m_counters;
    std::uint64_t m_bytes_in = 0;
};

}  // namespace ferry::test
