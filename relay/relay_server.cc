#include "relay/relay_server.hh"

#include <utility>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "crypto/key_file.hh"
#include "net/clock.hh"
#include "net/tcp_socket.hh"
#include "relay/relay_server_impl.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete when it
// inlines them (as in net/peer_manager.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::relay {

using namespace server_detail;

asio::awaitable<void> server_detail::send_or_close(std::shared_ptr<Connection> connection,
                                                   wire::Message message,
                                                   std::chrono::milliseconds limit) {
    const auto executor = co_await asio::this_coro::executor;
    Timer deadline(executor, limit);
    std::weak_ptr<Connection> weak = connection;
    deadline.async_wait([weak](std::error_code error) {
        if (auto c = weak.lock(); c && !error) c->close("too slow: a reply was not read in time");
    });
    (void)co_await connection->send(message);
    deadline.cancel();
}

namespace {

std::string source_of(const tcp::socket& socket) {
    std::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    return ec ? std::string("?") : remote.address().to_string();
}

// Bytes a request asks the relay to store (for the per-account rate).
std::size_t stored_bytes(const wire::Message& message) {
    if (const auto* put = std::get_if<wire::ChunkPut>(&message)) {
        std::size_t bytes = 0;
        for (const wire::SealedChunk& chunk : put->chunks) bytes += chunk.data.size();
        return bytes;
    }
    if (const auto* post = std::get_if<wire::MailboxPost>(&message))
        return post->payload.size() * post->recipients.size();
    return 0;
}

// The chunk and payload bytes handling `message` holds here: what it
// stores, or for a ChunkGet the largest chunks it may read.
std::size_t bytes_held(const wire::Message& message) {
    if (const auto* get = std::get_if<wire::ChunkGet>(&message))
        return get->chunks.size() * wire::kMaxSealedChunk;
    if (const auto* post = std::get_if<wire::MailboxPost>(&message)) return post->payload.size();
    return stored_bytes(message);
}

}  // namespace

std::shared_ptr<void> RelayServer::Impl::count_connection() {
    ++counters.connections;
    std::weak_ptr<Impl> weak = weak_from_this();
    return std::shared_ptr<void>(nullptr, [weak](void*) {
        if (auto self = weak.lock()) --self->counters.connections;
    });
}

ConnectionOptions RelayServer::Impl::connection_options() const {
    ConnectionOptions o;
    o.handshake_timeout = options.hello_timeout;
    o.ping_interval = options.ping_interval;
    o.idle_timeout = options.idle_timeout;
    if (options.connection_bytes_per_second > 0)
        o.receive_limit = std::make_shared<RateLimiter>(options.connection_bytes_per_second);
    return o;
}

Result<void> RelayServer::Impl::authorize(const PeerIdentity& peer) {
    if (!peer.certificate) return fail(Errc::permission_denied, "a relay takes no invites");
    if (peer.certificate->device_key != peer.device_key)
        return fail(Errc::permission_denied, "certificate of another device");
    return peer.certificate->verify(peer.certificate->user_key);
}

void RelayServer::Impl::release_unauthenticated(const std::string& source) {
    auto it = unauthenticated.find(source);
    if (it != unauthenticated.end() && --it->second == 0) unauthenticated.erase(it);
}

bool RelayServer::Impl::admit(const std::string& source) {
    std::size_t& waiting = unauthenticated[source];
    if (stopped || counters.connections >= options.max_connections ||
        waiting >= options.max_unauthenticated_per_address) {
        if (waiting == 0) unauthenticated.erase(source);
        ++counters.refused;
        return false;
    }
    ++waiting;
    return true;
}

void RelayServer::Impl::accepted(tcp::socket socket) {
    const std::string source = source_of(socket);
    if (!admit(source)) {
        std::error_code ignored;
        socket.close(ignored);
        return;
    }
    OpenSocket open{std::move(socket), count_connection()};
    asio::co_spawn(io, serve_socket(shared_from_this(), std::move(open), source), asio::detached);
}

void RelayServer::Impl::accepted(std::unique_ptr<ByteStream> stream, const std::string& source) {
    if (!admit(source)) {
        stream->close();
        return;
    }
    start_maintaining();
    const auto hello_by = MonotonicClock::now() + options.hello_timeout;
    asio::co_spawn(
        io,
        serve_device(shared_from_this(), std::move(stream), count_connection(), source, hello_by),
        asio::detached);
}

