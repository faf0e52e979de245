// Connections: handshake, authorisation, framing limits, keepalive and
// timeouts, over the in-memory pipe and TCP on 127.0.0.1 (src/net/connection.cc).
#include "net/connection.hh"

#include <map>

#include <asio/ip/tcp.hpp>

#include "net/net_test_support.hh"

using namespace ferry;
using namespace ferry::net_test;

namespace {

struct Fixture {
    asio::io_context io;
    TestUser user;
    TestDevice laptop{user, "laptop"};
    TestDevice desktop{user, "desktop"};

    Pair open_over_pipe(ConnectionOptions options = {}, std::size_t capacity = 256 * 1024) {
        auto [a, b] = make_memory_pipe(io.get_executor(), capacity);
        return run_bounded(io, open_pair(std::move(a), std::move(b), laptop, desktop,
                                         user.authorizer(), user.authorizer(), options));
    }

    // A Connection on one end of a pipe, a RawPeer (as responder) on the other.
    std::pair<std::shared_ptr<Connection>, std::unique_ptr<RawPeer>> open_with_raw_peer(
        ConnectionOptions options = {}) {
        auto [a, b] = make_memory_pipe(io.get_executor());
        auto raw = std::make_unique<RawPeer>();
        raw->stream = std::move(b);
        std::optional<Result<void>> raw_done;
        asio::co_spawn(
            io, [&]() -> asio::awaitable<void> { raw_done = co_await raw->accept(desktop); },
            asio::detached);
        auto opened = run_bounded(io, Connection::initiate(std::move(a), laptop.key,
                                                            laptop.certificate, user.authorizer(),
                                                            options));
        REQUIRE(opened);
        REQUIRE(run_bounded(io, eventually([&] { return raw_done.has_value(); })));
        REQUIRE(*raw_done);
        return {*opened, std::move(raw)};
    }
};

wire::Request request(std::uint32_t id, std::string folder = "photos") {
    wire::Request r;
    r.id = id;
    r.folder = std::move(folder);
    r.size = 1000;
    return r;
}

asio::awaitable<Result<void>> exchange_both_ways(std::shared_ptr<Connection> a,
                                                 std::shared_ptr<Connection> b) {
    wire::ClusterConfig config;
    config.device_name = "laptop";
    config.folders.push_back(wire::FolderState{"photos", 7, 9, Sequence{42}});
    if (auto r = co_await a->send(config); !r) co_return r;
    if (auto r = co_await b->send(request(5)); !r) co_return r;
    auto at_b = co_await b->receive();
    if (!at_b) co_return tl::unexpected(at_b.error());
    auto at_a = co_await a->receive();
    if (!at_a) co_return tl::unexpected(at_a.error());
    REQUIRE(std::holds_alternative<wire::ClusterConfig>(*at_b));
    CHECK(std::get<wire::ClusterConfig>(*at_b) == config);
    REQUIRE(std::holds_alternative<wire::Request>(*at_a));
    CHECK(std::get<wire::Request>(*at_a) == request(5));
    co_return Result<void>{};
}

}  // namespace

TEST_CASE("a connection over a memory pipe carries messages both ways", "[connection]") {
    Fixture f;
    auto pair = f.open_over_pipe();
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    auto a = *pair.initiated;
    auto b = *pair.accepted;
    CHECK(a->initiated_here());
    CHECK_FALSE(b->initiated_here());
    CHECK(a->peer().device_key == f.desktop.public_key());
    CHECK(b->peer().device_key == f.laptop.public_key());
    REQUIRE(b->peer().certificate);
    CHECK(*b->peer().certificate == f.laptop.certificate);

    REQUIRE(run_bounded(f.io, exchange_both_ways(a, b)));
    CHECK(a->bytes_out() == b->bytes_in());
    CHECK(b->bytes_out() == a->bytes_in());
    CHECK(a->bytes_out() > 0);

    a->close("going to sleep");
    CHECK_FALSE(a->is_open());
    const auto after = run_bounded(f.io, b->receive());
    REQUIRE_FALSE(after);
    CHECK(after.error().code == Errc::io);
    CHECK(after.error().message.find("going to sleep") != std::string::npos);
    CHECK_FALSE(b->is_open());
    const auto sent = run_bounded(f.io, a->send(wire::Ping{}));
    REQUIRE_FALSE(sent);
    CHECK(sent.error().code == Errc::io);
}

