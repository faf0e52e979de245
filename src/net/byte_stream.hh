// Byte streams: what a connection runs over (TCP on a real network, an
// in-memory pipe in tests, later a relay-forwarded stream), so the protocol
// and the engine never depend on sockets.
//
// Thread rule: a stream belongs to one io_context and is used from its
// thread; at most one read and one write may be outstanding at a time.
// close() cancels pending operations (they complete with Errc::io) and is
// idempotent. Errors: Errc::io with a message naming the peer address
// ("127.0.0.1:22000: connection reset by peer"); end of stream while reading
// is Errc::io "closed by peer".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>

#include "core/error.hh"

namespace ferry {

class ByteStream {
public:
    virtual ~ByteStream() = default;
    // Fills `buffer` completely, or fails.
    virtual asio::awaitable<Result<void>> read_exact(std::span<std::uint8_t> buffer) = 0;
    virtual asio::awaitable<Result<void>> write_all(std::span<const std::uint8_t> data) = 0;
    virtual void close() = 0;
    // "host:port" of the other end, for messages and `ferry devices`.
    virtual std::string peer_address() const = 0;
};

// `already_read`: bytes the caller read from the socket before (to tell
// what kind of connection it is), returned first by read_exact().
std::unique_ptr<ByteStream> make_tcp_stream(asio::ip::tcp::socket socket,
                                            std::vector<std::uint8_t> already_read = {});

// Addresses as ferry writes them: "host:port", an IPv6 host in brackets
// ("[::1]:22000"). split_address() accepts a name or an IP for the host
// (empty: any address) and fails with Errc::invalid_argument naming the text.
struct HostPort {
    std::string host;
    std::uint16_t port = 0;
};
Result<HostPort> split_address(const std::string& address);
std::string address_text(const asio::ip::tcp::endpoint& endpoint);

// Two connected in-memory streams: what one writes the other reads. Each
// direction buffers at most `capacity` bytes (a writer waits beyond that),
// like a socket's buffers. Both ends run on one thread; each may have its
// own executor (two io_contexts of a simulation) and outlive the other's.
std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> make_memory_pipe(
    asio::any_io_executor executor, std::size_t capacity = 256 * 1024);
std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> make_memory_pipe(
    asio::any_io_executor a_executor, asio::any_io_executor b_executor,
    std::size_t capacity = 256 * 1024);

// Opens a byte stream to "host:port": TCP in the daemon, in-memory pipes in
// tests and the simulation.
using StreamDialer =
    std::function<asio::awaitable<Result<std::unique_ptr<ByteStream>>>(const std::string& address)>;

}  // namespace ferry
