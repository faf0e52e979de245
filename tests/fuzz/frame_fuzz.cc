// The frame reader of net/connection.cc (length prefixes, limits, truncated
// and oversized frames, authentication, then the message inside), driven
// through an in-memory pipe. The input (frame_fuzz_input.hh) is either raw
// bytes for one side of the handshake, or a script of frames a peer sends
// after a real handshake. A model of the promises in net/connection.hh says
// what the Connection must do with the script: hand over exactly the
// messages of the good frames before the first bad one, in order (Pings
// consumed); then fail with Errc::corrupt for a frame over the limit,
// shorter than a tag, failing authentication or decoding, and with Errc::io
// for a stream that ends (mid-frame or not) or a Close; after that every
// receive() fails with Errc::io. A handshake from raw bytes never succeeds.
// Every run ends by itself (bounded wait): no reader is left hanging.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "crypto/secure_channel.hh"
#include "frame_fuzz_input.hh"
#include "fuzz_keys.hh"
#include "fuzz_target.hh"
#include "net/byte_stream.hh"
#include "net/connection.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {

using namespace ferry;
using namespace ferry::fuzz_frame;
using Bytes = std::vector<std::uint8_t>;

struct Keys {
    KeyPair user = fuzz::key_pair(1);
    KeyPair responder = fuzz::key_pair(2);
    KeyPair initiator = fuzz::key_pair(3);
    DeviceCertificate responder_cert =
        DeviceCertificate::issue(user, fuzz::public_of(responder), "responder", 1);
    DeviceCertificate initiator_cert =
        DeviceCertificate::issue(user, fuzz::public_of(initiator), "initiator", 2);
    std::vector<wire::Message> messages = script_messages();
};

class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
    bool done() const { return m_pos >= m_size; }
    std::uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    // Up to `n` bytes: fewer when the input ends.
    Bytes take(std::size_t n) {
        const std::size_t count = std::min(n, m_size - std::min(m_pos, m_size));
        Bytes out(m_data + m_pos, m_data + m_pos + count);
        m_pos += count;
        return out;
    }

private:
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
};