TEST_CASE("a connection over TCP on 127.0.0.1 carries messages both ways", "[connection]") {
    Fixture f;
    asio::ip::tcp::acceptor acceptor(f.io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(f.io);
    client.connect(acceptor.local_endpoint());
    auto server = make_tcp_stream(acceptor.accept());
    auto pair = run_bounded(
        f.io, open_pair(make_tcp_stream(std::move(client)), std::move(server), f.laptop,
                        f.desktop, f.user.authorizer(), f.user.authorizer()));
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    CHECK((*pair.initiated)->peer_address() == address_text(acceptor.local_endpoint()));
    REQUIRE(run_bounded(f.io, exchange_both_ways(*pair.initiated, *pair.accepted)));

    // A frame far larger than the socket buffers arrives whole.
    wire::Response big;
    big.id = 77;
    big.data.resize(3u << 20);
    for (std::size_t i = 0; i < big.data.size(); ++i) big.data[i] = static_cast<char>(i % 251);
    std::optional<Result<void>> sent;
    asio::co_spawn(
        f.io, [&]() -> asio::awaitable<void> { sent = co_await (*pair.accepted)->send(big); },
        asio::detached);
    const auto got = run_bounded(f.io, (*pair.initiated)->receive());
    REQUIRE(got);
    CHECK(std::get<wire::Response>(*got) == big);
    REQUIRE(run_bounded(f.io, eventually([&] { return sent.has_value(); })));
    CHECK(*sent);
    CHECK((*pair.initiated)->bytes_out() == (*pair.accepted)->bytes_in());
    CHECK((*pair.accepted)->bytes_out() == (*pair.initiated)->bytes_in());
}

TEST_CASE("a device of another user is refused by either side before any message",
          "[connection]") {
    Fixture f;
    TestUser stranger;
    TestDevice intruder(stranger, "intruder");
    const Authorizer trusts_anyone = [](const PeerIdentity&) -> Result<void> { return {}; };

    SECTION("the responder refuses: the initiator's first receive finds the stream closed") {
        auto [a, b] = make_memory_pipe(f.io.get_executor());
        auto pair = run_bounded(f.io, open_pair(std::move(a), std::move(b), intruder, f.desktop,
                                                trusts_anyone, f.user.authorizer()));
        REQUIRE_FALSE(pair.accepted);
        CHECK(pair.accepted.error().code == Errc::permission_denied);
        CHECK(pair.accepted.error().message.starts_with("memory-pipe:a: "));
        REQUIRE(pair.initiated);  // it cannot know before message 3 is judged
        const auto got = run_bounded(f.io, (*pair.initiated)->receive());
        REQUIRE_FALSE(got);
        CHECK(got.error().message.find("closed by peer") != std::string::npos);
        CHECK((*pair.initiated)->bytes_in() < 1024);  // handshake message 2 only
    }
    SECTION("the initiator refuses after message 2 and never sends message 3") {
        auto [a, b] = make_memory_pipe(f.io.get_executor());
        auto pair = run_bounded(f.io, open_pair(std::move(a), std::move(b), f.laptop, intruder,
                                                f.user.authorizer(), trusts_anyone));
        REQUIRE_FALSE(pair.initiated);
        CHECK(pair.initiated.error().code == Errc::permission_denied);
        REQUIRE_FALSE(pair.accepted);
        CHECK(pair.accepted.error().code == Errc::io);
    }
}

TEST_CASE("a joining device is accepted only with the invite's secret", "[connection]") {
    Fixture f;
    const TestDevice joiner(f.user, "new phone");
    const InviteCredential invite{InviteId{1, 2, 3}, InviteSecret{9, 9, 9}};
    auto accept_invites = [](const PeerIdentity& peer) -> Result<void> {
        if (peer.invite_id) return {};
        return fail(Errc::permission_denied, "not an invite");
    };
    auto open_with = [&](InviteSecretLookup lookup) {
        ConnectionOptions options;
        options.invite_secret = std::move(lookup);
        auto [a, b] = make_memory_pipe(f.io.get_executor());
        std::optional<Opened> accepted;
        asio::co_spawn(
            f.io,
            [&, b = std::move(b)]() mutable -> asio::awaitable<void> {
                accepted = co_await Connection::accept(std::move(b), f.desktop.key,
                                                       f.desktop.certificate, accept_invites,
                                                       options);
            },
            asio::detached);
        auto initiated = run_bounded(f.io, Connection::initiate(std::move(a), joiner.key, invite,
                                                                f.user.authorizer()));
        REQUIRE(run_bounded(f.io, eventually([&] { return accepted.has_value(); })));
        return std::move(*accepted);
    };
    const auto right = open_with([&](const InviteId& id) -> std::optional<InviteSecret> {
        if (id == invite.invite_id) return invite.secret;
        return std::nullopt;
    });
    REQUIRE(right);
    REQUIRE((*right)->peer().invite_id);
    CHECK(*(*right)->peer().invite_id == invite.invite_id);

    const auto wrong = open_with([](const InviteId&) { return InviteSecret{1}; });
    REQUIRE_FALSE(wrong);
    CHECK(wrong.error().code == Errc::permission_denied);
    const auto no_lookup = open_with({});
    REQUIRE_FALSE(no_lookup);
    CHECK(no_lookup.error().code == Errc::permission_denied);
}

TEST_CASE("a frame length over the limit closes the connection without allocating it",
          "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.limits.max_frame = 64 * 1024;
    auto [connection, raw] = f.open_with_raw_peer(options);
    for (const std::uint32_t length : {std::uint32_t{0xFFFFFFFF}, std::uint32_t{64 * 1024 + 1}}) {
        INFO(length);
        if (length != 0xFFFFFFFF) std::tie(connection, raw) = f.open_with_raw_peer(options);
        const std::array<std::uint8_t, 4> header{
            static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
            static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
        REQUIRE(run_bounded(f.io, raw->stream->write_all(header)));
        const auto got = run_bounded(f.io, connection->receive());
        REQUIRE_FALSE(got);
        CHECK(got.error().code == Errc::corrupt);
        CHECK(got.error().message.find(std::to_string(length)) != std::string::npos);
        CHECK_FALSE(connection->is_open());
        // The peer is told why, then the stream ends.
        const auto told = run_bounded(f.io, raw->receive());
        REQUIRE(told);
        REQUIRE(std::holds_alternative<wire::Close>(*told));
        REQUIRE_FALSE(run_bounded(f.io, raw->receive()));
    }
}

TEST_CASE("a frame with one flipped ciphertext byte closes the connection", "[connection]") {
    Fixture f;
    auto [connection, raw] = f.open_with_raw_peer();
    REQUIRE(run_bounded(f.io, raw->send(request(1))));
    const auto first = run_bounded(f.io, connection->receive());
    REQUIRE(first);
    CHECK(std::get<wire::Request>(*first) == request(1));

    std::vector<std::uint8_t> frame = raw->sealer->seal(wire::encode(request(2)));
    frame[frame.size() / 2] ^= 0x01;
    REQUIRE(run_bounded(f.io, raw->stream->write_all(frame)));
    const auto second = run_bounded(f.io, connection->receive());
    REQUIRE_FALSE(second);
    CHECK(second.error().code == Errc::corrupt);
    CHECK(second.error().message.starts_with("memory-pipe:b: "));
    CHECK_FALSE(connection->is_open());
    const auto later = run_bounded(f.io, connection->receive());
    REQUIRE_FALSE(later);
    CHECK(later.error().code == Errc::io);
}

TEST_CASE("a valid frame with a malformed message closes the connection", "[connection]") {
    Fixture f;
    auto [connection, raw] = f.open_with_raw_peer();
    const std::vector<std::uint8_t> garbage{0x93, 0x01, 0xc1, 0xff};
    REQUIRE(run_bounded(f.io, raw->stream->write_all(raw->sealer->seal(garbage))));
    const auto got = run_bounded(f.io, connection->receive());
    REQUIRE_FALSE(got);
    CHECK(got.error().code == Errc::corrupt);
    CHECK_FALSE(connection->is_open());
}

TEST_CASE("an idle sender pings, and pings never reach receive()", "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.ping_interval = 20ms;
    auto [connection, raw] = f.open_with_raw_peer(options);
    for (int i = 0; i < 3; ++i) {  // the connection sends pings without being asked
        const auto got = run_bounded(f.io, raw->receive());
        REQUIRE(got);
        CHECK(std::holds_alternative<wire::Ping>(*got));
    }
    REQUIRE(run_bounded(f.io, raw->send(wire::Ping{})));
    REQUIRE(run_bounded(f.io, raw->send(wire::Ping{})));
    REQUIRE(run_bounded(f.io, raw->send(request(3))));
    const auto got = run_bounded(f.io, connection->receive());
    REQUIRE(got);
    CHECK(std::get<wire::Request>(*got) == request(3));
}

TEST_CASE("pings keep a quiet connection alive past the idle timeout", "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.ping_interval = 20ms;
    options.idle_timeout = 1000ms;
    auto pair = f.open_over_pipe(options);
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    auto a = *pair.initiated;
    auto b = *pair.accepted;
    std::optional<Result<wire::Message>> at_a;
    asio::co_spawn(
        f.io, [&, a]() -> asio::awaitable<void> { at_a = co_await a->receive(); },
        asio::detached);
    const auto at_b = run_bounded(f.io, [&]() -> asio::awaitable<Result<wire::Message>> {
        co_await pause(2500ms);  // 2.5 idle timeouts with nothing but pings
        CHECK(a->is_open());
        CHECK(b->is_open());
        CHECK(a->bytes_in() > 0);
        // (No co_await inside Catch's macros: GCC evaluates it twice.)
        if (auto sent = co_await a->send(request(4)); !sent) co_return tl::unexpected(sent.error());
        co_return co_await b->receive();
    }());
    REQUIRE(at_b);
    CHECK(std::get<wire::Request>(*at_b) == request(4));
    CHECK_FALSE(at_a.has_value());
}

TEST_CASE("a silent peer times out a waiting receive()", "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.idle_timeout = 100ms;
    auto [connection, raw] = f.open_with_raw_peer(options);
    const auto got = run_bounded(f.io, connection->receive());
    REQUIRE_FALSE(got);
    CHECK(got.error().code == Errc::io);
    CHECK(got.error().message.find("timed out") != std::string::npos);
    CHECK_FALSE(connection->is_open());
    CHECK(run_bounded(f.io, [](auto c) -> asio::awaitable<bool> {
        co_await c->wait_closed();
        co_return true;
    }(connection)));
    // The peer is told why.
    const auto told = run_bounded(f.io, raw->receive());
    REQUIRE(told);
    REQUIRE(std::holds_alternative<wire::Close>(*told));
    CHECK(std::get<wire::Close>(*told).reason == "timed out");
}

TEST_CASE("a handshake that does not finish in time fails with a timeout", "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.handshake_timeout = 100ms;
    auto [a, b] = make_memory_pipe(f.io.get_executor());  // b never answers
    const auto opened = run_bounded(f.io, Connection::initiate(std::move(a), f.laptop.key,
                                                                f.laptop.certificate,
                                                                f.user.authorizer(), options));
    REQUIRE_FALSE(opened);
    CHECK(opened.error().code == Errc::io);
    CHECK(opened.error().message == "memory-pipe:b: handshake timed out after 100 ms");
}

TEST_CASE("a handshake frame over the handshake limit is refused", "[connection]") {
    Fixture f;
    auto [a, b] = make_memory_pipe(f.io.get_executor());
    std::optional<Opened> accepted;
    asio::co_spawn(
        f.io,
        [&, &b = b]() -> asio::awaitable<void> {
            accepted = co_await Connection::accept(std::move(b), f.desktop.key,
                                                   f.desktop.certificate, f.user.authorizer());
        },
        asio::detached);
    const std::vector<std::uint8_t> big(Handshake::kMaxMessageBytes + 1, 0x42);
    REQUIRE(run_bounded(f.io, a->write_all(frame_of(big))));
    REQUIRE(run_bounded(f.io, eventually([&] { return accepted.has_value(); })));
    REQUIRE_FALSE(*accepted);
    CHECK(accepted->error().code == Errc::corrupt);
}

TEST_CASE("concurrent sends go out whole and in each sender's order", "[connection]") {
    Fixture f;
    auto pair = f.open_over_pipe({}, 1024);  // a pipe far smaller than the messages
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    auto a = *pair.initiated;
    auto b = *pair.accepted;
    constexpr int kSenders = 8;
    constexpr int kEach = 12;
    int finished = 0;
    int failures = 0;
    for (int sender = 0; sender < kSenders; ++sender) {
        asio::co_spawn(
            f.io,
            [&, a, sender]() -> asio::awaitable<void> {
                for (int i = 0; i < kEach; ++i) {
                    wire::Response response;
                    response.id = static_cast<std::uint32_t>(sender * 1000 + i);
                    response.data.assign(static_cast<std::size_t>(100 + 997 * (i + sender)),
                                         static_cast<char>('a' + sender));
                    if (!co_await a->send(response)) ++failures;
                }
                ++finished;
            },
            asio::detached);
    }
    std::map<int, int> next;  // sender -> next index expected
    for (int n = 0; n < kSenders * kEach; ++n) {
        const auto got = run_bounded(f.io, b->receive());
        REQUIRE(got);
        const auto& response = std::get<wire::Response>(*got);
        const int sender = static_cast<int>(response.id / 1000);
        const int index = static_cast<int>(response.id % 1000);
        CHECK(index == next[sender]++);
        CHECK(response.data ==
              std::string(static_cast<std::size_t>(100 + 997 * (index + sender)),
                          static_cast<char>('a' + sender)));
    }
    CHECK(run_bounded(f.io, eventually([&] { return finished == kSenders; })));
    CHECK(failures == 0);
    CHECK(a->bytes_out() == b->bytes_in());
}

TEST_CASE("senders waiting for a blocked stream leave the io thread idle", "[connection]") {
    Fixture f;
    auto pair = f.open_over_pipe({}, 1024);  // nobody reads b: the pipe fills at once
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    auto a = *pair.initiated;
    auto b = *pair.accepted;
    constexpr int kSenders = 3;
    int finished = 0;
    for (int sender = 0; sender < kSenders; ++sender) {
        asio::co_spawn(
            f.io,
            [&, a, sender]() -> asio::awaitable<void> {
                wire::Response response;
                response.id = static_cast<std::uint32_t>(sender);
                response.data.assign(64 << 10, 'x');
                if (co_await a->send(response)) ++finished;
            },
            asio::detached);
    }
    // Every sender now waits for its frame to be written. Waiting must not
    // keep the io thread busy (waiters that re-armed a shared timer woke
    // each other without end).
    std::size_t handlers = 0;
    const auto until = std::chrono::steady_clock::now() + 200ms;
    while (std::chrono::steady_clock::now() < until) handlers += f.io.run_one_for(20ms);
    f.io.restart();
    CHECK(handlers < 100);
    CHECK(finished == 0);
    for (int n = 0; n < kSenders; ++n) REQUIRE(run_bounded(f.io, b->receive()));
    CHECK(run_bounded(f.io, eventually([&] { return finished == kSenders; })));
}

TEST_CASE("a message over the frame limit is refused at send() and the connection stays",
          "[connection]") {
    Fixture f;
    ConnectionOptions options;
    options.limits.max_frame = 4096;
    auto pair = f.open_over_pipe(options);
    REQUIRE(pair.initiated);
    auto a = *pair.initiated;
    wire::Response response;
    response.data.assign(5000, 'x');
    const auto sent = run_bounded(f.io, a->send(response));
    REQUIRE_FALSE(sent);
    CHECK(sent.error().code == Errc::invalid_argument);
    CHECK(a->is_open());
    REQUIRE(run_bounded(f.io, a->send(request(1))));
    const auto got = run_bounded(f.io, (*pair.accepted)->receive());
    REQUIRE(got);
    CHECK(std::get<wire::Request>(*got) == request(1));
}

TEST_CASE("close() fails a pending receive, and dropping a connection closes it",
          "[connection]") {
    Fixture f;
    auto pair = f.open_over_pipe();
    REQUIRE(pair.initiated);
    REQUIRE(pair.accepted);
    auto a = *pair.initiated;
    std::optional<Result<wire::Message>> pending;
    asio::co_spawn(
        f.io, [&, a]() -> asio::awaitable<void> { pending = co_await a->receive(); },
        asio::detached);
    f.io.poll();
    CHECK_FALSE(pending.has_value());
    a->close("test over");
    REQUIRE(run_bounded(f.io, eventually([&] { return pending.has_value(); })));
    REQUIRE_FALSE(*pending);
    CHECK(pending->error().code == Errc::io);
    CHECK(pending->error().message.find("test over") != std::string::npos);

    auto b = *pair.accepted;
    pair = f.open_over_pipe();
    std::weak_ptr<Connection> dropped = *pair.initiated;
    auto survivor = *pair.accepted;
    pair.initiated = tl::unexpected(Error{});
    CHECK(dropped.expired());
    const auto got = run_bounded(f.io, survivor->receive());
    REQUIRE_FALSE(got);
    CHECK(got.error().message.find("closed by peer") != std::string::npos);
}
