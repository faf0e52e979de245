#include "cli/control_server.hh"

#include <cerrno>
#include <cstring>
#include <list>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/read_until.hpp>
#include <asio/redirect_error.hpp>
#include <asio/streambuf.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/control.hh"

namespace ferry::cli {

using asio::local::stream_protocol;

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& io, std::string path, ControlHandler handler)
        : acceptor(io), path(std::move(path)), handler(std::move(handler)) {}

    stream_protocol::acceptor acceptor;
    std::string path;
    ControlHandler handler;
    std::list<std::shared_ptr<stream_protocol::socket>> clients;
    bool stopped = false;

    asio::awaitable<void> accept_loop() {
        auto self = shared_from_this();
        while (!stopped) {
            std::error_code ec;
            stream_protocol::socket socket = co_await acceptor.async_accept(
                asio::redirect_error(asio::use_awaitable, ec));
            if (ec) {
                if (stopped || ec == asio::error::operation_aborted) co_return;
                continue;  // e.g. EMFILE: keep serving the connections we have
            }
            auto client = std::make_shared<stream_protocol::socket>(std::move(socket));
            clients.push_back(client);
            asio::co_spawn(acceptor.get_executor(), serve(client), asio::detached);
        }
    }

    asio::awaitable<void> serve(std::shared_ptr<stream_protocol::socket> client) {
        auto self = shared_from_this();
        asio::streambuf input(kMaxRequestBytes + 1);
        for (;;) {
            std::error_code ec;
            const std::size_t n = co_await asio::async_read_until(
                *client, input, '\n', asio::redirect_error(asio::use_awaitable, ec));
            nlohmann::json answer;
            bool close_after = false;
            if (ec == asio::error::not_found) {
                answer = control_error("the request is longer than " +
                                       std::to_string(kMaxRequestBytes) + " bytes");
                close_after = true;
            } else if (ec) {
                break;  // the client went away
            } else {
                std::string line(asio::buffers_begin(input.data()),
                                 asio::buffers_begin(input.data()) +
                                     static_cast<std::ptrdiff_t>(n - 1));
                input.consume(n);
                nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
                if (request.is_discarded() || !request.is_object() || !request.contains("cmd") ||
                    !request["cmd"].is_string()) {
                    answer = control_error("the request is not a JSON object with a \"cmd\"");
                    close_after = true;
                } else {
                    try {
                        answer = co_await handler(request);
                    } catch (const std::exception& bug) {  // nlohmann type errors in handlers
                        answer = control_error(std::string("bad request: ") + bug.what());
                    }
                }
            }
            if (stopped) break;
            const std::string out = answer.dump() + "\n";
            co_await asio::async_write(*client, asio::buffer(out),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec || close_after) break;
        }
        std::error_code ignored;
        client->close(ignored);
        clients.remove(client);
    }
};

Result<std::unique_ptr<ControlServer>> ControlServer::start(asio::io_context& io,
                                                            std::string path,
                                                            ControlHandler handler) {
    auto impl = std::make_shared<Impl>(io, path, std::move(handler));
    ::unlink(path.c_str());  // a stale socket of a daemon that died; we hold the home's lock
    std::error_code ec;
    impl->acceptor.open(stream_protocol(), ec);
    if (!ec) {
        // Created 0600 from the start: no window in which others may connect.
        const mode_t old_mask = ::umask(0177);
        impl->acceptor.bind(stream_protocol::endpoint(path), ec);
        ::umask(old_mask);
    }
    if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        return fail(Errc::io, "cannot listen on the control socket " + path + ": " + ec.message());
    }
    asio::co_spawn(io, impl->accept_loop(), asio::detached);
    return std::unique_ptr<ControlServer>(new ControlServer(std::move(impl)));
}

ControlServer::ControlServer(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}

ControlServer::~ControlServer() {
    stop();
}

void ControlServer::stop() {
    if (m_impl->stopped) return;
    m_impl->stopped = true;
    std::error_code ignored;
    m_impl->acceptor.close(ignored);
    for (auto& client : m_impl->clients) client->close(ignored);
    ::unlink(m_impl->path.c_str());
}

nlohmann::json control_error(const std::string& message, const std::string& hint) {
    nlohmann::json out = {{"ok", false}, {"error", message}};
    if (!hint.empty()) out["hint"] = hint;
    return out;
}

}  // namespace ferry::cli
