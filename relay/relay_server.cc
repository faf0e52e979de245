#include "relay/relay_server.hh"

#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <unistd.h>
#include <utility>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <nlohmann/json.hpp>

#include "crypto/key_file.hh"
#include "crypto/random.hh"
#include "net/async.hh"
#include "net/byte_stream.hh"
#include "net/clock.hh"
#include "net/connection.hh"
#include "net/monotonic_time.hh"
#include "net/rate_limiter.hh"
#include "net/tcp_socket.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete when it
// inlines them (as in net/peer_manager.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::relay {

namespace {

using asio::ip::tcp;

constexpr std::string_view kForwardMagic = "FERRYFWD";
constexpr std::size_t kPreambleBytes = 8 + 32;
constexpr std::size_t kPumpBuffer = 64 * 1024;

// An authenticated device connection.
struct Session {
    DeviceSession device;
    std::shared_ptr<Connection> connection;
    std::size_t in_flight = 0;        // requests being handled
    std::size_t bytes_in_flight = 0;  // their bytes_held()
    std::shared_ptr<Signal> slot;     // fired when a request finishes
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
    std::shared_ptr<void> counted;  // the requester's share of forwards_pending
    std::optional<OpenSocket> parked;  // the side that came first
    std::shared_ptr<Timer> expiry;
};

// Sends, and closes the connection if the device does not take the frame
// within `limit` (a client that stops reading must not hold the relay).
asio::awaitable<void> send_or_close(std::shared_ptr<Connection> connection, wire::Message message,
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

std::string source_of(const tcp::socket& socket) {
    std::error_code ec;
    const auto remote = socket.remote_endpoint(ec);
    return ec ? std::string("?") : remote.address().to_string();
}

// Bytes a request asks the relay to store (for the per-account rate).
std::size_t stored_bytes(const wire::Message& message) {
    if (const auto* put = std::get_if<wire::ChunkPut>(&message)) return put->data.size();
    if (const auto* post = std::get_if<wire::MailboxPost>(&message))
        return post->payload.size() * post->recipients.size();
    return 0;
}

// The chunk and payload bytes handling `message` holds here: what it
// stores, or for a ChunkGet the largest chunk it may read.
std::size_t bytes_held(const wire::Message& message) {
    if (std::holds_alternative<wire::ChunkGet>(message)) return wire::kMaxSealedChunk;
    if (const auto* post = std::get_if<wire::MailboxPost>(&message)) return post->payload.size();
    return stored_bytes(message);
}

}  // namespace

struct RelayServer::Impl : std::enable_shared_from_this<RelayServer::Impl> {
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

    std::shared_ptr<void> count_connection() {
        ++counters.connections;
        std::weak_ptr<Impl> weak = weak_from_this();
        return std::shared_ptr<void>(nullptr, [weak](void*) {
            if (auto self = weak.lock()) --self->counters.connections;
        });
    }

    static std::shared_ptr<void> count_forward(const std::shared_ptr<Session>& session) {
        ++session->forwards_pending;
        std::weak_ptr<Session> weak = session;
        return std::shared_ptr<void>(nullptr, [weak](void*) {
            if (auto s = weak.lock()) --s->forwards_pending;
        });
    }

    // Each connection gets its own receive limit (a device cannot take a
    // larger share by opening more connections: those count against its
    // account's connection cap and rate).
    ConnectionOptions connection_options() const {
        ConnectionOptions o;
        o.handshake_timeout = options.hello_timeout;
        o.ping_interval = options.ping_interval;
        o.idle_timeout = options.idle_timeout;
        if (options.connection_bytes_per_second > 0)
            o.receive_limit = std::make_shared<RateLimiter>(options.connection_bytes_per_second);
        return o;
    }

    static Result<void> authorize(const PeerIdentity& peer) {
        if (!peer.certificate) return fail(Errc::permission_denied, "a relay takes no invites");
        if (peer.certificate->device_key != peer.device_key)
            return fail(Errc::permission_denied, "certificate of another device");
        return peer.certificate->verify(peer.certificate->user_key);
    }

    void release_unauthenticated(const std::string& source) {
        auto it = unauthenticated.find(source);
        if (it != unauthenticated.end() && --it->second == 0) unauthenticated.erase(it);
    }