void RelayServer::Impl::start_maintaining() {
    if (maintaining) return;
    maintaining = true;
    write_status();
    asio::co_spawn(io, maintain_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> RelayServer::Impl::serve_device(std::shared_ptr<Impl> self,
                                                      std::unique_ptr<ByteStream> stream,
                                                      std::shared_ptr<void> counted,
                                                      std::string source,
                                                      MonotonicClock::time_point hello_by) {
    bool released = false;
    const auto release = [&] {
        if (!released) self->release_unauthenticated(source);
        released = true;
    };
    auto accepted = co_await Connection::accept(std::move(stream), self->identity.key,
                                                self->identity.certificate, &Impl::authorize,
                                                self->connection_options());
    if (!accepted || self->stopped) {
        release();
        ++self->counters.refused;
        co_return;
    }
    std::shared_ptr<Connection> connection = std::move(*accepted);
    self->handshaking.insert(connection);
    auto hello_deadline = std::make_shared<Timer>(self->io, hello_by);
    std::weak_ptr<Connection> weak = connection;
    hello_deadline->async_wait([weak](std::error_code error) {
        if (auto c = weak.lock(); c && !error) c->close("no RelayHello in time");
    });
    auto session = co_await self->authenticate(connection);
    hello_deadline->cancel();
    self->handshaking.erase(connection);
    release();
    if (!session) {
        ++self->counters.refused;
        co_return;
    }
    co_await self->serve_session(*session);
    (void)counted;
}

asio::awaitable<std::optional<std::shared_ptr<Session>>> RelayServer::Impl::authenticate(
    std::shared_ptr<Connection> connection) {
    auto first = co_await connection->receive();
    if (!first) co_return std::nullopt;
    const auto* hello = std::get_if<wire::RelayHello>(&*first);
    if (hello == nullptr) {
        connection->close("protocol error: expected RelayHello");
        co_return std::nullopt;
    }
    auto work = [&service = service, certificate = *connection->peer().certificate, h = *hello] {
        return service.hello(certificate, h);
    };
    auto welcomed = co_await offload(workers, std::move(work));
    if (!welcomed) {
        connection->close("refused: " + welcomed.error().message);
        co_return std::nullopt;
    }
    if (stopped || !connection->is_open()) co_return std::nullopt;
    const std::string& account = welcomed->first.account;
    if (auto it = per_account.find(account);
        it != per_account.end() && it->second >= options.max_connections_per_account) {
        connection->close("refused: too many connections for account " + account);
        co_return std::nullopt;
    }
    auto session = std::make_shared<Session>();
    session->device = welcomed->first;
    session->connection = connection;
    session->slot = std::make_shared<Signal>(io.get_executor());
    ++per_account[account];
    sessions.emplace(session->device.device_key, session);
    ++counters.authenticated;
    wire::Message welcome = std::move(welcomed->second);
    co_await send_or_close(connection, std::move(welcome), options.reply_timeout);
    co_return session;
}

void RelayServer::Impl::end_session(const std::shared_ptr<Session>& session) {
    auto range = sessions.equal_range(session->device.device_key);
    for (auto it = range.first; it != range.second; ++it) {
        if (it->second == session) {
            sessions.erase(it);
            --counters.authenticated;
            if (auto a = per_account.find(session->device.account);
                a != per_account.end() && --a->second == 0) {
                per_account.erase(a);
                account_limits.erase(session->device.account);
            }
            break;
        }
    }
    session->connection->close("closed");
}

asio::awaitable<void> RelayServer::Impl::serve_session(std::shared_ptr<Session> session) {
    while (!stopped) {
        while (
            session->in_flight >= options.max_requests_in_flight ||
            (session->in_flight > 0 && session->bytes_in_flight >= options.max_bytes_in_flight)) {
            session->slot->reset();
            co_await session->slot->wait();
        }
        auto message = co_await session->connection->receive();
        if (!message || stopped) break;
        if (auto* forward = std::get_if<wire::ForwardRequest>(&*message)) {
            start_forward(session, *forward);
        } else if (std::holds_alternative<wire::Close>(*message)) {
            break;
        } else {
            ++session->in_flight;
            session->bytes_in_flight += bytes_held(*message);
            asio::co_spawn(io, handle_request(shared_from_this(), session, std::move(*message)),
                           asio::detached);
        }
    }
    end_session(session);
}

std::shared_ptr<RateLimiter> RelayServer::Impl::account_limit(const std::string& account) {
    auto& limiter = account_limits[account];
    if (!limiter) limiter = std::make_shared<RateLimiter>(options.account_bytes_per_second);
    return limiter;
}

asio::awaitable<void> RelayServer::Impl::handle_request(std::shared_ptr<Impl> self,
                                                        std::shared_ptr<Session> session,
                                                        wire::Message request) {
    const std::size_t bytes = stored_bytes(request);
    const std::size_t held = bytes_held(request);
    if (bytes > 0 && self->options.account_bytes_per_second > 0) {
        auto limiter = self->account_limit(session->device.account);
        Timer wait(self->io);
        co_await limiter->acquire(bytes, wait);
    }
    auto work = [&service = self->service, device = session->device, r = std::move(request)] {
        std::vector<PublicKey> posted;
        wire::Message reply =
            service.handle(device, r, [&](const PublicKey& key) { posted.push_back(key); });
        return std::make_pair(std::move(reply), std::move(posted));
    };
    auto handled = co_await offload(self->workers, std::move(work));
    if (!self->stopped)
        co_await send_or_close(session->connection, std::move(handled.first),
                               self->options.reply_timeout);
    --session->in_flight;
    session->bytes_in_flight -= held;
    session->slot->fire();
    for (const PublicKey& key : handled.second) self->notify(key);
}

void RelayServer::Impl::notify(const PublicKey& device) {
    auto range = sessions.equal_range(device);
    for (auto it = range.first; it != range.second; ++it)
        asio::co_spawn(
            io, send_or_close(it->second->connection, wire::MailboxNotify{}, options.reply_timeout),
            asio::detached);
}

asio::awaitable<void> RelayServer::Impl::maintain_loop(std::shared_ptr<Impl> self) {
    while (!self->stopped) {
        self->maintain_timer.expires_after(self->options.maintain_interval);
        std::error_code ec;
        co_await self->maintain_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (self->stopped) break;
        std::vector<std::shared_ptr<Session>> current;
        for (const auto& [key, session] : self->sessions) current.push_back(session);
        std::vector<DeviceSession> devices;
        for (const auto& session : current) devices.push_back(session->device);
        auto work = [&service = self->service, devices = std::move(devices)] {
            auto noticed = service.maintain();
            std::vector<bool> allowed;
            for (const DeviceSession& device : devices) allowed.push_back(service.allowed(device));
            return std::make_pair(std::move(noticed), std::move(allowed));
        };
        auto done = co_await offload(self->workers, std::move(work));
        if (self->stopped) break;
        for (std::size_t i = 0; i < current.size(); ++i)
            if (!done.second[i])
                current[i]->connection->close("refused: device revoked or account removed");
        if (done.first)
            for (const PublicKey& key : *done.first) self->notify(key);
        self->write_status();
    }
}

void RelayServer::Impl::write_status() const {
    if (options.status_file.empty()) return;
    nlohmann::json status = {
        {"pid", static_cast<long>(::getpid())},
        {"updated_ns", SystemClock{}.now_ns()},
        {"listening", bound},
        {"connections", counters.connections},
        {"authenticated", counters.authenticated},
        {"forwarding", counters.forwarding},
        {"forwarded_bytes", counters.forwarded_bytes},
        {"refused", counters.refused},
    };
    (void)write_file_atomically(options.status_file, status.dump() + "\n");
}

void RelayServer::Impl::stop() {
    if (stopped) return;
    stopped = true;
    maintain_timer.cancel();
    std::error_code ignored;
    for (const auto& acceptor : acceptors) acceptor->close(ignored);
    for (const auto& connection : handshaking) connection->close("relay shutting down");
    for (const auto& [key, session] : sessions) session->connection->close("relay shutting down");
    forwards.clear();
    for (const auto& weak : splices)
        if (auto splice = weak.lock()) splice->close();
}

RelayServer::RelayServer(asio::io_context& io, asio::any_io_executor workers,
                         const RelayIdentity& identity, RelayService& service,
                         ServerOptions options)
    : m_impl(std::make_shared<Impl>(io, workers, identity, service, std::move(options))) {}

RelayServer::~RelayServer() {
    m_impl->stop();
}

Result<std::string> RelayServer::listen(const std::string& address) {
    std::weak_ptr<Impl> weak = m_impl;
    auto listener = listen_and_accept(
        m_impl->io, address,
        [weak] {
            auto self = weak.lock();
            return !self || self->stopped;
        },
        [weak](tcp::socket socket) {
            if (auto self = weak.lock()) self->accepted(std::move(socket));
        },
        std::chrono::milliseconds(100));
    if (!listener) return tl::unexpected(listener.error());
    m_impl->acceptors.push_back(listener->acceptor);
    m_impl->bound.push_back(listener->bound);
    m_impl->start_maintaining();
    return listener->bound;
}

void RelayServer::serve(std::unique_ptr<ByteStream> stream, const std::string& source) {
    m_impl->accepted(std::move(stream), source);
}

ServerStats RelayServer::stats() const {
    return m_impl->counters;
}

void RelayServer::stop() {
    m_impl->stop();
}

}  // namespace ferry::relay
