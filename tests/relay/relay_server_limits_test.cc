// The relay server against clients that misbehave: silence, garbage, bad
// frames, strangers, too many connections, too many requests.
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "relay_server_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

namespace {

// A chunk request that every connected device may send.
wire::Message have_request() {
    return wire::ChunkHave{0, {chunk_id(7)}};
}

bool is_have_reply(const wire::Message& message) {
    return std::holds_alternative<wire::ChunkHaveReply>(message);
}

// Sends `bytes` on a new TCP connection and tells whether the relay closed
// it within `limit`.
asio::awaitable<bool> closed_after_sending(std::string address, std::vector<std::uint8_t> bytes,
                                           std::chrono::milliseconds limit) {
    auto stream = co_await dial(address);
    if (!bytes.empty()) {
        auto written = co_await stream->write_all(bytes);
        REQUIRE(written);
    }
    co_return co_await closed_within(*stream, limit);
}

}  // namespace

TEST_CASE("unauthenticated connections that stay silent or send garbage are closed",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.hello_timeout = 1s;
    f.start(options);
    User alice = f.relay.add_user("alice", 0);
    auto client = f.connected(alice, 0);

    SECTION("silent: closed after hello_timeout") {
        CHECK(f.run(closed_after_sending(f.address, {}, 8s)));
    }
    SECTION("garbage: a handshake frame length over the limit") {
        CHECK(f.run(closed_after_sending(f.address, std::vector<std::uint8_t>(64, 0xab), 8s)));
    }
    SECTION("garbage: a handshake frame that is not a handshake message") {
        const std::vector<std::uint8_t> frame =
            net_test::frame_of(std::vector<std::uint8_t>(40, 7));
        CHECK(f.run(closed_after_sending(f.address, frame, 8s)));
    }
    SECTION("garbage after a forwarding magic's first bytes") {
        std::vector<std::uint8_t> bytes{'F', 'E', 'R', 'R', 'X', 'X', 'X', 'X'};
        bytes.resize(40, 0);
        CHECK(f.run(closed_after_sending(f.address, bytes, 8s)));
    }
    SECTION("a forwarding preamble with an unknown session") {
        std::vector<std::uint8_t> bytes{'F', 'E', 'R', 'R', 'Y', 'F', 'W', 'D'};
        bytes.resize(40, 0x5a);
        CHECK(f.run(closed_after_sending(f.address, bytes, 8s)));
    }
    // The authenticated device was served all along, and still is.
    CHECK(client->status().connected);
    const wire::Message reply = f.run(ask(*client, have_request()));
    CHECK(is_have_reply(reply));
    CHECK(f.server->stats().refused >= 1);
    CHECK(f.server->stats().authenticated == 1);
}

TEST_CASE("a device past the handshake must send RelayHello first, within hello_timeout",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.hello_timeout = 1s;
    f.start(options);
    User alice = f.relay.add_user("alice", 0);
    RawDevice raw;
    raw.stream = f.run(dial(f.address));
    REQUIRE(f.run(raw.handshake(alice.devices[0], alice.certificate(0))));
    std::string expected;
    SECTION("nothing after the handshake") {
        expected = "no RelayHello in time";
    }
    SECTION("a request instead of the hello") {
        REQUIRE(f.run(raw.send(have_request())));
        expected = "expected RelayHello";
    }
    auto answer = f.run(raw.receive());
    REQUIRE(answer);
    const auto* close = std::get_if<wire::Close>(&*answer);
    REQUIRE(close != nullptr);
    CHECK_THAT(close->reason, Catch::Contains(expected));
    CHECK(f.run(closed_within(*raw.stream, 5s)));
    CHECK(f.server->stats().authenticated == 0);
    CHECK(f.server->stats().refused == 1);
}

