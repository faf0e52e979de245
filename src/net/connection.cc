// Connection: the handshake over plaintext frames, then sealed frames with
// one writer coroutine, keepalive and an idle/linger watchdog.
//
// Shape: the Connection handed out (SecureConnection) is a thin handle on a
// shared Core. The writer and the watchdog coroutines hold the Core, so it
// outlives them; the handle's destructor closes the Core, which ends them.
// Every wait is a Timer: either a deadline, or set to never expire
// and cancelled as a wake-up (one thread, so a check followed by a wait
// cannot miss the wake-up).
#include "net/connection.hh"

#include <algorithm>
#include <deque>
#include <span>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include "crypto/secure_channel.hh"
#include "net/monotonic_time.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {
namespace {

using SteadyClock = MonotonicClock;
using TimePoint = SteadyClock::time_point;

// How long close() waits for its Close frame to go out before it cuts the
// stream anyway (a peer that stopped reading must not hold the connection).
constexpr std::chrono::seconds kCloseLinger{2};
constexpr std::size_t kLengthBytes = kFrameHeadBytes;  // handshake frames have the same prefix
// A connection keeps a receive buffer up to this size (chunks are smaller).
constexpr std::size_t kKeptReceiveBytes = 1 << 20;

std::array<std::uint8_t, kLengthBytes> encode_length(std::uint32_t length) {
    return {static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
            static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
}

std::uint32_t decode_length(const std::array<std::uint8_t, kLengthBytes>& bytes) {
    return (std::uint32_t{bytes[0]} << 24) | (std::uint32_t{bytes[1]} << 16) |
           (std::uint32_t{bytes[2]} << 8) | std::uint32_t{bytes[3]};
}

// Waits on `timer` until its expiry or a cancel(); both are normal. Only
// for a timer with one waiter: setting the expiry cancels every other wait.
asio::awaitable<void> wait_on(Timer& timer, TimePoint until) {
    timer.expires_at(until);
    std::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Waits until `signal` (a timer that never expires) is cancelled, which
// wakes every waiter. Unlike wait_on it leaves the expiry alone: waiters that
// re-armed a shared timer cancelled one another without end, spinning the io
// thread for as long as two of them waited.
asio::awaitable<void> wait_signal(Timer& signal) {
    std::error_code ignored;
    co_await signal.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// The handshake's plaintext frames, with the bytes counted.
class PlainFramer {
public:
    explicit PlainFramer(ByteStream& stream) : m_stream(stream) {}

    asio::awaitable<Result<void>> write(const std::vector<std::uint8_t>& message) {
        const auto length = encode_length(static_cast<std::uint32_t>(message.size()));
        std::vector<std::uint8_t> frame(length.begin(), length.end());
        frame.insert(frame.end(), message.begin(), message.end());
        auto written = co_await m_stream.write_all(frame);
        if (written) bytes_out += frame.size();
        co_return written;
    }

    asio::awaitable<Result<std::vector<std::uint8_t>>> read() {
        std::array<std::uint8_t, kLengthBytes> header{};
        if (auto r = co_await m_stream.read_exact(header); !r) co_return tl::unexpected(r.error());
        const std::uint32_t length = decode_length(header);
        if (length > Handshake::kMaxMessageBytes) {
            co_return fail(Errc::corrupt, m_stream.peer_address() + ": handshake frame of " +
                                              std::to_string(length) + " bytes (limit " +
                                              std::to_string(Handshake::kMaxMessageBytes) + ")");
        }
        std::vector<std::uint8_t> message(length);
        if (auto r = co_await m_stream.read_exact(message); !r) co_return tl::unexpected(r.error());
        bytes_in += kLengthBytes + length;
        co_return message;
    }

    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;

private:
    ByteStream& m_stream;
};

// Closes the stream if the handshake is not over by the deadline; the
// handshake's pending read or write then fails and timed_out() says why.
class HandshakeDeadline {
public:
    HandshakeDeadline(asio::any_io_executor executor, ByteStream& stream,
                      std::chrono::milliseconds timeout)
        : m_state(std::make_shared<State>(executor, &stream)) {
        asio::co_spawn(executor, run(m_state, SteadyClock::now() + timeout), asio::detached);
    }
    ~HandshakeDeadline() {
        m_state->done = true;  // the stream may be gone by the time run() resumes
        m_state->timer.cancel();
    }
    bool timed_out() const { return m_state->fired; }

private:
    struct State {
        State(asio::any_io_executor executor, ByteStream* s) : timer(executor), stream(s) {}
        Timer timer;
        ByteStream* stream;
        bool done = false;
        bool fired = false;
    };
    static asio::awaitable<void> run(std::shared_ptr<State> state, TimePoint deadline) {
        co_await wait_on(state->timer, deadline);
        if (state->done) co_return;
        state->fired = true;
        state->stream->close();
    }
    std::shared_ptr<State> m_state;
};

struct Core : std::enable_shared_from_this<Core> {
    Core(asio::any_io_executor executor, std::unique_ptr<ByteStream> s, PeerIdentity identity,
         bool initiated_here, ConnectionOptions opts, const SessionKeys& keys)
        : stream(std::move(s)),
          address(stream->peer_address()),
          peer(std::move(identity)),
          initiated(initiated_here),
          options(std::move(opts)),
          sealer(keys.send),
          opener(keys.receive),
          writer_wake(executor),
          written_signal(executor, TimePoint::max()),
          watchdog_timer(executor),
          closed_signal(executor, TimePoint::max()),
          send_throttle(executor),
          receive_throttle(executor) {}

    void start() {
        const auto executor = writer_wake.get_executor();
        asio::co_spawn(executor, run_writer(shared_from_this()), asio::detached);
        asio::co_spawn(executor, run_watchdog(shared_from_this()), asio::detached);
    }

    bool open() const { return !error.has_value(); }
    Error closed_error() const { return *error; }

    // The message encoded with room for the length prefix and the tag.
    static std::vector<std::uint8_t> unsealed(const wire::Message& message) {
        return wire::encode(message, kFrameHeadBytes, kFrameAeadOverhead);
    }

    // Seals an unsealed() frame in place and queues it; returns its number
    // (frames are written in order).
    std::uint64_t enqueue(std::vector<std::uint8_t> frame) {
        sealer.seal_in_place(frame);
        queue.push_back(std::move(frame));
        writer_wake.cancel();
        return ++queued;
    }

    // Ends the connection. With a reason the peer is told (a Close frame,
    // written after any frame in progress); without one the stream is cut.
    void shut(Error why, std::optional<std::string> tell_peer) {
        if (error) return;
        error = Error{Errc::io, std::move(why.message)};
        closed_at = SteadyClock::now();
        queue.clear();
        if (tell_peer) {
            enqueue(unsealed(wire::Close{std::move(*tell_peer)}));
        } else {
            stream->close();
        }
        writer_wake.cancel();
        written_signal.cancel();
        watchdog_timer.cancel();
        closed_signal.cancel();
        send_throttle.cancel();
        receive_throttle.cancel();
    }

    // A fault found while receiving: shut, and hand the caller the error
    // with its own code (later calls see Errc::io).
    tl::unexpected<Error> fault(Errc code, const std::string& what) {
        Error error_value{code, address + ": " + what};
        shut(error_value, what);
        return tl::unexpected(std::move(error_value));
    }

    static asio::awaitable<void> run_writer(std::shared_ptr<Core> self) {
        while (true) {
            if (self->queue.empty()) {
                if (self->error) break;
                const TimePoint ping_at = self->last_sent + self->options.ping_interval;
                if (SteadyClock::now() >= ping_at) {
                    self->enqueue(unsealed(wire::Ping{}));
                    continue;
                }
                co_await wait_on(self->writer_wake, ping_at);
                continue;
            }
            const std::vector<std::uint8_t> frame = std::move(self->queue.front());
            self->queue.pop_front();
            auto written = co_await self->write_limited(frame);
            if (!written) {
                self->shut(written.error(), std::nullopt);
                break;
            }
            self->bytes_out += frame.size();
            self->last_sent = SteadyClock::now();
            ++self->written;
            self->written_signal.cancel();
        }
        self->stream->close();
        self->stream_closed = true;
        self->watchdog_timer.cancel();
    }

    // Writes a frame, in slices that the send limit lets through (none once
    // closed: the rest and the Close go out as they are, within the linger).
    asio::awaitable<Result<void>> write_limited(std::span<const std::uint8_t> frame) {
        RateLimiter* limit = options.send_limit.get();
        if (limit == nullptr || limit->unlimited()) co_return co_await stream->write_all(frame);
        while (!frame.empty()) {
            const auto slice = frame.first(std::min(frame.size(), limit->slice_bytes()));
            if (!error) co_await limit->acquire(slice.size(), send_throttle);
            if (auto r = co_await stream->write_all(slice); !r) co_return r;
            frame = frame.subspan(slice.size());
        }
        co_return Result<void>{};
    }

    // Fills `buffer`, waiting for the receive limit before each slice; the
    // wait is this side's, so it does not count as the peer's silence.
    asio::awaitable<Result<void>> read_limited(std::span<std::uint8_t> buffer) {
        RateLimiter* limit = options.receive_limit.get();
        if (limit == nullptr || limit->unlimited()) co_return co_await stream->read_exact(buffer);
        while (!buffer.empty()) {
            const auto slice = buffer.first(std::min(buffer.size(), limit->slice_bytes()));
            receive_throttled = true;
            co_await limit->acquire(slice.size(), receive_throttle);
            receive_throttled = false;
            if (error) co_return tl::unexpected(*error);
            last_received = SteadyClock::now();
            if (auto r = co_await stream->read_exact(slice); !r) co_return r;
            last_received = SteadyClock::now();
            buffer = buffer.subspan(slice.size());
        }
        co_return Result<void>{};
    }

    // Idle timeout while a receive() waits (not while it waits for the
    // receive limit); after close(), the linger limit.
    static asio::awaitable<void> run_watchdog(std::shared_ptr<Core> self) {
        while (!self->stream_closed) {
            const TimePoint now = SteadyClock::now();
            TimePoint deadline = now + self->options.idle_timeout;
            if (self->error) {
                deadline = self->closed_at + kCloseLinger;
            } else if (self->receiving && !self->receive_throttled) {
                deadline = self->last_received + self->options.idle_timeout;
            }
            if (now >= deadline) {
                if (self->error) {
                    self->stream->close();  // the writer then ends and sets stream_closed
                    break;
                }
                self->shut(Error{Errc::io, self->address + ": timed out (nothing received for " +
                                               std::to_string(self->options.idle_timeout.count()) +
                                               " ms)"},
                           "timed out");
                continue;
            }
            co_await wait_on(self->watchdog_timer, deadline);
        }
    }

    asio::awaitable<Result<wire::Message>> receive() {
        if (error) co_return tl::unexpected(*error);
        if (receiving) co_return fail(Errc::invalid_argument, address + ": receive() already waiting");
        receiving = true;
        last_received = SteadyClock::now();
        auto message = co_await receive_frames();
        receiving = false;
        co_return message;
    }

    asio::awaitable<Result<wire::Message>> receive_frames() {
        while (true) {
            std::array<std::uint8_t, kLengthBytes> header{};
            if (auto r = co_await read_limited(header); !r) co_return read_failed(r.error());
            if (error) co_return tl::unexpected(*error);
            last_received = SteadyClock::now();
            const std::uint32_t length = decode_length(header);
            if (length > options.limits.max_frame) {
                co_return fault(Errc::corrupt, "frame of " + std::to_string(length) +
                                                   " bytes (limit " +
                                                   std::to_string(options.limits.max_frame) + ")");
            }
            if (length < kFrameAeadOverhead) {
                co_return fault(Errc::corrupt,
                                "frame of " + std::to_string(length) + " bytes is too short");
            }
            // Frames up to kKeptReceiveBytes reuse one buffer, decrypted in
            // place: no allocation or zeroing per frame.
            std::vector<std::uint8_t> large;
            std::span<std::uint8_t> ciphertext;
            if (length <= kKeptReceiveBytes) {
                if (receive_buffer.size() < length) receive_buffer.resize(length);
                ciphertext = std::span(receive_buffer).first(length);
            } else {
                large.resize(length);
                ciphertext = large;
            }
            if (auto r = co_await read_limited(ciphertext); !r) co_return read_failed(r.error());
            if (error) co_return tl::unexpected(*error);
            last_received = SteadyClock::now();
            bytes_in += kLengthBytes + length;

            auto plaintext = opener.open_in_place(ciphertext);
            if (!plaintext) co_return fault(Errc::corrupt, "bad frame: " + plaintext.error().message);
            auto message = wire::decode(*plaintext, options.limits);
            if (!message) co_return fault(Errc::corrupt, "bad message: " + message.error().message);
            if (std::holds_alternative<wire::Ping>(*message)) continue;
            if (const auto* close = std::get_if<wire::Close>(&*message)) {
                Error why{Errc::io, address + ": closed by peer: " + close->reason};
                shut(why, std::nullopt);
                co_return tl::unexpected(std::move(why));
            }
            co_return std::move(*message);
        }
    }

    tl::unexpected<Error> read_failed(const Error& why) {
        shut(why, std::nullopt);  // no-op when close() or a timeout came first
        return tl::unexpected(*error);
    }

    asio::awaitable<Result<void>> send(const wire::Message& message) {
        if (error) co_return tl::unexpected(*error);
        std::vector<std::uint8_t> frame = unsealed(message);
        const std::size_t size = frame.size() - kFrameHeadBytes;  // what the length prefix says
        if (size > options.limits.max_frame) {
            co_return fail(Errc::invalid_argument,
                           address + ": " + wire::message_type_name(wire::message_type(message)) +
                               " of " + std::to_string(size) + " bytes exceeds the frame limit");
        }
        const std::uint64_t number = enqueue(std::move(frame));
        while (written < number) {
            if (error) co_return tl::unexpected(*error);
            co_await wait_signal(written_signal);
        }
        co_return Result<void>{};
    }

    asio::awaitable<void> wait_closed() {
        while (!error) co_await wait_signal(closed_signal);
    }

    std::unique_ptr<ByteStream> stream;
    const std::string address;
    const PeerIdentity peer;
    const bool initiated;
    const ConnectionOptions options;
    FrameSealer sealer;
    FrameOpener opener;

    std::optional<Error> error;  // set once closed: what every later call returns
    TimePoint closed_at{};
    bool stream_closed = false;
    std::deque<std::vector<std::uint8_t>> queue;  // sealed frames, in call order
    std::vector<std::uint8_t> receive_buffer;     // grows to the largest frame up to kKeptReceiveBytes
    std::uint64_t queued = 0;
    std::uint64_t written = 0;
    bool receiving = false;
    bool receive_throttled = false;  // receive() waits for the receive limit
    TimePoint last_sent = SteadyClock::now();
    TimePoint last_received = SteadyClock::now();
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;

    Timer writer_wake;     // new frame queued, or closed (one waiter: the writer)
    Timer written_signal;  // a frame was written, or closed (wait_signal)
    Timer watchdog_timer;
    Timer closed_signal;   // closed (wait_signal)
    Timer send_throttle;     // the writer's wait for the send limit
    Timer receive_throttle;  // receive()'s wait for the receive limit
};

class SecureConnection final : public Connection {
public:
    explicit SecureConnection(std::shared_ptr<Core> core) : m_core(std::move(core)) {}
    ~SecureConnection() override { m_core->shut(Error{Errc::io, m_core->address + ": connection released"}, "closed"); }

    asio::awaitable<Result<wire::Message>> receive() override {
        const auto core = m_core;  // alive even if the handle is dropped meanwhile
        co_return co_await core->receive();
    }
    asio::awaitable<Result<void>> send(const wire::Message& message) override {
        const auto core = m_core;
        co_return co_await core->send(message);
    }
    void close(std::string reason) override {
        m_core->shut(Error{Errc::io, m_core->address + ": connection closed: " + reason}, reason);
    }
    bool is_open() const override { return m_core->open(); }
    asio::awaitable<void> wait_closed() override {
        const auto core = m_core;
        co_await core->wait_closed();
    }
    const PeerIdentity& peer() const override { return m_core->peer; }
    bool initiated_here() const override { return m_core->initiated; }
    std::string peer_address() const override { return m_core->address; }
    std::uint64_t bytes_in() const override { return m_core->bytes_in; }
    std::uint64_t bytes_out() const override { return m_core->bytes_out; }

private:
    std::shared_ptr<Core> m_core;
};

Error handshake_error(const ByteStream& stream, const HandshakeDeadline& deadline,
                      std::chrono::milliseconds timeout, const Error& why) {
    if (deadline.timed_out()) {
        return Error{Errc::io, stream.peer_address() + ": handshake timed out after " +
                                   std::to_string(timeout.count()) + " ms"};
    }
    if (why.message.starts_with(stream.peer_address())) return why;
    return Error{why.code, stream.peer_address() + ": handshake: " + why.message};
}

Result<void> check_peer(const Handshake& handshake, const PeerIdentity& peer,
                        const ConnectionOptions& options, const Authorizer& authorize,
                        const std::string& address) {
    if (peer.invite_id) {
        const auto secret = options.invite_secret ? options.invite_secret(*peer.invite_id)
                                                  : std::optional<InviteSecret>{};
        if (!secret || !handshake.invite_proof_matches(*secret)) {
            return fail(Errc::permission_denied,
                        address + ": unknown invite or wrong invite secret");
        }
    }
    auto allowed = authorize(peer);
    if (!allowed) return fail(allowed.error().code, address + ": " + allowed.error().message);
    return {};
}

// Runs one side of the handshake; returns the established connection. The
// stream is closed on every failure path (by the caller dropping it).
asio::awaitable<Result<std::shared_ptr<Connection>>> establish(
    std::unique_ptr<ByteStream> stream, Handshake handshake, bool initiator,
    const Authorizer& authorize, ConnectionOptions options) {
    const auto executor = co_await asio::this_coro::executor;
    const std::string address = stream->peer_address();
    PlainFramer framer(*stream);
    std::optional<PeerIdentity> peer;
    Result<void> step;
    {
        HandshakeDeadline deadline(executor, *stream, options.handshake_timeout);
        auto failed = [&](const Error& why) {
            stream->close();
            return tl::unexpected(handshake_error(*stream, deadline, options.handshake_timeout, why));
        };
        if (initiator) {
            if (auto r = co_await framer.write(handshake.write_hello()); !r) co_return failed(r.error());
            auto reply = co_await framer.read();
            if (!reply) co_return failed(reply.error());
            auto identity = handshake.read_reply(*reply);
            if (!identity) co_return failed(identity.error());
            if (auto ok = check_peer(handshake, *identity, options, authorize, address); !ok) {
                stream->close();  // message 3 is never sent
                co_return tl::unexpected(ok.error());
            }
            auto finish = handshake.write_finish();
            if (!finish) co_return failed(finish.error());
            if (auto r = co_await framer.write(*finish); !r) co_return failed(r.error());
            peer = std::move(*identity);
        } else {
            auto hello = co_await framer.read();
            if (!hello) co_return failed(hello.error());
            if (auto r = handshake.read_hello(*hello); !r) co_return failed(r.error());
            auto reply = handshake.write_reply();
            if (!reply) co_return failed(reply.error());
            if (auto r = co_await framer.write(*reply); !r) co_return failed(r.error());
            auto finish = co_await framer.read();
            if (!finish) co_return failed(finish.error());
            auto identity = handshake.read_finish(*finish);
            if (!identity) co_return failed(identity.error());
            if (auto ok = check_peer(handshake, *identity, options, authorize, address); !ok) {
                stream->close();
                co_return tl::unexpected(ok.error());
            }
            peer = std::move(*identity);
        }
        if (deadline.timed_out()) co_return failed(Error{Errc::io, "timed out"});
    }
    auto keys = handshake.keys();
    if (!keys) {
        stream->close();
        co_return fail(keys.error().code, address + ": handshake: " + keys.error().message);
    }
    auto core = std::make_shared<Core>(executor, std::move(stream), std::move(*peer), initiator,
                                       std::move(options), *keys);
    core->bytes_in = framer.bytes_in;
    core->bytes_out = framer.bytes_out;
    core->start();
    co_return std::make_shared<SecureConnection>(std::move(core));
}

}  // namespace

asio::awaitable<Result<std::shared_ptr<Connection>>> Connection::initiate(
    std::unique_ptr<ByteStream> stream, const KeyPair& device, Credential credential,
    Authorizer authorize, ConnectionOptions options) {
    co_return co_await establish(std::move(stream), Handshake::initiator(device, std::move(credential)),
                                 true, authorize, std::move(options));
}

asio::awaitable<Result<std::shared_ptr<Connection>>> Connection::accept(
    std::unique_ptr<ByteStream> stream, const KeyPair& device, DeviceCertificate certificate,
    Authorizer authorize, ConnectionOptions options) {
    co_return co_await establish(std::move(stream),
                                 Handshake::responder(device, std::move(certificate)), false,
                                 authorize, std::move(options));
}

}  // namespace ferry
