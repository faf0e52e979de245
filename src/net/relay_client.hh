// One device's connection to one ferry-relay (proto/relay.md; the other end
// is relay/relay_server.hh).
//
// start() runs a dial loop: TCP to the URL's address, the device handshake
// (net/connection.hh) with the device's certificate, accepting only the
// relay whose device id is the URL's RELAYID (another key: Errc::
// permission_denied "relay at ADDR answered as ID, expected ID"), then
// RelayHello (from options.hello, asked at every connect) and the wait for
// RelayWelcome (at most request_timeout). A Close from the relay instead of
// the welcome ("refused: used token") is the attempt's error. Every failed
// attempt and every lost connection is reported once through
// on_disconnected(why) and followed by a jittered (±25 %) exponential
// backoff from backoff_min to backoff_max; a connection that stayed up
// 10 s resets it.
//
// request() sends one relay request (ChunkPut, ChunkHave, ChunkGet,
// MailboxPost, MailboxFetch, MailboxAck, ForwardRequest) with the next id,
// and returns the reply carrying that id: the request's own answer type or
// a RelayReply (how the relay refuses anything). Many may be in flight; the
// relay may answer in any order. Failures: Errc::invalid_argument for a
// message that is not a request; Errc::io "relay ADDR: not connected",
// "... connection lost ...", "... no reply to X within N ms" (the timeout
// counts from the call; a late reply is then dropped), "... client
// stopped"; Errc::corrupt when the relay answers with a type that does not
// fit the request. RelayCode values are NOT turned into errors: the caller
// reads the reply's code (forward_to() does, for its own request). A request
// returns only once its frame is written (Connection::send's back-pressure),
// so one stuck behind a relay that reads nothing ends with the connection.
// MailboxNotify and ForwardOffer go to their hooks; any other unasked
// message from the relay closes the connection as a protocol error.
//
// open_forwarded() dials the relay anew and writes the 40-byte preamble
// ("FERRYFWD" + session); the stream it returns carries the other device's
// bytes, for the caller to run a device handshake on. It needs no relay
// connection. forward_to() asks for a session (ForwardRequest; a code other
// than ok fails: not_found -> Errc::not_found, refused -> Errc::
// permission_denied, else Errc::io, with the relay's message) and opens it.
//
// Thread rule: every method, and every hook, on the io_context's thread.
// Hooks are never called after stop(). stop() (also run by the destructor)
// closes the connection (or aborts the dial in progress), fails pending
// requests and ends the loop. A stopped client stays stopped.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "net/byte_stream.hh"
#include "net/connection.hh"
#include "net/messages.hh"
#include "net/relay_url.hh"

namespace ferry {

struct RelayClientHooks {
    std::function<void(const wire::RelayWelcome&)> on_connected;
    std::function<void(const std::string& why)> on_disconnected;
    std::function<void()> on_notify;  // MailboxNotify: the mailbox has new entries
    std::function<void(const wire::ForwardOffer&)> on_forward_offer;
};

struct RelayClientOptions {
    // Handshake timeout and keepalive of the relay connection.
    ConnectionOptions connection;
    std::chrono::milliseconds dial_timeout{10'000};
    std::chrono::milliseconds request_timeout{60'000};
    std::chrono::milliseconds backoff_min{1'000};
    std::chrono::milliseconds backoff_max{60'000};
    // The RelayHello to send (token, revocations), asked at every connect;
    // null: an empty hello.
    std::function<wire::RelayHello()> hello;
    // How to reach the URL's address; empty: TCP (bounded by dial_timeout).
    // The simulation (tests/sim) joins its devices to an in-process relay.
    StreamDialer dial;
    // Seeds the backoff's jitter; empty: a random seed. Fixed where a run
    // must replay exactly (the simulation).
    std::optional<std::uint64_t> jitter_seed;
};

struct RelayStatus {
    bool connected = false;  // welcomed, and the connection is up
    std::string last_error;  // why the last attempt or connection ended ("" before any)
    std::optional<std::chrono::microseconds> rtt;  // RelayHello -> RelayWelcome, last connect
    std::string account;
    std::uint64_t used_bytes = 0;   // from the welcome and every RelayReply
    std::uint64_t quota_bytes = 0;  // 0: unlimited
};

class RelayClient {
public:
    // Keeps its own copy of `device`.
    RelayClient(asio::io_context& io, const KeyPair& device, DeviceCertificate certificate,
                RelayUrl url, RelayClientHooks hooks, RelayClientOptions options = {});
    ~RelayClient();
    RelayClient(const RelayClient&) = delete;
    RelayClient& operator=(const RelayClient&) = delete;

    void start();
    void stop();

    RelayStatus status() const;
    std::optional<std::chrono::microseconds> rtt() const;
    const RelayUrl& url() const;

    // Sets the request's id (the caller's value is ignored).
    asio::awaitable<Result<wire::Message>> request(wire::Message message);

    asio::awaitable<Result<std::unique_ptr<ByteStream>>> open_forwarded(
        const wire::ForwardSession& session);
    asio::awaitable<Result<std::unique_ptr<ByteStream>>> forward_to(const PublicKey& target);

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace ferry