Bytes with_length(std::uint32_t length) {
    return {static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
            static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
}

std::uint32_t length_of(const Bytes& frame) {
    return (std::uint32_t{frame[0]} << 24) | (std::uint32_t{frame[1]} << 16) |
           (std::uint32_t{frame[2]} << 8) | std::uint32_t{frame[3]};
}

// What the Connection must do with a script: the messages it returns, then
// the error that ends it.
struct Expected {
    std::vector<wire::Message> messages;
    Errc end = Errc::io;  // a script that ends cleanly: the stream ends
};

// The outcome of a frame whose header says `length` with `available` bytes
// after the header, if it is not a good frame.
Errc bad_frame(std::size_t length, std::size_t available, std::size_t max_frame) {
    if (length > max_frame || length < kFrameAeadOverhead) return Errc::corrupt;
    return available < length ? Errc::io : Errc::corrupt;
}

// Builds the bytes a peer sends after the handshake, and what they must do.
class Script {
public:
    Script(const SessionKeys& keys, std::size_t max_frame) : m_sealer(keys.send), m_max(max_frame) {
        m_limits.max_frame = max_frame;
    }

    // false once the script has ended (a bad frame, a Close).
    bool add(Input& in, const std::vector<wire::Message>& table) {
        switch (static_cast<FrameOp>(in.byte() % kOps)) {
            case FrameOp::message: {
                const auto& message = table[in.byte() % table.size()];
                return good(wire::encode(message), message);
            }
            case FrameOp::plaintext: {
                const Bytes plaintext = in.take(in.byte());
                auto message = wire::decode(plaintext, m_limits);
                if (!message) {
                    append(m_sealer.seal(plaintext));
                    return end(Errc::corrupt);  // over the limit or not, it is refused
                }
                return good(plaintext, *message);
            }
            case FrameOp::raw: {
                const std::uint8_t high = in.byte();
                const std::uint8_t low = in.byte();
                const std::uint32_t length =
                    high == 0xff ? 0xffffffffu - low : (std::uint32_t{high} << 8 | low);
                const Bytes body = in.take(length);
                append(with_length(length));
                append(body);
                return end(bad_frame(length, body.size(), m_max));
            }
            case FrameOp::flipped: {
                Bytes frame = m_sealer.seal(wire::encode(table[in.byte() % table.size()]));
                const std::size_t at = in.byte() % frame.size();
                frame[at] ^= static_cast<std::uint8_t>(in.byte() | 1);
                append(frame);
                return end(bad_frame(length_of(frame), frame.size() - kFrameHeadBytes, m_max));
            }
            case FrameOp::cut: {
                Bytes frame = m_sealer.seal(wire::encode(table[in.byte() % table.size()]));
                frame.resize(in.byte() % frame.size());
                append(frame);
                if (frame.size() < kFrameHeadBytes) return end(Errc::io);
                return end(bad_frame(length_of(frame), frame.size() - kFrameHeadBytes, m_max));
            }
        }
        return false;
    }

    const Bytes& bytes() const { return m_bytes; }
    const Expected& expected() const { return m_expected; }

private:
    // A sealed frame of `plaintext`, which decodes to `message`.
    bool good(const Bytes& plaintext, const wire::Message& message) {
        append(m_sealer.seal(plaintext));
        if (plaintext.size() + kFrameAeadOverhead > m_max) return end(Errc::corrupt);
        if (std::holds_alternative<wire::Close>(message)) return end(Errc::io);
        if (!std::holds_alternative<wire::Ping>(message)) m_expected.messages.push_back(message);
        return true;
    }
    bool end(Errc code) {
        m_expected.end = code;
        return false;
    }
    void append(const Bytes& bytes) { m_bytes.insert(m_bytes.end(), bytes.begin(), bytes.end()); }

    FrameSealer m_sealer;
    std::size_t m_max;
    wire::Limits m_limits = wire::kLimits;
    Bytes m_bytes;
    Expected m_expected;
};

asio::awaitable<Result<Bytes>> read_frame(ByteStream& stream) {
    Bytes header(kFrameHeadBytes);
    if (auto r = co_await stream.read_exact(header); !r) co_return tl::unexpected(r.error());
    Bytes payload(length_of(header));
    if (payload.size() > Handshake::kMaxMessageBytes) co_return fail(Errc::corrupt, "too long");
    if (auto r = co_await stream.read_exact(payload); !r) co_return tl::unexpected(r.error());
    co_return payload;
}

asio::awaitable<Result<void>> write_frame(ByteStream& stream, const Bytes& payload) {
    Bytes frame = with_length(static_cast<std::uint32_t>(payload.size()));
    frame.insert(frame.end(), payload.begin(), payload.end());
    co_return co_await stream.write_all(frame);
}

// The peer: a handshake by hand as the initiator, then the script's frames.
// Closes its end when done, so the Connection sees the stream end.
asio::awaitable<void> run_peer(std::unique_ptr<ByteStream> stream, const Keys& keys, Input in,
                               std::size_t max_frame, std::optional<Expected>& expected) {
    Handshake handshake = Handshake::initiator(keys.initiator, keys.initiator_cert);
    const Bytes hello = handshake.write_hello();
    if (auto r = co_await write_frame(*stream, hello); !r) co_return;
    auto reply = co_await read_frame(*stream);
    FUZZ_CHECK(reply.has_value());
    FUZZ_CHECK(handshake.read_reply(*reply).has_value());
    auto finish = handshake.write_finish();
    FUZZ_CHECK(finish.has_value());
    if (auto r = co_await write_frame(*stream, *finish); !r) co_return;
    const auto session = handshake.keys();
    FUZZ_CHECK(session.has_value());

    Script script(*session, max_frame);
    while (!in.done() && script.add(in, keys.messages)) {
    }
    expected = script.expected();
    (void)co_await stream->write_all(script.bytes());  // fails once the reader gave up
    stream->close();
}

// Raw bytes to one side's handshake, then the end of the stream.
asio::awaitable<void> run_raw_peer(std::unique_ptr<ByteStream> stream, Bytes bytes) {
    (void)co_await stream->write_all(bytes);
    stream->close();
}

struct Received {
    std::optional<Error> open_error;
    std::vector<wire::Message> messages;
    std::optional<Error> end;
    std::optional<Error> after_end;
};

asio::awaitable<void> run_connection(std::unique_ptr<ByteStream> stream, const Keys& keys,
                                     bool responder, ConnectionOptions options, Received& out) {
    Authorizer allow = [](const PeerIdentity&) { return Result<void>{}; };
    Result<std::shared_ptr<Connection>> opened;
    if (responder) {
        opened = co_await Connection::accept(std::move(stream), keys.responder,
                                             keys.responder_cert, allow, options);
    } else {
        opened = co_await Connection::initiate(std::move(stream), keys.initiator,
                                               keys.initiator_cert, allow, options);
    }
    if (!opened) {
        out.open_error = opened.error();
        co_return;
    }
    const std::shared_ptr<Connection> connection = *opened;
    while (true) {
        auto message = co_await connection->receive();
        if (!message) {
            out.end = message.error();
            break;
        }
        out.messages.push_back(std::move(*message));
    }
    auto again = co_await connection->receive();
    FUZZ_CHECK(!again.has_value());
    out.after_end = again.error();
    FUZZ_CHECK(!connection->is_open());
}

// Runs `io` until its work is done; a run that needs longer is a hang.
void run_to_end(asio::io_context& io) {
    io.run_for(std::chrono::seconds(20));
    FUZZ_CHECK(io.stopped());
}

void check_session(const Keys& keys, Input in, std::size_t max_frame) {
    asio::io_context io;
    auto [ours, theirs] = make_memory_pipe(io.get_executor());
    ConnectionOptions options;
    options.limits.max_frame = max_frame;
    Received received;
    std::optional<Expected> expected;
    asio::co_spawn(io, run_connection(std::move(ours), keys, true, options, received),
                   asio::detached);
    asio::co_spawn(io, run_peer(std::move(theirs), keys, in, max_frame, expected), asio::detached);
    run_to_end(io);

    FUZZ_CHECK(!received.open_error);
    FUZZ_CHECK(expected.has_value());
    FUZZ_CHECK(received.messages == expected->messages);
    FUZZ_CHECK(received.end && received.end->code == expected->end);
    FUZZ_CHECK(!received.end->message.empty());
    FUZZ_CHECK(received.after_end && received.after_end->code == Errc::io);
}

// Raw bytes never make a connection; a first frame over the handshake's
// limit is refused as corrupt, a stream that ends inside it as io.
void check_raw(const Keys& keys, const Bytes& bytes, bool responder) {
    asio::io_context io;
    auto [ours, theirs] = make_memory_pipe(io.get_executor());
    Received received;
    asio::co_spawn(io, run_connection(std::move(ours), keys, responder, {}, received),
                   asio::detached);
    asio::co_spawn(io, run_raw_peer(std::move(theirs), bytes), asio::detached);
    run_to_end(io);

    FUZZ_CHECK(received.open_error.has_value());
    FUZZ_CHECK(!received.open_error->message.empty());
    if (bytes.size() < kFrameHeadBytes) {
        FUZZ_CHECK(received.open_error->code == Errc::io);
        return;
    }
    const std::size_t length = length_of(bytes);
    if (length > Handshake::kMaxMessageBytes) {
        FUZZ_CHECK(received.open_error->code == Errc::corrupt);
    } else if (bytes.size() - kFrameHeadBytes < length) {
        FUZZ_CHECK(received.open_error->code == Errc::io);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Keys keys;
    if (size == 0) return 0;
    const std::uint8_t setup = data[0];
    const std::size_t max_frame = kMaxFrames[(setup >> 2) % kMaxFrames.size()];
    switch (setup % 4) {
        case kRawToResponder:
            check_raw(keys, Bytes(data + 1, data + size), true);
            break;
        case kRawToInitiator:
            check_raw(keys, Bytes(data + 1, data + size), false);
            break;
        default:
            check_session(keys, Input(data + 1, size - 1), max_frame);
    }
    return 0;
}
