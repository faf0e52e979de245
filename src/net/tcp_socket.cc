#include "net/tcp_socket.hh"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "net/byte_stream.hh"
#include "net/monotonic_time.hh"

namespace ferry {

using asio::ip::tcp;

Result<Listener> open_listener(asio::io_context& io, const std::string& address) {
    auto parts = split_address(address);
    if (!parts) return tl::unexpected(parts.error());
    std::error_code ec;
    const asio::ip::address ip =
        parts->host.empty() ? asio::ip::address(asio::ip::address_v4::any())
                            : asio::ip::make_address(parts->host, ec);
    if (ec) {
        return fail(Errc::invalid_argument,
                    "listen address \"" + address + "\": the host must be an IP address");
    }
    const tcp::endpoint endpoint(ip, parts->port);
    auto acceptor = std::make_shared<tcp::acceptor>(io);
    const auto failed = [&](const char* step) {
        return fail(Errc::io, "cannot listen on " + address + ": " + step + ": " + ec.message());
    };
    acceptor->open(endpoint.protocol(), ec);
    if (ec) return failed("open");
    acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
    if (ec) return failed("reuse address");
    acceptor->bind(endpoint, ec);
    if (ec) return failed("bind");
    acceptor->listen(tcp::acceptor::max_listen_connections, ec);
    if (ec) return failed("listen");
    const tcp::endpoint local = acceptor->local_endpoint(ec);
    if (ec) return failed("local address");
    return Listener{std::move(acceptor), address_text(local)};
}

asio::awaitable<void> accept_loop(std::shared_ptr<tcp::acceptor> acceptor,
                                  std::function<bool()> stopped,
                                  std::function<void(tcp::socket)> accepted,
                                  std::chrono::milliseconds pause) {
    Timer wait(acceptor->get_executor());
    while (!stopped()) {
        std::error_code ec;
        tcp::socket socket =
            co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (stopped()) break;
        if (ec) {
            wait.expires_after(pause);
            co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            continue;
        }
        accepted(std::move(socket));
    }
}

Result<Listener> listen_and_accept(asio::io_context& io, const std::string& address,
                                   std::function<bool()> stopped,
                                   std::function<void(tcp::socket)> accepted,
                                   std::chrono::milliseconds pause) {
    auto listener = open_listener(io, address);
    if (!listener) return listener;
    asio::co_spawn(io,
                   accept_loop(listener->acceptor, std::move(stopped), std::move(accepted), pause),
                   asio::detached);
    return listener;
}

void DialCancel::cancel() {
    m_cancelled = true;
    if (m_close_attempt) m_close_attempt();
}

asio::awaitable<Result<tcp::socket>> dial_tcp(const std::string& address,
                                              std::chrono::milliseconds timeout,
                                              std::shared_ptr<DialCancel> cancel) {
    auto parts = split_address(address);
    if (!parts) co_return tl::unexpected(parts.error());
    const auto executor = co_await asio::this_coro::executor;
    tcp::resolver resolver(executor);
    std::error_code ec;
    const auto endpoints = co_await resolver.async_resolve(
        parts->host, std::to_string(parts->port), tcp::resolver::numeric_service,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail(Errc::io, address + ": cannot resolve: " + ec.message());
    Error last{Errc::io, address + ": no address to connect to"};
    for (const auto& endpoint : endpoints) {
        if (cancel && cancel->cancelled()) co_return fail(Errc::io, address + ": dial cancelled");
        // The deadline (or a cancel) closes the socket; the shared state keeps it valid.
        struct Attempt {
            explicit Attempt(const asio::any_io_executor& e) : socket(e), deadline(e) {}
            tcp::socket socket;
            Timer deadline;
        };
        auto attempt = std::make_shared<Attempt>(executor);
        std::weak_ptr<Attempt> weak = attempt;
        const auto close_attempt = [weak] {
            if (auto a = weak.lock()) {
                std::error_code ignored;
                a->socket.close(ignored);
            }
        };
        if (cancel) cancel->m_close_attempt = close_attempt;
        attempt->deadline.expires_after(timeout);
        attempt->deadline.async_wait([close_attempt](std::error_code waited) {
            if (!waited) close_attempt();
        });
        co_await attempt->socket.async_connect(endpoint.endpoint(),
                                               asio::redirect_error(asio::use_awaitable, ec));
        attempt->deadline.cancel();
        if (cancel) cancel->m_close_attempt = nullptr;
        if (ec) {
            last = Error{Errc::io,
                         address_text(endpoint.endpoint()) + ": connect: " + ec.message()};
            continue;
        }
        co_return std::move(attempt->socket);
    }
    co_return tl::unexpected(std::move(last));
}

}  // namespace ferry
