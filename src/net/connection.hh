// A secure connection to one peer: the handshake (crypto/handshake.hh) run
// over a ByteStream, then framed, encrypted messages (crypto/secure_channel.hh,
// net/messages.hh) both ways, with keepalive and timeouts.
//
// Wire: every frame is a 4-byte big-endian length then that many bytes. The
// three handshake messages are frames of plaintext (at most
// Handshake::kMaxMessageBytes); every later frame is sealed. A length over
// Limits::max_frame (or over kMaxMessageBytes during the handshake) closes
// the connection before anything is allocated. A frame that fails
// authentication or decoding closes the connection with an error naming the
// peer; nothing of it reaches the caller.
//
// `authorize` is called once the peer's identity is proven (initiator:
// after message 2, before sending message 3; responder: after message 3,
// before sending anything encrypted). If it fails, the connection is closed
// and the open function returns its error: an unknown or revoked device
// never sees an index.
//
// A joining peer (an invite credential) is accepted only if its proof
// matches the secret that options.invite_secret returns for its invite id
// (checked before `authorize`, which then decides whether the invite is
// still unused and unexpired); without a lookup every invite is refused.
//
// Keepalive: a Ping goes out after ping_interval without sending; the
// connection fails with Errc::io "timed out" after idle_timeout without
// receiving anything while a receive() waits (the wait starts at the call,
// so a caller busy elsewhere is not taken for a silent peer). Pings are
// consumed here, never returned by receive(). A Close from the peer makes
// receive() fail with Errc::io carrying its reason.
//
// Rate limits: options.send_limit and options.receive_limit (shared by every
// connection of a daemon; null or rate 0: unlimited) let each sealed frame
// through in slices (net/rate_limiter.hh): the writer waits before writing a
// slice, the reader before reading one, so a slow receive limit delays the
// reads and TCP back-pressure slows the peer. A rate change applies from the
// next slice. The handshake's few small frames are not limited. A reader's
// wait for its limit does not count as the peer's silence; once closed, the
// rest of a frame and the Close go out unlimited (bounded by the linger).
//
// Thread rule: all methods on the io_context thread the stream belongs to.
// send() may be called by several coroutines at once: frames go out whole,
// in call order; each returns once its frame is written (so a sender waits
// for a slow peer instead of queueing without bound). receive() by one
// coroutine at a time. After close() or any failure, every pending and later
// call fails with Errc::io (the receive() that detected a bad frame returns
// Errc::corrupt). Dropping the last reference closes the connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/awaitable.hpp>

#include "core/error.hh"
#include "crypto/handshake.hh"
#include "net/byte_stream.hh"
#include "net/messages.hh"
#include "net/rate_limiter.hh"

namespace ferry {

// The secret of an invite this device issued, by id (nullopt: unknown).
using InviteSecretLookup = std::function<std::optional<InviteSecret>(const InviteId&)>;

struct ConnectionOptions {
    std::chrono::milliseconds handshake_timeout{10'000};
    std::chrono::milliseconds ping_interval{30'000};
    std::chrono::milliseconds idle_timeout{90'000};
    wire::Limits limits = wire::kLimits;
    InviteSecretLookup invite_secret;  // responder only
    std::shared_ptr<RateLimiter> send_limit;     // null: unlimited
    std::shared_ptr<RateLimiter> receive_limit;  // null: unlimited
};

using Authorizer = std::function<Result<void>(const PeerIdentity&)>;

class Connection {
public:
    static asio::awaitable<Result<std::shared_ptr<Connection>>> initiate(
        std::unique_ptr<ByteStream> stream, const KeyPair& device, Credential credential,
        Authorizer authorize, ConnectionOptions options = {});
    static asio::awaitable<Result<std::shared_ptr<Connection>>> accept(
        std::unique_ptr<ByteStream> stream, const KeyPair& device, DeviceCertificate certificate,
        Authorizer authorize, ConnectionOptions options = {});

    virtual ~Connection() = default;
    virtual asio::awaitable<Result<wire::Message>> receive() = 0;
    virtual asio::awaitable<Result<void>> send(const wire::Message& message) = 0;
    // Sends Close{reason} if possible, then closes the stream.
    virtual void close(std::string reason) = 0;
    virtual bool is_open() const = 0;
    // Completes once the connection is closed (by either side or a failure).
    virtual asio::awaitable<void> wait_closed() = 0;

    virtual const PeerIdentity& peer() const = 0;
    virtual bool initiated_here() const = 0;
    virtual std::string peer_address() const = 0;
    // Bytes on the wire (frames with their length prefixes) so far.
    virtual std::uint64_t bytes_in() const = 0;
    virtual std::uint64_t bytes_out() const = 0;
    // Carried by a relay's mailboxes (sync/relay_link.hh), not a live link:
    // the peer may be offline, so it is not waited for to be in sync.
    virtual bool relayed() const { return false; }
};

}  // namespace ferry
