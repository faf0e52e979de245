// Test support for tests/net: bounded runs of coroutines, devices with real
// certificates, and a hand-driven peer that speaks the wire protocol
// directly (to send what a correct Connection never would).
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <vector>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <catch2/catch.hpp>

#include "crypto/certificate.hh"
#include "crypto/handshake.hh"
#include "crypto/secure_channel.hh"
#include "net/byte_stream.hh"
#include "net/connection.hh"
#include "net/messages.hh"
#include "net/monotonic_time.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::net_test {

using namespace std::chrono_literals;

// Runs `task` on `io` until it finishes, for at most `limit`; fails the test
// on timeout. Other coroutines keep their state for the next run.
template <class T>
T run_bounded(asio::io_context& io, asio::awaitable<T> task,
              std::chrono::steady_clock::duration limit = 20s) {
    std::optional<T> result;
    std::exception_ptr error;
    asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
        error = e;
        if (!e) result.emplace(std::move(value));
    });
    const auto deadline = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!result && !error && std::chrono::steady_clock::now() < deadline) {
        io.run_one_for(100ms);
        io.restart();
    }
    if (error) std::rethrow_exception(error);
    if (!result) FAIL("timed out after bounded wait");
    return std::move(*result);
}

// run_bounded() for a task without a result.
inline void run_bounded(asio::io_context& io, asio::awaitable<void> task,
                        std::chrono::steady_clock::duration limit = 20s) {
    run_bounded(io,
                [](asio::awaitable<void> inner) -> asio::awaitable<bool> {
                    co_await std::move(inner);
                    co_return true;
                }(std::move(task)),
                limit);
}

// Lets `io` run other work for `duration` (no assertion depends on speed).
inline asio::awaitable<void> pause(std::chrono::steady_clock::duration duration) {
    Timer timer(co_await asio::this_coro::executor);
    timer.expires_after(duration);
    std::error_code ignored;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// Polls `done` every few ms for at most `limit`: the waits of the tests.
inline asio::awaitable<bool> eventually(std::function<bool()> done,
                                        std::chrono::steady_clock::duration limit = 15s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        co_await pause(10ms);
    }
    co_return true;
}

inline PublicKey public_of(const KeyPair& key) {
    PublicKey bytes{};
    std::copy(key.public_key().begin(), key.public_key().end(), bytes.begin());
    return bytes;
}

// A user and devices holding certificates from it.
struct TestUser {
    KeyPair key = KeyPair::generate();
    PublicKey public_key() const { return public_of(key); }
    // Trusts every device whose certificate chains to this user.
    Authorizer authorizer() const {
        return [user = public_key()](const PeerIdentity& peer) -> Result<void> {
            if (!peer.certificate) return fail(Errc::permission_denied, "no certificate");
            if (peer.certificate->device_key != peer.device_key) {
                return fail(Errc::permission_denied, "certificate of another device");
            }
            return peer.certificate->verify(user);
        };
    }
};

struct TestDevice {
    TestDevice(const TestUser& user, std::string name)
        : key(KeyPair::generate()),
          certificate(DeviceCertificate::issue(user.key, public_of(key), std::move(name), 1)) {}
    KeyPair key;
    DeviceCertificate certificate;
    PublicKey public_key() const { return public_of(key); }
};

using Opened = Result<std::shared_ptr<Connection>>;

struct Pair {
    Opened initiated;
    Opened accepted;
};

// Runs both ends' open functions at once over `streams`.
inline asio::awaitable<Pair> open_pair(std::unique_ptr<ByteStream> initiator_stream,
                                       std::unique_ptr<ByteStream> responder_stream,
                                       const TestDevice& initiator, const TestDevice& responder,
                                       Authorizer initiator_authorize,
                                       Authorizer responder_authorize,
                                       ConnectionOptions options = {}) {
    const auto executor = co_await asio::this_coro::executor;
    std::optional<Opened> accepted;
    asio::co_spawn(
        executor,
        [&]() -> asio::awaitable<void> {
            accepted = co_await Connection::accept(std::move(responder_stream), responder.key,
                                                   responder.certificate, responder_authorize,
                                                   options);
        },
        asio::detached);
    Opened initiated = co_await Connection::initiate(std::move(initiator_stream), initiator.key,
                                                     initiator.certificate, initiator_authorize,
                                                     options);
    co_await eventually([&] { return accepted.has_value(); });
    REQUIRE(accepted.has_value());
    co_return Pair{std::move(initiated), std::move(*accepted)};
}

inline std::vector<std::uint8_t> frame_of(std::span<const std::uint8_t> payload) {
    const auto n = static_cast<std::uint32_t>(payload.size());
    std::vector<std::uint8_t> frame{static_cast<std::uint8_t>(n >> 24),
                                    static_cast<std::uint8_t>(n >> 16),
                                    static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    frame.insert(frame.end(), payload.begin(), payload.end());
    return frame;
}

// Reads one frame's payload (any size: the tests send what they mean to).
inline asio::awaitable<Result<std::vector<std::uint8_t>>> read_frame(ByteStream& stream) {
    std::array<std::uint8_t, 4> header{};
    if (auto r = co_await stream.read_exact(header); !r) co_return tl::unexpected(r.error());
    const std::uint32_t length = (std::uint32_t{header[0]} << 24) |
                                 (std::uint32_t{header[1]} << 16) |
                                 (std::uint32_t{header[2]} << 8) | header[3];
    std::vector<std::uint8_t> payload(length);
    if (auto r = co_await stream.read_exact(payload); !r) co_return tl::unexpected(r.error());
    co_return payload;
}

// The responder's side of the handshake, by hand; then raw sealed frames.
struct RawPeer {
    std::unique_ptr<ByteStream> stream;
    std::optional<FrameSealer> sealer;
    std::optional<FrameOpener> opener;
    std::optional<PeerIdentity> peer;

    asio::awaitable<Result<void>> accept(const TestDevice& device) {
        Handshake handshake = Handshake::responder(device.key, device.certificate);
        auto hello = co_await read_frame(*stream);
        if (!hello) co_return tl::unexpected(hello.error());
        if (auto r = handshake.read_hello(*hello); !r) co_return tl::unexpected(r.error());
        auto reply = handshake.write_reply();
        if (!reply) co_return tl::unexpected(reply.error());
        if (auto r = co_await stream->write_all(frame_of(*reply)); !r) co_return r;
        auto finish = co_await read_frame(*stream);
        if (!finish) co_return tl::unexpected(finish.error());
        auto identity = handshake.read_finish(*finish);
        if (!identity) co_return tl::unexpected(identity.error());
        peer = *identity;
        auto keys = handshake.keys();
        if (!keys) co_return tl::unexpected(keys.error());
        sealer.emplace(keys->send);
        opener.emplace(keys->receive);
        co_return Result<void>{};
    }

    asio::awaitable<Result<void>> send(const wire::Message& message) {
        co_return co_await stream->write_all(sealer->seal(wire::encode(message)));
    }

    asio::awaitable<Result<wire::Message>> receive() {
        auto payload = co_await read_frame(*stream);
        if (!payload) co_return tl::unexpected(payload.error());
        auto plaintext = opener->open(*payload);
        if (!plaintext) co_return tl::unexpected(plaintext.error());
        co_return wire::decode(*plaintext);
    }
};

}  // namespace ferry::net_test
