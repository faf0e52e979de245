// Test support for the relay network server (relay/relay_server.hh): a
// RelayServer on 127.0.0.1:0 over a real local service in a temporary
// folder, run by the test's thread (io_context) and a worker pool; devices
// as RelayClients, and a hand-driven device (RawDevice) that runs the
// handshake itself so it can send what a correct Connection never would.
//
// Thread rule: everything on the test's thread; the io_context runs only
// inside wait_for()/run() (net_test::run_bounded), so a failed wait fails
// the test instead of hanging.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include "crypto/secure_channel.hh"
#include "net/byte_stream.hh"
#include "net/relay_client.hh"
#include "net_test_support.hh"
#include "relay/relay_server.hh"
#include "relay_test_util.hh"

namespace ferry::relay::test {

using namespace std::chrono_literals;

// Short timers, so limits show within a test's bounded waits.
ServerOptions fast_options();

// A new relay identity in `dir`.
RelayIdentity created_identity(const ferry::test::TempDir& dir);

class ServerFixture {
public:
    ServerFixture();
    ~ServerFixture();
    ServerFixture(const ServerFixture&) = delete;
    ServerFixture& operator=(const ServerFixture&) = delete;

    // Starts the server over `service` (null: relay.service) with `options`.
    void start(ServerOptions options = fast_options(), RelayService* service = nullptr);

    RelayUrl url() const;
    // A started client for device `index` of `user`; its hello carries the
    // user's token unless `hello` says otherwise. Retries quickly.
    std::unique_ptr<RelayClient> client(const User& user, std::size_t index,
                                        RelayClientHooks hooks = {},
                                        std::function<wire::RelayHello()> hello = {});
    // The same, then waits until it is welcomed (fails the test otherwise).
    std::unique_ptr<RelayClient> connected(const User& user, std::size_t index,
                                           RelayClientHooks hooks = {});

    // Runs the io_context until `done` holds; false after `limit`.
    bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s);
    template <class T>
    T run(asio::awaitable<T> task) {
        return net_test::run_bounded(io, std::move(task));
    }

    TestRelay relay;
    ferry::test::TempDir identity_dir;
    RelayIdentity identity = created_identity(identity_dir);
    asio::thread_pool workers{4};
    asio::io_context io;
    std::unique_ptr<RelayServer> server;
    std::string address;  // where the server listens
};

// A TCP connection to `address` (fails the test if it cannot connect).
asio::awaitable<std::unique_ptr<ByteStream>> dial(std::string address);

// Reads until the stream fails: true once the peer has closed it, false if
// it is still open after `limit`.
asio::awaitable<bool> closed_within(ByteStream& stream, std::chrono::milliseconds limit);

// A device connection driven by hand: the initiator's handshake, then sealed
// frames of any content.
struct RawDevice {
    std::unique_ptr<ByteStream> stream;
    std::unique_ptr<FrameSealer> sealer;  // not movable themselves
    std::unique_ptr<FrameOpener> opener;

    // The device handshake as `device` with `certificate`.
    asio::awaitable<Result<void>> handshake(const KeyPair& device, DeviceCertificate certificate);
    // handshake(), then RelayHello{token} and the relay's welcome.
    asio::awaitable<Result<wire::RelayWelcome>> sign_in(const KeyPair& device,
                                                        DeviceCertificate certificate,
                                                        std::string token);
    asio::awaitable<Result<void>> send(const wire::Message& message);
    // Any plaintext, sealed as a frame.
    asio::awaitable<Result<void>> send_sealed(std::span<const std::uint8_t> plaintext);
    asio::awaitable<Result<wire::Message>> receive();
};

// A RawDevice signed in to the fixture's server as device `index` of `user`.
asio::awaitable<RawDevice> raw_device(const ServerFixture& fixture, const User& user,
                                      std::size_t index);

// A request sent through `client`; fails the test if it gets no answer.
asio::awaitable<wire::Message> ask(RelayClient& client, wire::Message request);

// Whether `chunk` is stored for `client`'s account.
asio::awaitable<bool> has_chunk(RelayClient& client, wire::RelayChunkId chunk);

PublicKey random_key();

}  // namespace ferry::relay::test
