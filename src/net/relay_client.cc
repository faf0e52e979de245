// The relay client: one coroutine runs the dial loop and, while connected,
// the read loop that hands replies to the requests waiting for them.
//
// Every coroutine holds the Impl (shared_ptr), so stop() and the destructor
// only close things: each loop then sees `stopped` and ends. A waiting
// request is a Waiter in `waiting`, keyed by its id; whoever completes it
// (its reply, its deadline, a lost connection, stop) removes it first, so it
// completes once.
#include "net/relay_client.hh"

#include <map>
#include <random>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/async.hh"
#include "net/monotonic_time.hh"
#include "net/tcp_socket.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {
namespace {

using SteadyClock = MonotonicClock;
using wire::MessageType;

// A connection that stayed up this long resets the backoff.
constexpr std::chrono::seconds kLastingConnection{10};
constexpr std::string_view kForwardMagic = "FERRYFWD";

template <class T, class... Of>
constexpr bool is_one_of = (std::is_same_v<T, Of> || ...);

// The id field of a relay request; null for any other message.
std::uint32_t* request_id(wire::Message& message) {
    return std::visit(
        [](auto& m) -> std::uint32_t* {
            using T = std::decay_t<decltype(m)>;
            if constexpr (is_one_of<T, wire::ChunkPut, wire::ChunkHave, wire::ChunkGet,
                                    wire::MailboxPost, wire::MailboxFetch, wire::MailboxAck,
                                    wire::ForwardRequest>) {
                return &m.id;
            } else {
                return nullptr;
            }
        },
        message);
}

// The id a relay reply echoes; nullopt for any other message.
std::optional<std::uint32_t> reply_id(const wire::Message& message) {
    return std::visit(
        [](const auto& m) -> std::optional<std::uint32_t> {
            using T = std::decay_t<decltype(m)>;
            if constexpr (is_one_of<T, wire::RelayReply, wire::ChunkHaveReply, wire::ChunkData,
                                    wire::MailboxBatch, wire::ForwardReply>) {
                return m.id;
            } else {
                return std::nullopt;
            }
        },
        message);
}

// Whether `reply` may answer `request`: its own answer type, or the
// RelayReply the relay answers anything with when it refuses.
bool answers(MessageType request, MessageType reply) {
    if (reply == MessageType::relay_reply) return true;
    switch (request) {
        case MessageType::chunk_have: return reply == MessageType::chunk_have_reply;
        case MessageType::chunk_get: return reply == MessageType::chunk_data;
        case MessageType::mailbox_fetch: return reply == MessageType::mailbox_batch;
        case MessageType::forward_request: return reply == MessageType::forward_reply;
        default: return false;  // ChunkPut, MailboxPost, MailboxAck: RelayReply only
    }
}

Errc errc_of(wire::RelayCode code) {
    switch (code) {
        case wire::RelayCode::not_found: return Errc::not_found;
        case wire::RelayCode::refused: return Errc::permission_denied;
        default: return Errc::io;
    }
}

const char* name_of(const wire::Message& message) {
    return wire::message_type_name(wire::message_type(message));
}

asio::awaitable<void> sleep_on(Timer& timer, SteadyClock::duration duration) {
    timer.expires_after(duration);
    std::error_code ignored;  // cancelled: stopped
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// A request waiting for its reply.
struct Waiter {
    Waiter(const asio::any_io_executor& executor, MessageType request_type)
        : done(executor), deadline(executor), type(request_type) {}
    Signal done;
    Timer deadline;
    MessageType type;
    std::optional<Result<wire::Message>> result;
};

}  // namespace

struct RelayClient::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, const KeyPair& key, DeviceCertificate cert, RelayUrl relay,
         RelayClientHooks client_hooks, RelayClientOptions opts)
        : io(context),
          // An own copy: coroutines may outlive the caller's KeyPair.
          device(KeyPair::from_seed(key.seed())),
          certificate(std::move(cert)),
          url(std::move(relay)),
          where("relay " + url.address + ": "),
          hooks(std::move(client_hooks)),
          options(std::move(opts)),
          random(options.jitter_seed ? *options.jitter_seed : std::random_device{}()),
          wake(context) {}

    asio::io_context& io;
    const KeyPair device;
    const DeviceCertificate certificate;
    const RelayUrl url;
    const std::string where;  // message prefix
    const RelayClientHooks hooks;
    const RelayClientOptions options;
    std::mt19937_64 random;   // backoff jitter only
    Timer wake;  // the backoff sleep; stop() cancels it

    bool started = false;
    bool stopped = false;
    ByteStream* handshaking = nullptr;       // the stream inside Connection::initiate
    std::shared_ptr<DialCancel> dialing;     // the dial in progress
    std::shared_ptr<Connection> connection;  // from the handshake until it is lost
    RelayStatus state;
    std::uint32_t last_id = 0;
    std::map<std::uint32_t, std::shared_ptr<Waiter>> waiting;

    Authorizer authorizer() const {
        return [address = url.address,
                expected = url.relay_id](const PeerIdentity& peer) -> Result<void> {
            const DeviceId answered = peer.device_id();
            if (answered != expected) {
                return fail(Errc::permission_denied, "relay at " + address + " answered as " +
                                                         answered.to_string() + ", expected " +
                                                         expected.to_string());
            }
            return {};
        };
    }

    SteadyClock::duration jittered(std::chrono::milliseconds delay) {
        std::uniform_real_distribution<double> factor(0.75, 1.25);
        return std::chrono::duration_cast<SteadyClock::duration>(delay * factor(random));
    }

    std::uint32_t take_id() {
        do {
            ++last_id;
        } while (last_id == 0 || waiting.contains(last_id));
        return last_id;
    }

    // Completes the request waiting under `id` if it is `which` (null: any).
    void complete(std::uint32_t id, const Waiter* which, Result<wire::Message> result) {
        auto it = waiting.find(id);
        if (it == waiting.end() || (which != nullptr && it->second.get() != which)) return;
        std::shared_ptr<Waiter> waiter = std::move(it->second);
        waiting.erase(it);
        waiter->result = std::move(result);
        waiter->deadline.cancel();
        waiter->done.fire();
    }

    void fail_all(const Error& error) {
        std::vector<std::uint32_t> ids;
        for (const auto& [id, waiter] : waiting) ids.push_back(id);
        for (const std::uint32_t id : ids) complete(id, nullptr, tl::unexpected(error));
    }

    // The end of an attempt or a connection (never after stop()).
    void lost(const std::string& why) {
        if (connection) connection->close(why);
        connection.reset();
        state.connected = false;
        state.last_error = why;
        fail_all(Error{Errc::io, where + "connection lost: " + why});
        if (hooks.on_disconnected) hooks.on_disconnected(why);
    }

    static asio::awaitable<void> run(std::shared_ptr<Impl> self) {
        std::chrono::milliseconds delay = self->options.backoff_min;
        while (!self->stopped) {
            auto connected = co_await connect(self);
            if (self->stopped) break;
            if (connected) {
                const auto since = SteadyClock::now();
                const std::string why = co_await serve(self);
                if (self->stopped) break;
                self->lost(why);
                if (SteadyClock::now() - since >= kLastingConnection) {
                    delay = self->options.backoff_min;
                }
            } else {
                self->lost(connected.error().message);
            }
            co_await sleep_on(self->wake, self->jittered(delay));
            delay = std::min(delay * 2, self->options.backoff_max);
        }
    }

    // A stream to the relay: options.dial's, or TCP (`cancel` aborts it).
    static asio::awaitable<Result<std::unique_ptr<ByteStream>>> dial(
        std::shared_ptr<Impl> self, std::shared_ptr<DialCancel> cancel) {
        if (self->options.dial) co_return co_await self->options.dial(self->url.address);
        auto socket = co_await dial_tcp(self->url.address, self->options.dial_timeout, cancel);
        if (!socket) co_return tl::unexpected(socket.error());
        co_return make_tcp_stream(std::move(*socket));
    }

    // Dial, handshake, RelayHello, RelayWelcome: connected on success.
    static asio::awaitable<Result<void>> connect(std::shared_ptr<Impl> self) {
        auto cancel = std::make_shared<DialCancel>();
        self->dialing = cancel;
        auto dialed = co_await dial(self, cancel);
        if (self->dialing == cancel) self->dialing.reset();
        if (!dialed) co_return tl::unexpected(dialed.error());
        if (self->stopped) co_return fail(Errc::io, self->where + "client stopped");
        std::unique_ptr<ByteStream> stream = std::move(*dialed);
        self->handshaking = stream.get();
        Authorizer pinned = self->authorizer();
        auto opened =
            co_await Connection::initiate(std::move(stream), self->device, self->certificate,
                                          std::move(pinned), self->options.connection);
        self->handshaking = nullptr;
        if (!opened) co_return tl::unexpected(opened.error());
        self->connection = std::move(*opened);
        const std::shared_ptr<Connection> connection = self->connection;
        if (self->stopped) {
            connection->close("device disconnecting");
            co_return fail(Errc::io, self->where + "client stopped");
        }

        auto deadline =
            std::make_shared<Timer>(self->io, self->options.request_timeout);
        std::weak_ptr<Connection> weak = connection;
        deadline->async_wait(
            [weak, timeout = self->options.request_timeout](std::error_code error) {
                if (auto c = weak.lock(); c && !error) {
                    c->close("no RelayWelcome within " + std::to_string(timeout.count()) + " ms");
                }
            });
        const wire::Message hello = self->options.hello ? wire::Message(self->options.hello())
                                                        : wire::Message(wire::RelayHello{});
        const auto sent_at = SteadyClock::now();
        auto sent = co_await connection->send(hello);
        if (!sent) {
            deadline->cancel();
            co_return tl::unexpected(sent.error());
        }
        auto first = co_await connection->receive();
        deadline->cancel();
        if (!first) co_return tl::unexpected(first.error());
        if (self->stopped) co_return fail(Errc::io, self->where + "client stopped");
        const auto* welcome = std::get_if<wire::RelayWelcome>(&*first);
        if (welcome == nullptr) {
            co_return fail(
                Errc::corrupt,
                self->where + "protocol error: answered RelayHello with " + name_of(*first));
        }
        self->state.rtt =
            std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - sent_at);
        self->state.connected = true;
        self->state.account = welcome->account;
        self->state.used_bytes = welcome->used_bytes;
        self->state.quota_bytes = welcome->quota_bytes;
        if (self->hooks.on_connected) self->hooks.on_connected(*welcome);
        co_return Result<void>{};
    }

    // Reads until the connection ends; returns why it ended.
    static asio::awaitable<std::string> serve(std::shared_ptr<Impl> self) {
        const std::shared_ptr<Connection> connection = self->connection;
        for (;;) {
            auto message = co_await connection->receive();
            if (!message) co_return message.error().message;
            if (self->stopped) co_return std::string("client stopped");
            if (auto handled = self->dispatch(*message); !handled)
                co_return handled.error().message;
        }
    }

    Result<void> dispatch(wire::Message& message) {
        if (std::holds_alternative<wire::MailboxNotify>(message)) {
            if (hooks.on_notify) hooks.on_notify();
            return {};
        }
        if (const auto* offer = std::get_if<wire::ForwardOffer>(&message)) {
            if (hooks.on_forward_offer) hooks.on_forward_offer(*offer);
            return {};
        }
        const std::optional<std::uint32_t> id = reply_id(message);
        if (!id) {
            return fail(Errc::corrupt, where + "protocol error: unexpected " + name_of(message) +
                                           " from the relay");
        }
        if (const auto* reply = std::get_if<wire::RelayReply>(&message)) {
            state.used_bytes = reply->used_bytes;
            state.quota_bytes = reply->quota_bytes;
        }
        auto it = waiting.find(*id);
        if (it == waiting.end()) return {};  // its request gave up waiting
        const MessageType request_type = it->second->type;
        if (!answers(request_type, wire::message_type(message))) {
            complete(
                *id, nullptr,
                fail(Errc::corrupt, where + "answered " + wire::message_type_name(request_type) +
                                        " " + std::to_string(*id) + " with " + name_of(message)));
            return {};
        }
        complete(*id, nullptr, std::move(message));
        return {};
    }

    static asio::awaitable<Result<wire::Message>> request(std::shared_ptr<Impl> self,
                                                          wire::Message message) {
        std::uint32_t* const id_field = request_id(message);
        if (id_field == nullptr) {
            co_return fail(Errc::invalid_argument,
                           self->where + name_of(message) + " is not a relay request");
        }
        if (!self->state.connected || !self->connection) {
            co_return fail(Errc::io, self->where + "not connected");
        }
        const std::uint32_t id = self->take_id();
        *id_field = id;
        const MessageType type = wire::message_type(message);
        auto waiter = std::make_shared<Waiter>(self->io.get_executor(), type);
        self->waiting.emplace(id, waiter);
        waiter->deadline.expires_after(self->options.request_timeout);
        std::weak_ptr<Impl> weak_self = self;
        std::weak_ptr<Waiter> weak_waiter = waiter;
        waiter->deadline.async_wait(
            [weak_self, weak_waiter, id, type,
             timeout = self->options.request_timeout](std::error_code error) {
                auto impl = weak_self.lock();
                auto which = weak_waiter.lock();
                if (error || !impl || !which) return;
                impl->complete(
                    id, which.get(),
                    fail(Errc::io, impl->where + "no reply to " + wire::message_type_name(type) +
                                       " within " + std::to_string(timeout.count()) + " ms"));
            });
        const std::shared_ptr<Connection> connection = self->connection;
        auto sent = co_await connection->send(message);
        if (!sent) {
            self->complete(id, waiter.get(),
                           fail(Errc::io, self->where + "cannot send " + name_of(message) + ": " +
                                              sent.error().message));
        }
        co_await waiter->done.wait();
        co_return std::move(*waiter->result);
    }

    static asio::awaitable<Result<std::unique_ptr<ByteStream>>> open_forwarded(
        std::shared_ptr<Impl> self, wire::ForwardSession session) {
        auto dialed = co_await dial(self, nullptr);
        if (!dialed) co_return tl::unexpected(dialed.error());
        std::unique_ptr<ByteStream> stream = std::move(*dialed);
        std::vector<std::uint8_t> preamble(kForwardMagic.begin(), kForwardMagic.end());
        preamble.insert(preamble.end(), session.begin(), session.end());
        auto written = co_await stream->write_all(preamble);
        if (!written) co_return tl::unexpected(written.error());
        co_return std::move(stream);
    }

    static asio::awaitable<Result<std::unique_ptr<ByteStream>>> forward_to(
        std::shared_ptr<Impl> self, PublicKey target) {
        wire::Message ask = wire::ForwardRequest{0, target};
        auto answered = co_await request(self, std::move(ask));
        if (!answered) co_return tl::unexpected(answered.error());
        wire::RelayCode code = wire::RelayCode::ok;
        std::string why;
        wire::ForwardSession session{};
        if (const auto* reply = std::get_if<wire::ForwardReply>(&*answered)) {
            code = reply->code;
            why = reply->message;
            session = reply->session;
        } else {
            const auto& refusal = std::get<wire::RelayReply>(*answered);
            code = refusal.code == wire::RelayCode::ok ? wire::RelayCode::error : refusal.code;
            why = refusal.message;
        }
        if (code != wire::RelayCode::ok) {
            co_return fail(errc_of(code), self->where + "cannot forward to " +
                                              DeviceId::from_public_key(target).to_string() + ": " +
                                              why);
        }
        co_return co_await open_forwarded(self, session);
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        wake.cancel();
        if (dialing) dialing->cancel();
        if (handshaking != nullptr) handshaking->close();
        if (connection) connection->close("device disconnecting");
        connection.reset();
        state.connected = false;
        fail_all(Error{Errc::io, where + "client stopped"});
    }
};

