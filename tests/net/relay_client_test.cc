#include "net/relay_client.hh"

#include <set>
#include <string_view>
#include <variant>

#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>

#include "net/net_test_support.hh"
#include "net/tcp_socket.hh"

using namespace ferry;
using namespace ferry::net_test;

namespace {

// A ferry-relay stand-in on 127.0.0.1: the device handshake as `identity`,
// RelayHello answered by `greet` (a welcome, or the reason of a Close),
// requests by `answer` (its replies, none to leave a request unanswered);
// connections that start with "FERRYFWD" are kept raw in `forwarded`.
struct FakeRelay {
    FakeRelay(asio::io_context& context, const TestUser& user)
        : io(context), identity(user, "relay") {
        auto listener = open_listener(io, "127.0.0.1:0");
        REQUIRE(listener);
        acceptor = listener->acceptor;
        address = listener->bound;
        asio::co_spawn(io, accept_loop(), asio::detached);
    }
    ~FakeRelay() {
        std::error_code ignored;
        acceptor->close(ignored);
        for (const auto& connection : connections) connection->close("relay shutting down");
    }

    asio::io_context& io;
    TestDevice identity;
    std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
    std::string address;
    int sockets = 0;  // TCP connections accepted
    std::vector<wire::RelayHello> hellos;
    std::vector<std::shared_ptr<Connection>> connections;  // welcomed
    std::vector<wire::Message> requests;
    std::vector<std::pair<wire::ForwardSession, std::unique_ptr<ByteStream>>> forwarded;
    std::function<std::variant<wire::RelayWelcome, std::string>(const wire::RelayHello&)> greet =
        [](const wire::RelayHello&) {
            return wire::RelayWelcome{"alice", 10, 1000};
        };
    bool silent = false;  // records a RelayHello and says nothing
    std::function<std::vector<wire::Message>(const wire::Message&)> answer =
        [](const wire::Message&) { return std::vector<wire::Message>{}; };

    RelayUrl url() const { return RelayUrl{address, identity.key.device_id()}; }

    // Sends an unasked message on the newest connection.
    void push(wire::Message message) {
        asio::co_spawn(io, send_on(connections.back(), std::move(message)), asio::detached);
    }

private:
    static asio::awaitable<void> send_on(std::shared_ptr<Connection> connection,
                                         wire::Message message) {
        (void)co_await connection->send(message);
    }

    asio::awaitable<void> accept_loop() {
        for (;;) {
            std::error_code ec;
            asio::ip::tcp::socket socket =
                co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            ++sockets;
            asio::co_spawn(io, serve(std::move(socket)), asio::detached);
        }
    }

    asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
        std::vector<std::uint8_t> head(8);
        std::error_code ec;
        co_await asio::async_read(socket, asio::buffer(head),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        if (std::string_view(reinterpret_cast<const char*>(head.data()), head.size()) ==
            "FERRYFWD") {
            wire::ForwardSession session{};
            co_await asio::async_read(socket, asio::buffer(session),
                                      asio::redirect_error(asio::use_awaitable, ec));
            if (ec) co_return;
            forwarded.emplace_back(session, make_tcp_stream(std::move(socket)));
            co_return;
        }
        auto stream = make_tcp_stream(std::move(socket), std::move(head));
        const Authorizer anyone = [](const PeerIdentity&) -> Result<void> { return {}; };
        auto accepted = co_await Connection::accept(std::move(stream), identity.key,
                                                    identity.certificate, anyone);
        if (!accepted) co_return;
        const std::shared_ptr<Connection> connection = *accepted;
        auto first = co_await connection->receive();
        if (!first || !std::holds_alternative<wire::RelayHello>(*first)) co_return;
        hellos.push_back(std::get<wire::RelayHello>(*first));
        if (silent) {
            co_await connection->wait_closed();
            co_return;
        }
        const auto greeting = greet(hellos.back());
        if (const auto* reason = std::get_if<std::string>(&greeting)) {
            connection->close(*reason);
            co_return;
        }
        connections.push_back(connection);
        const wire::Message welcome = std::get<wire::RelayWelcome>(greeting);
        (void)co_await connection->send(welcome);
        for (;;) {
            auto message = co_await connection->receive();
            if (!message) co_return;
            requests.push_back(*message);
            const std::vector<wire::Message> replies = answer(*message);
            for (const wire::Message& reply : replies) (void)co_await connection->send(reply);
        }
    }
};

// What the client's hooks saw.
struct Seen {
    std::vector<wire::RelayWelcome> welcomes;
    std::vector<std::string> disconnects;
    int notifies = 0;
    std::vector<wire::ForwardOffer> offers;