    // Whether a new connection from `source` is within the limits; if so it
    // counts as unauthenticated until release_unauthenticated(source).
    bool admit(const std::string& source) {
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

    void accepted(tcp::socket socket) {
        const std::string source = source_of(socket);
        if (!admit(source)) {
            std::error_code ignored;
            socket.close(ignored);
            return;
        }
        OpenSocket open{std::move(socket), count_connection()};
        asio::co_spawn(io, serve_socket(shared_from_this(), std::move(open), source),
                       asio::detached);
    }

    void accepted(std::unique_ptr<ByteStream> stream, const std::string& source) {
        if (!admit(source)) {
            stream->close();
            return;
        }
        start_maintaining();
        const auto hello_by = MonotonicClock::now() + options.hello_timeout;
        asio::co_spawn(io,
                       serve_device(shared_from_this(), std::move(stream), count_connection(),
                                    source, hello_by),
                       asio::detached);
    }

    void start_maintaining() {
        if (maintaining) return;
        maintaining = true;
        write_status();
        asio::co_spawn(io, maintain_loop(shared_from_this()), asio::detached);
    }

    // Tells a forwarding preamble from a handshake, then serves either.
    static asio::awaitable<void> serve_socket(std::shared_ptr<Impl> self, OpenSocket open,
                                              std::string source) {
        bool released = false;
        const auto release = [&] {
            if (!released) self->release_unauthenticated(source);
            released = true;
        };
        // The deadline closes the socket unless the reads below are over
        // (`settled`): a handler already queued when cancel() runs would
        // otherwise close a socket this frame no longer holds.
        struct Deadline {
            Timer timer;
            bool settled = false;
            bool fired = false;
        };
        auto deadline = std::make_shared<Deadline>(
            Deadline{Timer(self->io, self->options.hello_timeout)});
        const auto settle = [&deadline] {
            deadline->settled = true;
            deadline->timer.cancel();
        };
        tcp::socket* const socket = &open.socket;
        deadline->timer.async_wait([socket, deadline](std::error_code error) {
            if (error || deadline->settled) return;
            deadline->fired = true;
            std::error_code ignored;
            socket->close(ignored);
        });
        std::vector<std::uint8_t> head(4);
        std::error_code ec;
        co_await asio::async_read(open.socket, asio::buffer(head),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (!ec && std::string_view(reinterpret_cast<const char*>(head.data()), 4) ==
                       kForwardMagic.substr(0, 4)) {
            head.resize(kPreambleBytes);
            co_await asio::async_read(open.socket, asio::buffer(head.data() + 4, head.size() - 4),
                                      asio::redirect_error(asio::use_awaitable, ec));
            settle();
            release();
            if (ec || self->stopped ||
                std::string_view(reinterpret_cast<const char*>(head.data()), 8) != kForwardMagic) {
                ++self->counters.refused;
                co_return;
            }
            wire::ForwardSession session{};
            std::copy(head.begin() + 8, head.end(), session.begin());
            self->forward_arrived(session, std::move(open));
            co_return;
        }
        settle();
        if (ec || self->stopped) {
            release();
            if (deadline->fired) ++self->counters.refused;  // silent past hello_timeout
            co_return;
        }
        // The handshake has its own timeout; the hello gets what is left.
        const auto hello_by = MonotonicClock::now() + self->options.hello_timeout;
        std::unique_ptr<ByteStream> stream = make_tcp_stream(std::move(open.socket), std::move(head));
        std::shared_ptr<void> counted = std::move(open.counted);
        co_await serve_device(self, std::move(stream), std::move(counted), source, hello_by);
    }

    // A device connection (the forwarding preamble is ruled out): the
    // handshake, RelayHello by `hello_by`, then its requests. It counts as
    // unauthenticated for `source` until the hello is settled.
    static asio::awaitable<void> serve_device(std::shared_ptr<Impl> self,
                                              std::unique_ptr<ByteStream> stream,
                                              std::shared_ptr<void> counted, std::string source,
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

    asio::awaitable<std::optional<std::shared_ptr<Session>>> authenticate(
        std::shared_ptr<Connection> connection) {
        auto first = co_await connection->receive();
        if (!first) co_return std::nullopt;
        const auto* hello = std::get_if<wire::RelayHello>(&*first);
        if (hello == nullptr) {
            connection->close("protocol error: expected RelayHello");
            co_return std::nullopt;
        }
        auto work = [&service = service, certificate = *connection->peer().certificate,
                     h = *hello] { return service.hello(certificate, h); };
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

    void end_session(const std::shared_ptr<Session>& session) {
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

    asio::awaitable<void> serve_session(std::shared_ptr<Session> session) {
        while (!stopped) {
            while (session->in_flight >= options.max_requests_in_flight ||
                   (session->in_flight > 0 &&
                    session->bytes_in_flight >= options.max_bytes_in_flight)) {
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

    std::shared_ptr<RateLimiter> account_limit(const std::string& account) {
        auto& limiter = account_limits[account];
        if (!limiter) limiter = std::make_shared<RateLimiter>(options.account_bytes_per_second);
        return limiter;
    }

    static asio::awaitable<void> handle_request(std::shared_ptr<Impl> self,
                                                std::shared_ptr<Session> session,
                                                wire::Message request) {
        const std::size_t bytes = stored_bytes(request);
        const std::size_t held = bytes_held(request);
        if (bytes > 0 && self->options.account_bytes_per_second > 0) {
            auto limiter = self->account_limit(session->device.account);
            Timer wait(self->io);
            co_await limiter->acquire(bytes, wait);
        }
        auto work = [&service = self->service, device = session->device,
                     r = std::move(request)] {
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

    void notify(const PublicKey& device) {
        auto range = sessions.equal_range(device);
        for (auto it = range.first; it != range.second; ++it)
            asio::co_spawn(io, send_or_close(it->second->connection, wire::MailboxNotify{},
                                         options.reply_timeout),
                           asio::detached);
    }

    void start_forward(const std::shared_ptr<Session>& from, const wire::ForwardRequest& request) {
        wire::ForwardReply reply;
        reply.id = request.id;
        std::shared_ptr<Session> target;
        auto range = sessions.equal_range(request.target);
        for (auto it = range.first; it != range.second; ++it)
            if (it->second->device.account == from->device.account) target = it->second;
        if (request.target == from->device.device_key) {
            reply.code = wire::RelayCode::refused;
            reply.message = "a device cannot forward to itself";
        } else if (!target) {
            reply.code = wire::RelayCode::not_found;
            reply.message = "device " + DeviceId::from_public_key(request.target).to_string() +
                            " is not connected to this relay";
        } else if (from->forwards_pending >= options.max_pending_forwards) {
            reply.code = wire::RelayCode::refused;
            reply.message = "too many forwarding sessions pending (at most " +
                            std::to_string(options.max_pending_forwards) + " per connection)";
        } else {
            wire::ForwardSession id{};
            random_bytes(id);
            PendingForward pending;
            pending.account = from->device.account;
            pending.counted = count_forward(from);
            pending.expiry = std::make_shared<Timer>(io, options.forward_wait);
            std::weak_ptr<Impl> weak = weak_from_this();
            pending.expiry->async_wait([weak, id](std::error_code error) {
                auto self = weak.lock();
                if (error || !self) return;
                self->forwards.erase(id);  // closes a parked side
            });
            forwards.emplace(id, std::move(pending));
            reply.session = id;
            asio::co_spawn(io,
                           send_or_close(target->connection,
                                         wire::ForwardOffer{id, from->device.device_key},
                                         options.reply_timeout),
                           asio::detached);
        }
        asio::co_spawn(io, send_or_close(from->connection, std::move(reply), options.reply_timeout),
                       asio::detached);
    }

    void forward_arrived(const wire::ForwardSession& id, OpenSocket open) {
        auto it = forwards.find(id);
        if (it == forwards.end()) {
            ++counters.refused;
            return;  // unknown or expired: the socket closes
        }
        if (!it->second.parked) {
            it->second.parked = std::move(open);
            return;
        }
        auto splice = std::make_shared<Splice>(
            Splice{std::move(*it->second.parked), std::move(open)});
        it->second.expiry->cancel();
        forwards.erase(it);
        std::erase_if(splices, [](const auto& weak) { return weak.expired(); });
        splices.push_back(splice);
        ++counters.forwarding;
        auto self = shared_from_this();
        asio::co_spawn(io, pump(self, splice, splice->a.socket, splice->b.socket), asio::detached);
        asio::co_spawn(io, pump(self, splice, splice->b.socket, splice->a.socket), asio::detached);
    }

    // Copies one direction until either side ends; then closes both (the
    // other pump ends too, and the last one out counts the pair done).
    static asio::awaitable<void> pump(std::shared_ptr<Impl> self, std::shared_ptr<Splice> splice,
                                      tcp::socket& from, tcp::socket& to) {
        std::vector<std::uint8_t> buffer(kPumpBuffer);
        for (;;) {
            std::error_code ec;
            const std::size_t n = co_await from.async_read_some(
                asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                                       asio::redirect_error(asio::use_awaitable, ec));
            if (ec) break;
            self->counters.forwarded_bytes += n;
        }
        const bool first_out = splice->a.socket.is_open() && splice->b.socket.is_open();
        splice->close();
        if (first_out) --self->counters.forwarding;
    }

    static asio::awaitable<void> maintain_loop(std::shared_ptr<Impl> self) {
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
                if (!done.second[i]) current[i]->connection->close("refused: device revoked or account removed");
            if (done.first)
                for (const PublicKey& key : *done.first) self->notify(key);
            self->write_status();
        }
    }

    void write_status() const {
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

    void stop() {
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
};

RelayServer::RelayServer(asio::io_context& io, asio::any_io_executor workers,
                         const RelayIdentity& identity, RelayService& service,
                         ServerOptions options)
    : m_impl(std::make_shared<Impl>(io, workers, identity, service, std::move(options))) {}

RelayServer::~RelayServer() { m_impl->stop(); }

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

ServerStats RelayServer::stats() const { return m_impl->counters; }

void RelayServer::stop() { m_impl->stop(); }

}  // namespace ferry::relay
