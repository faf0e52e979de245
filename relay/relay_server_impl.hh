// RelayServer's parts (relay/relay_server.hh), shared by relay_server.cc
// (connections, sessions, requests, upkeep) and relay_forward.cc (telling
// forwarded sockets from device connections, and joining them).
//
// Thread rule: as RelayServer's: everything on the io_context's thread, the
// service called on `workers`. Private to relay/.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/ip/tcp.hpp>

#include "net/async.hh"
#include "net/byte_stream.hh"
#include "net/connection.hh"
#include "net/monotonic_time.hh"
#include "net/rate_limiter.hh"
#include "relay/relay_server.hh"

namespace ferry::relay {
namespace server_detail {

using asio::ip::tcp;

// An authenticated device connection.
struct Session {
    DeviceSession device;
    std::shared_ptr<Connection> connection;
    std::size_t in_flight = 0;         // requests being handled
    std::size_t bytes_in_flight = 0;   // their bytes_held()
    std::shared_ptr<Signal> slot;      // fired when a request finishes
    std::size_t forwards_pending = 0;  // sessions it asked for, not yet joined or expired
};

// A socket with its share of the open-connection count.
struct OpenSocket {
    tcp::socket socket;
    std::shared_ptr<void> counted;
};

// Two forwarded connections joined.
struct Splice {
    OpenSocket a;
    OpenSocket b;
    void close() {
        std::error_code ignored;
        a.socket.close(ignored);
        b.socket.close(ignored);
    }
};

struct PendingForward {
    std::string account;
    std::shared_ptr<void> counted;     // the requester's share of forwards_pending
    std::optional<OpenSocket> parked;  // the side that came first
    std::shared_ptr<Timer> expiry;
};

// Sends, and closes the connection if the device does not take the frame
// within `limit` (a client that stops reading must not hold the relay).
asio::awaitable<void> send_or_close(std::shared_ptr<Connection> connection, wire::Message message,
                                    std::chrono::milliseconds limit);

}  // namespace server_detail

struct RelayServer::Impl : std::enable_shared_from_this<RelayServer::Impl> {
    using Session = server_detail::Session;
    using OpenSocket = server_detail::OpenSocket;
    using Splice = server_detail::Splice;
    using PendingForward = server_detail::PendingForward;
    using tcp = asio::ip::tcp;

    Impl(asio::io_context& io, asio::any_io_executor workers, const RelayIdentity& identity,
         RelayService& service, ServerOptions options)
        : io(io),
          workers(workers),
          identity(identity),
          service(service),
          options(std::move(options)),
          maintain_timer(io) {}

    asio::io_context& io;
    asio::any_io_executor workers;
    const RelayIdentity& identity;
    RelayService& service;
    ServerOptions options;
    bool stopped = false;
    std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
    std::vector<std::string> bound;
    std::map<std::string, std::size_t> unauthenticated;  // by source address
    std::set<std::shared_ptr<Connection>> handshaking;
    std::multimap<PublicKey, std::shared_ptr<Session>> sessions;
    std::map<std::string, std::size_t> per_account;
    std::map<std::string, std::shared_ptr<RateLimiter>> account_limits;
    std::map<wire::ForwardSession, PendingForward> forwards;
    std::vector<std::weak_ptr<Splice>> splices;
    ServerStats counters;
    Timer maintain_timer;
    bool maintaining = false;

    // relay_server.cc: connections, sessions, requests, upkeep
    std::shared_ptr<void> count_connection();

    // Each connection gets its own receive limit (a device cannot take a
    // larger share by opening more connections: those count against its
    // account's connection cap and rate).
    ConnectionOptions connection_options() const;
    static Result<void> authorize(const PeerIdentity& peer);
    void release_unauthenticated(const std::string& source);

    // Whether a new connection from `source` is within the limits; if so it
    // counts as unauthenticated until release_unauthenticated(source).
    bool admit(const std::string& source);
    void accepted(tcp::socket socket);
    void accepted(std::unique_ptr<ByteStream> stream, const std::string& source);
    void start_maintaining();

    // A device connection (the forwarding preamble is ruled out): the
    // handshake, RelayHello by `hello_by`, then its requests. It counts as
    // unauthenticated for `source` until the hello is settled.
    static asio::awaitable<void> serve_device(std::shared_ptr<Impl> self,
                                              std::unique_ptr<ByteStream> stream,
                                              std::shared_ptr<void> counted, std::string source,
                                              MonotonicClock::time_point hello_by);
    asio::awaitable<std::optional<std::shared_ptr<Session>>> authenticate(
        std::shared_ptr<Connection> connection);
    void end_session(const std::shared_ptr<Session>& session);
    asio::awaitable<void> serve_session(std::shared_ptr<Session> session);
    std::shared_ptr<RateLimiter> account_limit(const std::string& account);
    static asio::awaitable<void> handle_request(std::shared_ptr<Impl> self,
                                                std::shared_ptr<Session> session,
                                                wire::Message request);
    void notify(const PublicKey& device);
    static asio::awaitable<void> maintain_loop(std::shared_ptr<Impl> self);
    void write_status() const;
    void stop();

    // relay_forward.cc: telling forwarded sockets from devices, joining them
    static std::shared_ptr<void> count_forward(const std::shared_ptr<Session>& session);

    // Tells a forwarding preamble from a handshake, then serves either.
    static asio::awaitable<void> serve_socket(std::shared_ptr<Impl> self, OpenSocket open,
                                              std::string source);
    void start_forward(const std::shared_ptr<Session>& from, const wire::ForwardRequest& request);
    void forward_arrived(const wire::ForwardSession& id, OpenSocket open);

    // Copies one direction until either side ends; then closes both (the
    // other pump ends too, and the last one out counts the pair done).
    static asio::awaitable<void> pump(std::shared_ptr<Impl> self, std::shared_ptr<Splice> splice,
                                      tcp::socket& from, tcp::socket& to);
};

}  // namespace ferry::relay