RelayClient::RelayClient(asio::io_context& io, const KeyPair& device, DeviceCertificate certificate,
                         RelayUrl url, RelayClientHooks hooks, RelayClientOptions options)
    : m_impl(std::make_shared<Impl>(io, device, std::move(certificate), std::move(url),
                                    std::move(hooks), std::move(options))) {}

RelayClient::~RelayClient() {
    m_impl->stop();
}

void RelayClient::start() {
    if (m_impl->started || m_impl->stopped) return;
    m_impl->started = true;
    asio::co_spawn(m_impl->io, Impl::run(m_impl), asio::detached);
}

void RelayClient::stop() {
    m_impl->stop();
}

RelayStatus RelayClient::status() const {
    return m_impl->state;
}

std::optional<std::chrono::microseconds> RelayClient::rtt() const {
    return m_impl->state.rtt;
}

const RelayUrl& RelayClient::url() const {
    return m_impl->url;
}

asio::awaitable<Result<wire::Message>> RelayClient::request(wire::Message message) {
    return Impl::request(m_impl, std::move(message));
}

asio::awaitable<Result<std::unique_ptr<ByteStream>>> RelayClient::open_forwarded(
    const wire::ForwardSession& session) {
    return Impl::open_forwarded(m_impl, session);
}

asio::awaitable<Result<std::unique_ptr<ByteStream>>> RelayClient::forward_to(
    const PublicKey& target) {
    return Impl::forward_to(m_impl, target);
}

}  // namespace ferry
