// The ferry-relay network server (proto/relay.md): accepts TCP
// connections, runs the device handshake (net/connection.hh) as the relay's
// identity, authenticates each device with RelayHello against the
// accounts, hands its requests to the RelayService, pushes MailboxNotify to
// devices that got mail, and joins forwarded connections.
//
// Abuse limits: a connection must finish the handshake and RelayHello
// within `hello_timeout` or it is closed; at most
// `max_unauthenticated_per_address` such connections per source address and
// `max_connections` in all (more are closed at once); at most
// `max_connections_per_account` per account; a connection has at most
// `max_requests_in_flight` requests being handled, holding at most
// `max_bytes_in_flight` chunk and payload bytes (a ChunkGet counts as its
// chunks at the largest sealed size; one request over the limit is let
// through alone),
// and its frames are not read meanwhile, so TCP back-pressure slows it;
// it sends at most `connection_bytes_per_second`; a connection that does
// not take a reply within `reply_timeout` is closed (a client that stops
// reading); a silent one is closed after `idle_timeout`; chunk and payload
// bytes an account stores pass a per-account rate limit; frames over the limits of
// net/messages.hh close the connection. A device whose account is removed
// or which is revoked is disconnected within `maintain_interval`.
//
// Forwarding: ForwardRequest names a device of the same account connected
// here; the relay answers with a single-use session, offers it to the
// target (ForwardOffer), and when both present it on new connections (a
// 40-byte preamble, "FERRYFWD" + session) within `forward_wait`, copies
// bytes between them without reading them; the devices then run their own
// handshake end to end. A connection has at most `max_pending_forwards`
// sessions neither joined nor expired; more requests are refused (each
// holds memory and a timer here, and sends the target an offer).
//
// Thread rule: everything runs on the io_context thread; the service is
// called on `workers`. stop() closes the listeners and every connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>

#include "core/error.hh"
#include "net/byte_stream.hh"
#include "relay/relay_identity.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

struct ServerOptions {
    std::chrono::milliseconds hello_timeout{5'000};
    std::chrono::milliseconds ping_interval{30'000};
    std::chrono::milliseconds idle_timeout{120'000};
    std::chrono::milliseconds reply_timeout{60'000};
    std::size_t max_connections = 4'096;
    std::size_t max_unauthenticated_per_address = 16;
    std::size_t max_connections_per_account = 256;
    // Many small puts at once keep a device's upload from waiting on each
    // sync; the byte limit keeps what a connection holds near 4 MiB.
    std::size_t max_requests_in_flight = 64;
    std::size_t max_bytes_in_flight = 4u << 20;
    std::uint64_t account_bytes_per_second = 0;  // chunk and payload bytes stored; 0: unlimited
    std::uint64_t connection_bytes_per_second = 0;  // what one connection may send; 0: unlimited
    std::chrono::milliseconds forward_wait{10'000};
    std::size_t max_pending_forwards = 64;  // per connection
    std::chrono::milliseconds maintain_interval{5'000};
    std::string status_file;  // written atomically every maintain_interval when set
};

struct ServerStats {
    std::uint64_t connections = 0;    // open, authenticated or not
    std::uint64_t authenticated = 0;  // devices past RelayHello
    std::uint64_t forwarding = 0;     // joined pairs of forwarded connections
    std::uint64_t forwarded_bytes = 0;
    std::uint64_t refused = 0;  // connections closed by a limit or a failed authentication
};

class RelayServer {
public:
    RelayServer(asio::io_context& io, asio::any_io_executor workers, const RelayIdentity& identity,
                RelayService& service, ServerOptions options = {});
    ~RelayServer();

    // Starts listening on "host:port" (port 0: any); returns the bound address.
    Result<std::string> listen(const std::string& address);
    // Serves a device connection that arrived another way (an in-process
    // pipe: the simulation), from `source` (its address, for the limits),
    // as one accepted on a listener, except that it cannot be forwarded.
    void serve(std::unique_ptr<ByteStream> stream, const std::string& source);
    ServerStats stats() const;
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace ferry::relay