TEST_CASE("devices of unknown users and used tokens are refused with a clear reason",
          "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    auto client = f.connected(alice, 0);

    SECTION("another user's device without a token") {
        User bob;
        bob.devices.push_back(KeyPair::generate());
        auto stranger = f.client(bob, 0);
        RelayClient* const raw = stranger.get();
        REQUIRE(f.wait_for([raw] { return !raw->status().last_error.empty(); }));
        CHECK(!raw->status().connected);
        CHECK_THAT(raw->status().last_error,
                   Catch::Contains("no account here belongs to this user"));
    }
    SECTION("another user's device with alice's used token") {
        User mallory;
        mallory.devices.push_back(KeyPair::generate());
        mallory.token = alice.token;
        auto thief = f.client(mallory, 0);
        RelayClient* const raw = thief.get();
        REQUIRE(f.wait_for([raw] { return !raw->status().last_error.empty(); }));
        CHECK(!raw->status().connected);
        CHECK_THAT(raw->status().last_error, Catch::Contains("was used already"));
    }
    SECTION("a malformed token") {
        User carol;
        carol.devices.push_back(KeyPair::generate());
        carol.token = "not-a-token";
        auto wrong = f.client(carol, 0);
        RelayClient* const raw = wrong.get();
        REQUIRE(f.wait_for([raw] { return !raw->status().last_error.empty(); }));
        CHECK_THAT(raw->status().last_error, Catch::Contains("token is malformed"));
    }
    CHECK(f.server->stats().authenticated == 1);
    CHECK(f.server->stats().refused >= 1);
    CHECK(client->status().connected);
}

TEST_CASE("a bad frame after the hello closes that connection only", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0, 3);
    auto client = f.connected(alice, 0);
    RawDevice raw = f.run(raw_device(f, alice, 1));
    REQUIRE(f.wait_for([&] { return f.server->stats().authenticated == 2; }));

    SECTION("a sealed frame that is no message") {
        const std::vector<std::uint8_t> junk{0xc1, 0x00, 0xff};
        REQUIRE(f.run(raw.send_sealed(junk)));
    }
    SECTION("a frame that fails authentication") {
        std::vector<std::uint8_t> forged = net_test::frame_of(std::vector<std::uint8_t>(48, 1));
        REQUIRE(f.run(raw.stream->write_all(forged)));
    }
    SECTION("a frame length over the limit") {
        // Nothing follows the length: the relay must not wait for (or
        // allocate) 4 GiB, it closes on the length alone.
        const std::vector<std::uint8_t> length{0xff, 0xff, 0xff, 0xf0};
        REQUIRE(f.run(raw.stream->write_all(length)));
    }
    SECTION("a message the relay never takes from a device") {
        const wire::Message welcome = wire::RelayWelcome{"alice", 0, 0};
        REQUIRE(f.run(raw.send(welcome)));
        // Answered as a refused request or closed; either way not served.
        auto answer = f.run(raw.receive());
        if (answer) {
            const auto* reply = std::get_if<wire::RelayReply>(&*answer);
            REQUIRE(reply != nullptr);
            CHECK(reply->code != wire::RelayCode::ok);
            raw.stream->close();
        }
    }
    CHECK(f.run(closed_within(*raw.stream, 5s)));
    REQUIRE(f.wait_for([&] { return f.server->stats().authenticated == 1; }));
    CHECK(client->status().connected);
    const wire::Message reply = f.run(ask(*client, have_request()));
    CHECK(is_have_reply(reply));
}

TEST_CASE("a ChunkPut over kMaxSealedChunk is refused and nothing is stored", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    auto client = f.connected(alice, 0);
    RawDevice raw = f.run(raw_device(f, alice, 1));

    const wire::Message put =
        wire::ChunkPut{1, {{chunk_id(9), std::string(wire::kMaxSealedChunk + 1, 'x')}}};
    REQUIRE(f.run(raw.send(put)));
    // Refused by the codec (the relay closes with a reason) or by the
    // service (too_large).
    auto answer = f.run(raw.receive());
    if (answer) {
        if (const auto* close = std::get_if<wire::Close>(&*answer)) {
            UNSCOPED_INFO("closed: " << close->reason);
            CHECK_THAT(close->reason, Catch::Contains("data"));
        } else {
            const auto* reply = std::get_if<wire::RelayReply>(&*answer);
            REQUIRE(reply != nullptr);
            CHECK(reply->code == wire::RelayCode::too_large);
        }
    }
    CHECK_FALSE(f.run(has_chunk(*client, chunk_id(9))));

    // One at the limit is taken (from a connection in good standing).
    const wire::Message fits =
        wire::ChunkPut{0, {{chunk_id(10), std::string(wire::kMaxSealedChunk, 'y')}}};
    const wire::Message stored = f.run(ask(*client, fits));
    const auto* reply = std::get_if<wire::RelayReply>(&stored);
    REQUIRE(reply != nullptr);
    CHECK(reply->code == wire::RelayCode::ok);
    CHECK(f.run(has_chunk(*client, chunk_id(10))));
}

