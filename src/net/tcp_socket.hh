// Opening TCP sockets from "host:port" text (net/byte_stream.hh
// split_address()): a listener, and a dial bounded in time. Shared by the
// peer manager, the relay server and the relay client.
//
// Thread rule: call on the io_context's thread. Failures: Errc::invalid_argument
// for malformed addresses (a listener's host must be an IP address or empty
// for any), Errc::io naming the address and the step that failed.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include "core/error.hh"

namespace ferry {

struct Listener {
    std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
    std::string bound;  // the address it listens on ("127.0.0.1:41234" for port 0)
};

Result<Listener> open_listener(asio::io_context& io, const std::string& address);

// Accepts connections until `stopped()` says so (checked after each
// accept; closing the acceptor ends the wait), handing each socket to
// `accepted`. A failed accept (out of descriptors, ...) waits `pause`
// instead of spinning.
asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor,
                                  std::function<bool()> stopped,
                                  std::function<void(asio::ip::tcp::socket)> accepted,
                                  std::chrono::milliseconds pause);

// open_listener(), then accept_loop() on `io`.
Result<Listener> listen_and_accept(asio::io_context& io, const std::string& address,
                                   std::function<bool()> stopped,
                                   std::function<void(asio::ip::tcp::socket)> accepted,
                                   std::chrono::milliseconds pause);

// Lets the owner of a dial_tcp() in progress abort it (stop, forget):
// cancel() closes the socket being connected, and the dial fails.
class DialCancel {
public:
    void cancel();
    bool cancelled() const { return m_cancelled; }

private:
    friend asio::awaitable<Result<asio::ip::tcp::socket>> dial_tcp(
        const std::string&, std::chrono::milliseconds, std::shared_ptr<DialCancel>);
    std::function<void()> m_close_attempt;
    bool m_cancelled = false;
};

// Resolves `address` and connects to the first of its endpoints that
// answers, each attempt bounded by `timeout`.
asio::awaitable<Result<asio::ip::tcp::socket>> dial_tcp(
    const std::string& address, std::chrono::milliseconds timeout,
    std::shared_ptr<DialCancel> cancel = nullptr);

}  // namespace ferry