    RelayClientHooks hooks() {
        RelayClientHooks h;
        h.on_connected = [this](const wire::RelayWelcome& w) { welcomes.push_back(w); };
        h.on_disconnected = [this](const std::string& why) { disconnects.push_back(why); };
        h.on_notify = [this] { ++notifies; };
        h.on_forward_offer = [this](const wire::ForwardOffer& o) { offers.push_back(o); };
        return h;
    }
};

RelayClientOptions fast_options() {
    RelayClientOptions o;
    o.dial_timeout = 2s;
    o.request_timeout = 5s;
    o.backoff_min = 20ms;
    o.backoff_max = 100ms;
    return o;
}

struct Setup {
    asio::io_context io;
    TestUser user;
    FakeRelay relay{io, user};
    TestDevice device{user, "laptop"};
    Seen seen;
    std::unique_ptr<RelayClient> client;

    void make(RelayClientOptions options = fast_options(), std::optional<RelayUrl> url = {}) {
        client = std::make_unique<RelayClient>(io, device.key, device.certificate,
                                               url.value_or(relay.url()), seen.hooks(),
                                               std::move(options));
    }
    void start(RelayClientOptions options = fast_options(), std::optional<RelayUrl> url = {}) {
        make(std::move(options), std::move(url));
        client->start();
    }
    bool wait(std::function<bool()> done) { return run_bounded(io, eventually(std::move(done))); }
    bool connected() {
        return wait([this] { return client->status().connected; });
    }
};

using Reply = std::optional<Result<wire::Message>>;

// A request run alongside others; its result lands in `out`.
asio::awaitable<void> ask(RelayClient& client, wire::Message message, Reply& out) {
    out = co_await client.request(std::move(message));
}

wire::RelayChunkId chunk_id(std::uint8_t first) {
    wire::RelayChunkId id{};
    id[0] = first;
    return id;
}

std::uint32_t id_of(const wire::Message& request) {
    return std::visit(
        [](const auto& m) -> std::uint32_t {
            if constexpr (requires { m.id; }) {
                return m.id;
            } else {
                return 0;
            }
        },
        request);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("a relay client connects with its hello and reports the welcome", "[relay_client]") {
    Setup s;
    int hellos_asked = 0;
    RelayClientOptions options = fast_options();
    options.hello = [&] {
        ++hellos_asked;
        return wire::RelayHello{"token-1", {"revocation-a", "revocation-b"}};
    };
    s.start(std::move(options));
    REQUIRE(s.connected());

    REQUIRE(s.relay.hellos.size() == 1);
    CHECK(s.relay.hellos[0] == wire::RelayHello{"token-1", {"revocation-a", "revocation-b"}});
    CHECK(hellos_asked == 1);
    REQUIRE(s.relay.connections.size() == 1);
    const PeerIdentity& peer = s.relay.connections[0]->peer();
    CHECK(peer.device_key == s.device.public_key());
    REQUIRE(peer.certificate);
    CHECK(*peer.certificate == s.device.certificate);

    REQUIRE(s.seen.welcomes.size() == 1);
    CHECK(s.seen.welcomes[0] == wire::RelayWelcome{"alice", 10, 1000});
    const RelayStatus status = s.client->status();
    CHECK(status.account == "alice");
    CHECK(status.used_bytes == 10);
    CHECK(status.quota_bytes == 1000);
    CHECK(status.last_error.empty());
    REQUIRE(status.rtt);
    CHECK(status.rtt->count() > 0);
    CHECK(s.client->rtt() == status.rtt);
    CHECK(s.seen.disconnects.empty());
}

TEST_CASE("a relay answering with another key is refused, and the client retries",
          "[relay_client]") {
    Setup s;
    const TestDevice expected(s.user, "the real relay");
    s.start(fast_options(), RelayUrl{s.relay.address, expected.key.device_id()});
    REQUIRE(s.wait([&] { return s.seen.disconnects.size() >= 2; }));

    const std::string refusal = "relay at " + s.relay.address + " answered as " +
                                s.relay.identity.key.device_id().to_string() + ", expected " +
                                expected.key.device_id().to_string();
    CHECK(contains(s.seen.disconnects[0], refusal));
    CHECK(s.relay.sockets >= 2);
    CHECK(s.relay.hellos.empty());
    CHECK(s.seen.welcomes.empty());
    const RelayStatus status = s.client->status();
    CHECK_FALSE(status.connected);
    CHECK(contains(status.last_error, refusal));
}

TEST_CASE("replies reach their requests by id, whatever their order", "[relay_client]") {
    Setup s;
    std::vector<wire::ChunkGet> held;
    s.relay.answer = [&](const wire::Message& m) {
        std::vector<wire::Message> replies;
        if (const auto* put = std::get_if<wire::ChunkPut>(&m)) {
            replies.push_back(wire::RelayReply{put->id, wire::RelayCode::ok, "", 500, 1000});
        }
        if (const auto* get = std::get_if<wire::ChunkGet>(&m)) held.push_back(*get);
        if (held.size() == 3) {  // all three in flight: answer the newest first
            for (auto it = held.rbegin(); it != held.rend(); ++it) {
                // The relay holds the first chunk of each, not the second.
                replies.push_back(
                    wire::ChunkData{it->id,
                                    wire::RelayCode::ok,
                                    {"chunk " + std::to_string(it->chunks[0][0]), ""}});
            }
            held.clear();
        }
        return replies;
    };
    s.start();
    REQUIRE(s.connected());

    std::vector<Reply> replies(3);
    for (std::uint8_t i = 0; i < 3; ++i) {
        asio::co_spawn(s.io,
                       ask(*s.client, wire::ChunkGet{0, {chunk_id(i), chunk_id(100)}}, replies[i]),
                       asio::detached);
    }
    REQUIRE(s.wait([&] { return replies[0] && replies[1] && replies[2]; }));
    for (std::uint8_t i = 0; i < 3; ++i) {
        REQUIRE(*replies[i]);
        const auto* data = std::get_if<wire::ChunkData>(&**replies[i]);
        REQUIRE(data != nullptr);
        CHECK(data->chunks == std::vector<std::string>{"chunk " + std::to_string(i), ""});
    }
    REQUIRE(s.relay.requests.size() == 3);
    std::set<std::uint32_t> ids;
    for (const wire::Message& request : s.relay.requests) ids.insert(id_of(request));
    CHECK(ids.size() == 3);
    CHECK_FALSE(ids.contains(0));

    // Every RelayReply carries the account's usage.
    const wire::ChunkPut put{0, {{chunk_id(9), "sealed"}, {chunk_id(10), "too"}}};
    auto stored = run_bounded(s.io, s.client->request(put));
    REQUIRE(stored);
    CHECK(std::get<wire::RelayReply>(*stored).code == wire::RelayCode::ok);
    CHECK(s.client->status().used_bytes == 500);
    CHECK(s.client->status().quota_bytes == 1000);
}

TEST_CASE("a reply of a type that does not fit its request fails that request", "[relay_client]") {
    Setup s;
    s.relay.answer = [](const wire::Message& m) {
        return std::vector<wire::Message>{wire::ChunkData{id_of(m), wire::RelayCode::ok, {"x"}}};
    };
    s.start();
    REQUIRE(s.connected());
    auto reply = run_bounded(s.io, s.client->request(wire::ChunkHave{0, {chunk_id(1)}}));
    REQUIRE_FALSE(reply);
    CHECK(reply.error().code == Errc::corrupt);
    CHECK(contains(reply.error().message, "answered ChunkHave"));
    CHECK(contains(reply.error().message, "with ChunkData"));
    CHECK(s.client->status().connected);
}

TEST_CASE("a request without a reply in time fails, and its late reply is dropped",
          "[relay_client]") {
    Setup s;
    RelayClientOptions options = fast_options();
    options.request_timeout = 200ms;
    s.start(std::move(options));
    REQUIRE(s.connected());

    auto late = run_bounded(s.io, s.client->request(wire::ChunkGet{0, {chunk_id(1)}}));
    REQUIRE_FALSE(late);
    CHECK(late.error().code == Errc::io);
    CHECK(contains(late.error().message,
                   "relay " + s.relay.address + ": no reply to ChunkGet within 200 ms"));

    // The late reply arrives; the next request gets its own.
    REQUIRE(s.relay.requests.size() == 1);
    s.relay.push(wire::ChunkData{id_of(s.relay.requests[0]), wire::RelayCode::ok, {"late"}});
    s.relay.answer = [](const wire::Message& m) {
        return std::vector<wire::Message>{
            wire::ChunkData{id_of(m), wire::RelayCode::ok, {"fresh"}}};
    };
    auto fresh = run_bounded(s.io, s.client->request(wire::ChunkGet{0, {chunk_id(2)}}));
    REQUIRE(fresh);
    CHECK(std::get<wire::ChunkData>(*fresh).chunks == std::vector<std::string>{"fresh"});
    CHECK(s.client->status().connected);
    CHECK(s.seen.disconnects.empty());
}

TEST_CASE("requests fail clearly when not connected, not requests, or stopped", "[relay_client]") {
    Setup s;
    s.make();
    auto early = run_bounded(s.io, s.client->request(wire::ChunkGet{0, {chunk_id(1)}}));
    REQUIRE_FALSE(early);
    CHECK(early.error().code == Errc::io);
    CHECK(early.error().message == "relay " + s.relay.address + ": not connected");

    s.client->start();
    REQUIRE(s.connected());
    auto ping = run_bounded(s.io, s.client->request(wire::Ping{}));
    REQUIRE_FALSE(ping);
    CHECK(ping.error().code == Errc::invalid_argument);

    Reply pending;
    asio::co_spawn(s.io, ask(*s.client, wire::MailboxFetch{0, 10, 1000}, pending), asio::detached);
    REQUIRE(s.wait([&] { return s.relay.requests.size() == 1; }));
    s.client->stop();
    REQUIRE(s.wait([&] { return pending.has_value(); }));
    REQUIRE_FALSE(*pending);
    CHECK(contains(pending->error().message, "client stopped"));
    CHECK_FALSE(s.client->status().connected);
    REQUIRE(s.wait([&] { return !s.relay.connections[0]->is_open(); }));
    CHECK(s.seen.disconnects.empty());  // no hooks after stop()
    CHECK(s.relay.hellos.size() == 1);  // and no reconnect
}

TEST_CASE("the client reconnects after the relay closes, failing what was in flight",
          "[relay_client]") {
    Setup s;
    int hellos_asked = 0;
    RelayClientOptions options = fast_options();
    options.hello = [&] {
        ++hellos_asked;
        return wire::RelayHello{};
    };
    s.start(std::move(options));
    REQUIRE(s.connected());

    Reply pending;
    asio::co_spawn(s.io, ask(*s.client, wire::ChunkGet{0, {chunk_id(1)}}, pending), asio::detached);
    REQUIRE(s.wait([&] { return s.relay.requests.size() == 1; }));
    s.relay.connections[0]->close("maintenance");
    REQUIRE(s.wait([&] { return pending.has_value(); }));
    REQUIRE_FALSE(*pending);
    CHECK(pending->error().code == Errc::io);
    CHECK(contains(pending->error().message, "connection lost"));
    CHECK(contains(pending->error().message, "maintenance"));
    REQUIRE_FALSE(s.seen.disconnects.empty());
    CHECK(contains(s.seen.disconnects[0], "closed by peer: maintenance"));

    REQUIRE(s.wait([&] { return s.seen.welcomes.size() == 2 && s.client->status().connected; }));
    CHECK(s.relay.hellos.size() == 2);
    CHECK(hellos_asked == 2);
    CHECK(contains(s.client->status().last_error, "maintenance"));
}

TEST_CASE("a Close instead of the welcome surfaces its reason, and the client retries",
          "[relay_client]") {
    Setup s;
    s.relay.greet = [](const wire::RelayHello&) { return std::string("refused: used token"); };
    s.start();
    REQUIRE(s.wait([&] { return s.seen.disconnects.size() >= 2; }));
    CHECK(contains(s.seen.disconnects[0], "refused: used token"));
    CHECK(s.relay.hellos.size() >= 2);
    CHECK(s.seen.welcomes.empty());
    const RelayStatus status = s.client->status();
    CHECK_FALSE(status.connected);
    CHECK(contains(status.last_error, "refused: used token"));
}

TEST_CASE("a relay that never welcomes is given up after the request timeout, and retried",
          "[relay_client]") {
    Setup s;
    s.relay.silent = true;
    RelayClientOptions options = fast_options();
    options.request_timeout = 200ms;
    s.start(std::move(options));
    REQUIRE(s.wait([&] { return s.seen.disconnects.size() >= 2; }));
    CHECK(contains(s.seen.disconnects[0], "no RelayWelcome within 200 ms"));
    CHECK(s.relay.hellos.size() >= 2);
    CHECK(s.seen.welcomes.empty());
    CHECK_FALSE(s.client->status().connected);
}

TEST_CASE(
    "MailboxNotify and ForwardOffer reach their hooks; other unasked messages end the "
    "connection",
    "[relay_client]") {
    Setup s;
    s.start();
    REQUIRE(s.connected());
    wire::ForwardOffer offer;
    offer.session.fill(7);
    offer.from = s.relay.identity.public_key();
    s.relay.push(wire::MailboxNotify{});
    s.relay.push(offer);
    REQUIRE(s.wait([&] { return s.seen.notifies == 1 && s.seen.offers.size() == 1; }));
    CHECK(s.seen.offers[0] == offer);
    CHECK(s.seen.disconnects.empty());

    s.relay.push(wire::RelayWelcome{"alice", 0, 0});
    REQUIRE(s.wait([&] { return !s.seen.disconnects.empty(); }));
    CHECK(contains(s.seen.disconnects[0], "protocol error: unexpected RelayWelcome"));
    REQUIRE(s.wait([&] { return !s.relay.connections[0]->is_open(); }));
    REQUIRE(s.wait([&] { return s.seen.welcomes.size() == 2; }));  // and it comes back
}

TEST_CASE("open_forwarded writes the 40-byte preamble, then carries raw bytes", "[relay_client]") {
    Setup s;
    s.make();  // needs no relay connection
    wire::ForwardSession session{};
    for (std::size_t i = 0; i < session.size(); ++i) session[i] = static_cast<std::uint8_t>(i + 1);
    auto opened = run_bounded(s.io, s.client->open_forwarded(session));
    REQUIRE(opened);
    REQUIRE(s.wait([&] { return s.relay.forwarded.size() == 1; }));
    CHECK(s.relay.forwarded[0].first == session);

    // Nothing else came after the preamble: the next bytes are the caller's.
    const std::vector<std::uint8_t> payload{'h', 'i', '!'};
    REQUIRE(run_bounded(s.io, (*opened)->write_all(payload)));
    std::vector<std::uint8_t> received(payload.size());
    REQUIRE(run_bounded(s.io, s.relay.forwarded[0].second->read_exact(received)));
    CHECK(received == payload);
}

TEST_CASE("forward_to asks the relay for a session and opens it; a refusal is an error",
          "[relay_client]") {
    Setup s;
    const TestDevice desktop(s.user, "desktop");
    const TestDevice away(s.user, "away");
    const TestDevice other(s.user, "other account");
    wire::ForwardSession session{};
    session.fill(42);
    s.relay.answer = [&](const wire::Message& m) {
        std::vector<wire::Message> replies;
        if (const auto* forward = std::get_if<wire::ForwardRequest>(&m)) {
            if (forward->target == desktop.public_key()) {
                replies.push_back(
                    wire::ForwardReply{forward->id, wire::RelayCode::ok, "", session});
            } else if (forward->target == away.public_key()) {
                replies.push_back(wire::ForwardReply{forward->id,
                                                     wire::RelayCode::not_found,
                                                     "device is not connected to this relay",
                                                     {}});
            } else {
                replies.push_back(wire::RelayReply{forward->id, wire::RelayCode::refused,
                                                   "another account", 0, 0});
            }
        }
        return replies;
    };
    s.start();
    REQUIRE(s.connected());

    auto opened = run_bounded(s.io, s.client->forward_to(desktop.public_key()));
    REQUIRE(opened);
    REQUIRE(s.wait([&] { return s.relay.forwarded.size() == 1; }));
    CHECK(s.relay.forwarded[0].first == session);
    REQUIRE(s.relay.requests.size() == 1);
    CHECK(std::get<wire::ForwardRequest>(s.relay.requests[0]).target == desktop.public_key());

    auto missing = run_bounded(s.io, s.client->forward_to(away.public_key()));
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK(contains(missing.error().message, "cannot forward to " +
                                                away.key.device_id().to_string() +
                                                ": device is not connected to this relay"));

    auto refused = run_bounded(s.io, s.client->forward_to(other.public_key()));
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::permission_denied);
    CHECK(contains(refused.error().message, "another account"));
    CHECK(s.relay.forwarded.size() == 1);
}