TEST_CASE("unauthenticated connections over the per-address cap are closed at once",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.hello_timeout = 30s;  // the silent ones would stay this long
    options.max_unauthenticated_per_address = 2;
    f.start(options);
    User alice = f.relay.add_user("alice", 0);

    auto first = f.run(dial(f.address));
    auto second = f.run(dial(f.address));
    REQUIRE(f.wait_for([&] { return f.server->stats().connections == 2; }));
    // Closed long before hello_timeout.
    CHECK(f.run(closed_after_sending(f.address, {}, 5s)));
    CHECK(f.server->stats().refused == 1);
    CHECK(f.server->stats().connections == 2);

    // A device cannot get in either while the two wait...
    auto blocked = f.client(alice, 0);
    RelayClient* const raw = blocked.get();
    REQUIRE(f.wait_for([&] { return f.server->stats().refused >= 2; }));
    CHECK(!raw->status().connected);
    blocked.reset();

    // ...and can once one of them has gone; then it no longer counts.
    first->close();
    REQUIRE(f.wait_for([&] { return f.server->stats().connections == 1; }));
    auto client = f.connected(alice, 0);
    auto third = f.run(dial(f.address));
    REQUIRE(f.wait_for([&] { return f.server->stats().connections == 3; }));
    CHECK(f.run(closed_after_sending(f.address, {}, 5s)));
    CHECK(client->status().connected);
}

TEST_CASE("connections over max_connections or max_connections_per_account are refused",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    User alice = f.relay.add_user("alice", 0, 3);
    User bob = f.relay.add_user("bob", 0, 1);

    SECTION("per account") {
        options.max_connections_per_account = 2;
        f.start(options);
        auto first = f.connected(alice, 0);
        auto second = f.connected(alice, 1);
        auto third = f.client(alice, 2);
        RelayClient* const raw = third.get();
        REQUIRE(f.wait_for([raw] { return !raw->status().last_error.empty(); }));
        CHECK(!raw->status().connected);
        CHECK_THAT(raw->status().last_error,
                   Catch::Contains("too many connections for account alice"));
        // Another account is not affected.
        auto other = f.connected(bob, 0);
        // A place freed is taken again.
        first.reset();
        CHECK(f.wait_for([raw] { return raw->status().connected; }));
    }
    SECTION("in all") {
        options.max_connections = 2;
        f.start(options);
        auto first = f.connected(alice, 0);
        auto second = f.connected(bob, 0);
        CHECK(f.run(closed_after_sending(f.address, {}, 5s)));
        CHECK(f.server->stats().connections == 2);
        CHECK(f.server->stats().refused >= 1);
        second.reset();
        REQUIRE(f.wait_for([&] { return f.server->stats().connections == 1; }));
        auto third = f.connected(alice, 2);
    }
}

namespace {

// The local service, with requests held at a gate: counts how many are
// being handled at once.
class GatedService final : public RelayService {
public:
    explicit GatedService(RelayService& inner) : m_inner(inner) {}

    Result<std::pair<DeviceSession, wire::RelayWelcome>> hello(
        const DeviceCertificate& certificate, const wire::RelayHello& hello) override {
        return m_inner.hello(certificate, hello);
    }
    wire::Message handle(const DeviceSession& session, const wire::Message& request,
                         const std::function<void(const PublicKey&)>& on_posted) override {
        {
            std::unique_lock lock(m_mutex);
            ++m_running;
            m_most = std::max(m_most, m_running);
            m_changed.wait(lock, [this] { return m_open; });
            --m_running;
        }
        return m_inner.handle(session, request, on_posted);
    }
    bool allowed(const DeviceSession& session) override { return m_inner.allowed(session); }
    Result<std::vector<PublicKey>> maintain() override { return m_inner.maintain(); }

    void open() {
        std::lock_guard lock(m_mutex);
        m_open = true;
        m_changed.notify_all();
    }
    int running() {
        std::lock_guard lock(m_mutex);
        return m_running;
    }
    int most() {
        std::lock_guard lock(m_mutex);
        return m_most;
    }

private:
    RelayService& m_inner;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    bool m_open = false;
    int m_running = 0;
    int m_most = 0;
};

}  // namespace

