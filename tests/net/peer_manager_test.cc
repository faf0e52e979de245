#include "net/peer_manager.hh"

#include <list>
#include <set>

#include <asio/ip/tcp.hpp>

#include "net/net_test_support.hh"

using namespace ferry;
using namespace ferry::net_test;

namespace {

// One device: its manager, what its hooks saw, and a receive loop per
// connection (as the engine runs), so that closes are noticed.
struct Node {
    Node(asio::io_context& context, const TestUser& u, std::string name)
        : io(context), user(u), device(u, std::move(name)) {}

    asio::io_context& io;
    const TestUser& user;
    TestDevice device;
    std::unique_ptr<PeerManager> manager;
    std::set<PublicKey> refused;
    int authorized = 0;
    std::map<PublicKey, int> refusals;
    std::vector<std::shared_ptr<Connection>> connected;  // every on_connected
    std::vector<std::shared_ptr<Connection>> joined;
    std::vector<std::pair<Connection*, wire::Message>> received;
    std::vector<Error> ended;  // how receive loops ended

    PublicKey key() const { return device.public_key(); }

    std::string start(const std::string& listen = "127.0.0.1:0") {
        PeerManagerHooks hooks;
        hooks.authorize = [this](const PeerIdentity& peer) -> Result<void> {
            if (refused.contains(peer.device_key)) {
                ++refusals[peer.device_key];
                return fail(Errc::permission_denied, "device revoked");
            }
            if (peer.invite_id) return {};
            ++authorized;
            return user.authorizer()(peer);
        };
        hooks.on_connected = [this](std::shared_ptr<Connection> connection) {
            connected.push_back(connection);
            asio::co_spawn(io, receive_loop(connection), asio::detached);
        };
        hooks.on_join = [this](std::shared_ptr<Connection> connection) {
            joined.push_back(std::move(connection));
        };
        PeerManagerOptions options;
        options.backoff_min = 20ms;
        options.backoff_max = 200ms;
        options.connection.handshake_timeout = 5s;
        options.connection.invite_secret = [](const InviteId& id) -> std::optional<InviteSecret> {
            if (id == InviteId{7}) return InviteSecret{7};
            return std::nullopt;
        };
        manager = std::make_unique<PeerManager>(io, device.key, device.certificate, hooks, options);
        auto bound = manager->listen(listen);
        REQUIRE(bound);
        return *bound;
    }

    asio::awaitable<void> receive_loop(std::shared_ptr<Connection> connection) {
        while (true) {
            auto message = co_await connection->receive();
            if (!message) {
                ended.push_back(message.error());
                co_return;
            }
            received.emplace_back(connection.get(), std::move(*message));
        }
    }

    std::shared_ptr<Connection> only_connection() const {
        const auto up = manager->connections();
        return up.size() == 1 ? up.front() : nullptr;
    }
};

struct Fixture {
    asio::io_context io;
    TestUser user;
    std::list<Node> nodes;

    Node& node(std::string name) { return nodes.emplace_back(io, user, std::move(name)); }

    bool wait_for(std::function<bool()> done, std::chrono::seconds limit = 15s) {
        return run_bounded(io, eventually(std::move(done), limit));
    }
    Result<void> send(const std::shared_ptr<Connection>& connection, const wire::Message& message) {
        return run_bounded(io, connection->send(message));
    }
    void settle(std::chrono::milliseconds duration) {
        run_bounded(io, [](auto d) -> asio::awaitable<bool> {
            co_await pause(d);
            co_return true;
        }(duration));
    }

    ~Fixture() {
        for (Node& n : nodes) {
            if (n.manager) n.manager->stop();
            n.connected.clear();
            n.joined.clear();
        }
        io.restart();
        io.run_for(3s);  // returns as soon as every coroutine has ended
    }
};

bool paired(const std::shared_ptr<Connection>& a, const std::shared_ptr<Connection>& b) {
    return a && b && a->is_open() && b->is_open() && a->initiated_here() != b->initiated_here();
}

}  // namespace

TEST_CASE("two peer managers connect and exchange a message", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    Node& b = f.node("b");
    const std::string a_address = a.start();
    b.start();
    CHECK(a.manager->listen_addresses() == std::vector<std::string>{a_address});
    b.manager->set_addresses(a.key(), {a_address});
    REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
    CHECK(b.only_connection()->initiated_here());
    CHECK(b.only_connection()->peer().device_key == a.key());
    CHECK(a.only_connection()->peer().device_key == b.key());

    REQUIRE(f.send(b.only_connection(), wire::Request{9, "docs", {}, 10}));
    REQUIRE(f.wait_for([&] { return !a.received.empty(); }));
    CHECK(std::get<wire::Request>(a.received.front().second).id == 9);
    CHECK(a.received.front().first == a.only_connection().get());
}