TEST_CASE("a connection's requests handled at once are bounded in count and in bytes",
          "[relay][server]") {
    ServerFixture f;
    GatedService gated(*f.relay.service);
    ServerOptions options = fast_options();
    User alice = f.relay.add_user("alice", 0);
    std::unique_ptr<RelayClient> client;
    int answered = 0;
    const auto send_all = [&](const std::vector<wire::Message>& requests) {
        for (const wire::Message& request : requests) {
            asio::co_spawn(
                f.io,
                [&, request]() -> asio::awaitable<void> {
                    co_await ask(*client, request);
                    ++answered;
                },
                asio::detached);
        }
    };
    const auto start = [&] {
        f.start(options, &gated);
        client = f.connected(alice, 0);
    };

    SECTION("at most max_requests_in_flight") {
        options.max_requests_in_flight = 2;
        start();
        send_all(std::vector<wire::Message>(6, have_request()));
        REQUIRE(f.wait_for([&] { return gated.running() == 2; }));
        // The pool has 4 threads: without the limit the other requests would
        // reach the service now.
        f.wait_for([] { return false; }, 300ms);
        CHECK(gated.most() == 2);
        CHECK(answered == 0);
        gated.open();
        REQUIRE(f.wait_for([&] { return answered == 6; }));
        CHECK(gated.most() == 2);
    }
    SECTION("small puts are not held back by max_bytes_in_flight") {
        options.max_bytes_in_flight = 2 * wire::kMaxSealedChunk;
        start();
        std::vector<wire::Message> puts;
        for (std::uint8_t i = 0; i < 4; ++i)
            puts.push_back(wire::ChunkPut{
                0, {{chunk_id(static_cast<std::uint8_t>(20 + i)), std::string(1000, 'p')}}});
        send_all(puts);
        // The pool's 4 threads all take one.
        REQUIRE(f.wait_for([&] { return gated.running() == 4; }));
        gated.open();
        REQUIRE(f.wait_for([&] { return answered == 4; }));
    }
    SECTION("a get counts as its chunks at the largest size against max_bytes_in_flight") {
        options.max_bytes_in_flight = 4 * wire::kMaxSealedChunk;
        start();
        send_all(std::vector<wire::Message>(4, wire::ChunkGet{0, {chunk_id(20), chunk_id(21)}}));
        REQUIRE(f.wait_for([&] { return gated.running() == 2; }));
        f.wait_for([] { return false; }, 300ms);
        CHECK(gated.most() == 2);
        gated.open();
        REQUIRE(f.wait_for([&] { return answered == 4; }));
        CHECK(gated.most() == 2);
    }
}

TEST_CASE("a device that stops reading its replies is disconnected after reply_timeout",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.reply_timeout = 1s;
    f.start(options);
    User alice = f.relay.add_user("alice", 0);
    auto client = f.connected(alice, 0);
    const wire::Message put =
        wire::ChunkPut{0, {{chunk_id(1), std::string(wire::kMaxSealedChunk, 'z')}}};
    REQUIRE(std::get<wire::RelayReply>(f.run(ask(*client, put))).code == wire::RelayCode::ok);

    // Many gets of a big chunk, never reading: the replies fill the socket
    // buffers, the relay's send waits, and its deadline closes the connection.
    RawDevice raw = f.run(raw_device(f, alice, 1));
    for (std::uint32_t id = 1; id <= 200; ++id) {
        const wire::Message get = wire::ChunkGet{id, {chunk_id(1)}};
        if (!f.run(raw.send(get))) break;  // the relay stopped reading: fine
    }
    CHECK(f.wait_for([&] { return f.server->stats().authenticated == 1; }, 10s));
    // The well-behaved device is still served.
    CHECK(f.run(has_chunk(*client, chunk_id(1))));
}

TEST_CASE("a connection under connection_bytes_per_second still puts and gets",
          "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.connection_bytes_per_second = 4u << 20;  // paced, never stalled
    f.start(options);
    User alice = f.relay.add_user("alice", 0);
    auto client = f.connected(alice, 0);
    const std::string data(wire::kMaxSealedChunk, 'r');
    const wire::Message put = wire::ChunkPut{0, {{chunk_id(5), data}}};
    REQUIRE(std::get<wire::RelayReply>(f.run(ask(*client, put))).code == wire::RelayCode::ok);
    const wire::Message get = wire::ChunkGet{0, {chunk_id(5)}};
    const auto got = f.run(ask(*client, get));
    CHECK(std::get<wire::ChunkData>(got).chunks == std::vector<std::string>{data});
}