TEST_CASE("two managers dialing each other at once keep the same single connection",
          "[peer_manager]") {
    for (int round = 0; round < 4; ++round) {
        INFO("round " << round);
        Fixture f;
        Node& a = f.node("a");
        Node& b = f.node("b");
        const std::string a_address = a.start();
        const std::string b_address = b.start();
        a.manager->set_addresses(b.key(), {b_address});
        b.manager->set_addresses(a.key(), {a_address});
        REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
        f.settle(100ms);  // any duplicate still in its handshake gets judged
        const auto at_a = a.only_connection();
        const auto at_b = b.only_connection();
        REQUIRE(paired(at_a, at_b));
        // The kept one is the lower initiator's, on both sides.
        const DeviceId initiator =
            at_a->initiated_here() ? a.device.key.device_id() : b.device.key.device_id();
        CHECK(initiator == std::min(a.device.key.device_id(), b.device.key.device_id()));
        // And it is the same connection: what one sends on it the other gets on it.
        REQUIRE(f.send(at_a, wire::Request{1, "x", {}, 1}));
        REQUIRE(f.send(at_b, wire::Request{2, "x", {}, 1}));
        REQUIRE(f.wait_for([&] { return !a.received.empty() && !b.received.empty(); }));
        CHECK(a.received.front().first == at_a.get());
        CHECK(b.received.front().first == at_b.get());
        CHECK(a.only_connection() == at_a);
        CHECK(b.only_connection() == at_b);
    }
}

TEST_CASE("a dialer reconnects after the other side restarts", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    Node& b = f.node("b");
    const std::string a_address = a.start();
    b.start();
    b.manager->set_addresses(a.key(), {a_address});
    REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
    const auto first = b.only_connection();

    a.manager.reset();  // stops: listener and connection close
    a.connected.clear();
    REQUIRE(f.wait_for([&] { return !first->is_open(); }));
    f.settle(300ms);  // b dials a closed port a few times, backing off
    CHECK(b.manager->connections().empty());

    CHECK(a.start(a_address) == a_address);
    REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
    CHECK(b.only_connection() != first);
    REQUIRE(f.send(a.only_connection(), wire::Request{3, "x", {}, 1}));
    REQUIRE(f.wait_for([&] { return !b.received.empty(); }));
    CHECK(b.received.back().first == b.only_connection().get());
}

TEST_CASE("forget() closes the device's connection and stops dialing it", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    Node& b = f.node("b");
    a.start();
    const std::string b_address = b.start();
    a.manager->set_addresses(b.key(), {b_address});
    REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
    const auto at_b = b.only_connection();

    a.manager->forget(b.key(), "device removed by the user");
    CHECK(a.manager->connections().empty());
    REQUIRE(f.wait_for([&] { return !b.ended.empty(); }));
    CHECK(b.ended.front().message.find("device removed by the user") != std::string::npos);
    f.settle(400ms);  // well past the backoff: no new dial
    CHECK(a.manager->connections().empty());
    CHECK(b.manager->connections().empty());
    CHECK(a.connected.size() == 1);
    CHECK(b.connected.size() == 1);
}

TEST_CASE("a refused device never gets on_connected, whichever side dials", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    Node& b = f.node("b");
    const std::string a_address = a.start();
    const std::string b_address = b.start();
    a.refused.insert(b.key());

    SECTION("the refused device dials") {
        b.manager->set_addresses(a.key(), {a_address});
        // a refuses after message 3; b keeps retrying with backoff.
        REQUIRE(f.wait_for([&] { return a.refusals[b.key()] >= 3; }));
        CHECK(a.connected.empty());
        CHECK(a.manager->connections().empty());
        CHECK(b.received.empty());  // not a single message reached b
    }
    SECTION("the refusing device dials") {
        a.manager->set_addresses(b.key(), {b_address});
        REQUIRE(f.wait_for([&] { return a.refusals[b.key()] >= 3; }));
        CHECK(a.connected.empty());
        CHECK(b.connected.empty());  // message 3 never came
    }
}

TEST_CASE("a device proving an invite goes to on_join, not on_connected", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    const std::string a_address = a.start();
    const TestDevice joiner(f.user, "joiner");
    const auto target = split_address(a_address);
    REQUIRE(target);
    asio::ip::tcp::socket socket(f.io);
    socket.connect({asio::ip::make_address(target->host), target->port});
    auto opened = run_bounded(
        f.io, Connection::initiate(make_tcp_stream(std::move(socket)), joiner.key,
                                   InviteCredential{InviteId{7}, InviteSecret{7}},
                                   f.user.authorizer()));
    REQUIRE(opened);
    REQUIRE(f.wait_for([&] { return a.joined.size() == 1; }));
    CHECK(a.connected.empty());
    CHECK(a.manager->connections().empty());
    CHECK(a.joined.front()->peer().invite_id == InviteId{7});
}

TEST_CASE("listen() names what is wrong with an address", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    const std::string bound = a.start();
    const auto taken = a.manager->listen(bound);
    REQUIRE_FALSE(taken);
    CHECK(taken.error().code == Errc::io);
    CHECK(taken.error().message.find(bound) != std::string::npos);
    for (const char* bad : {"127.0.0.1", "localhost:0", "[::1:0"}) {
        INFO(bad);
        const auto r = a.manager->listen(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::invalid_argument);
    }
}

TEST_CASE("stop() closes the listener and every connection", "[peer_manager]") {
    Fixture f;
    Node& a = f.node("a");
    Node& b = f.node("b");
    const std::string a_address = a.start();
    b.start();
    b.manager->set_addresses(a.key(), {a_address});
    REQUIRE(f.wait_for([&] { return paired(a.only_connection(), b.only_connection()); }));
    a.manager->stop();
    CHECK(a.manager->connections().empty());
    REQUIRE(f.wait_for([&] { return !b.ended.empty(); }));
    const auto target = split_address(a_address);
    asio::ip::tcp::socket probe(f.io);
    std::error_code ec;
    probe.connect({asio::ip::make_address(target->host), target->port}, ec);
    CHECK(ec);  // nobody listens any more
}
