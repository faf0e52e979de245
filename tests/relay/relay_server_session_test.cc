// The relay server between devices: MailboxNotify, forwarded connections,
// and sessions ended by a revocation or a removed account.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "relay_server_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

namespace {

std::vector<std::uint8_t> bytes_of(std::string_view text) {
    return {text.begin(), text.end()};
}

// Writes `text` on `from` and reads it on `to`.
asio::awaitable<bool> carries(ByteStream& from, ByteStream& to, std::string text) {
    const std::vector<std::uint8_t> sent = bytes_of(text);
    auto written = co_await from.write_all(sent);
    REQUIRE(written);
    std::vector<std::uint8_t> received(sent.size());
    auto read = co_await to.read_exact(received);
    co_return read&& received == sent;
}

// A forwarded stream the test waits for (filled by a coroutine).
using StreamSlot = std::shared_ptr<std::optional<Result<std::unique_ptr<ByteStream>>>>;

// Hooks that take every ForwardOffer with open_forwarded into `slot`.
RelayClientHooks accepting(asio::io_context& io, RelayClient** self, StreamSlot slot,
                           PublicKey* offered_by) {
    RelayClientHooks hooks;
    hooks.on_forward_offer = [&io, self, slot, offered_by](const wire::ForwardOffer& offer) {
        *offered_by = offer.from;
        asio::co_spawn(
            io,
            [](RelayClient* client, StreamSlot into,
               wire::ForwardSession session) -> asio::awaitable<void> {
                auto opened = co_await client->open_forwarded(session);
                into->emplace(std::move(opened));
            }(*self, slot, offer.session),
            asio::detached);
    };
    return hooks;
}

}  // namespace

TEST_CASE("MailboxNotify reaches a connected recipient of a post", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    User bob = f.relay.add_user("bob", 0, 1);
    int alice_notified = 0;
    int bob_notified = 0;
    RelayClientHooks to_alice;
    to_alice.on_notify = [&] { ++alice_notified; };
    RelayClientHooks to_bob;
    to_bob.on_notify = [&] { ++bob_notified; };
    auto sender = f.connected(alice, 0);
    auto recipient = f.connected(alice, 1, to_alice);
    auto stranger = f.connected(bob, 0, to_bob);

    wire::MailboxPost post;
    post.message_id = message_id(1);
    post.recipients = {alice.device(1)};
    post.payload = "sealed";
    const wire::Message reply = f.run(ask(*sender, post));
    const auto* posted = std::get_if<wire::RelayReply>(&reply);
    REQUIRE(posted != nullptr);
    REQUIRE(posted->code == wire::RelayCode::ok);
    CHECK(f.wait_for([&] { return alice_notified >= 1; }));

    // The recipient finds it; the stranger was told nothing.
    wire::MailboxFetch fetch;
    fetch.max_messages = 10;
    fetch.max_bytes = 1 << 20;
    const wire::Message batch = f.run(ask(*recipient, fetch));
    const auto* entries = std::get_if<wire::MailboxBatch>(&batch);
    REQUIRE(entries != nullptr);
    REQUIRE(entries->entries.size() == 1);
    CHECK(entries->entries[0].payload == "sealed");
    CHECK(bob_notified == 0);
}

TEST_CASE("forwarding joins two devices of an account, both ways", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    User bob = f.relay.add_user("bob", 0, 1);
    auto x = f.connected(alice, 0);
    RelayClient* y_raw = nullptr;
    auto slot = std::make_shared<std::optional<Result<std::unique_ptr<ByteStream>>>>();
    PublicKey offered_by{};
    auto y = f.connected(alice, 1, accepting(f.io, &y_raw, slot, &offered_by));
    y_raw = y.get();

    auto from_x = f.run(x->forward_to(alice.device(1)));
    REQUIRE(from_x);
    REQUIRE(f.wait_for([&] { return slot->has_value(); }));
    REQUIRE(**slot);
    ByteStream& at_x = **from_x;
    ByteStream& at_y = *slot->value().value();
    CHECK(offered_by == alice.device(0));
    CHECK(f.run(carries(at_x, at_y, "from x to y")));
    CHECK(f.run(carries(at_y, at_x, "and back from y")));
    CHECK(f.server->stats().forwarding == 1);
    CHECK(f.server->stats().forwarded_bytes == 11 + 15);

    // One side closing ends the other.
    at_x.close();
    CHECK(f.run(closed_within(at_y, 5s)));
    CHECK(f.wait_for([&] { return f.server->stats().forwarding == 0; }));

    SECTION("a device not connected: not_found") {
        auto none = f.run(x->forward_to(random_key()));
        REQUIRE(!none);
        CHECK(none.error().code == Errc::not_found);
    }
    SECTION("a connected device of another account: not_found") {
        auto other = f.connected(bob, 0);
        auto none = f.run(x->forward_to(bob.device(0)));
        REQUIRE(!none);
        CHECK(none.error().code == Errc::not_found);
    }
    SECTION("itself: refused") {
        auto self = f.run(x->forward_to(alice.device(0)));
        REQUIRE(!self);
        CHECK(self.error().code == Errc::permission_denied);
    }
}

TEST_CASE("a forwarding session is taken once, and only within forward_wait", "[relay][server]") {
    ServerFixture f;
    ServerOptions options = fast_options();
    options.forward_wait = 500ms;
    f.start(options);
    User alice = f.relay.add_user("alice", 0);
    std::vector<wire::ForwardOffer> offers;
    RelayClientHooks hooks;
    hooks.on_forward_offer = [&](const wire::ForwardOffer& offer) { offers.push_back(offer); };
    auto x = f.connected(alice, 0);
    auto y = f.connected(alice, 1, hooks);

    // A session by hand: X asks, Y is offered it and does not take it yet.
    const auto session = [&] {
        wire::ForwardRequest request;
        request.target = alice.device(1);
        const wire::Message answer = f.run(ask(*x, request));
        const auto* reply = std::get_if<wire::ForwardReply>(&answer);
        REQUIRE(reply != nullptr);
        REQUIRE(reply->code == wire::RelayCode::ok);
        return reply->session;
    };

    SECTION("presented a third time: refused, the joined pair unharmed") {
        const wire::ForwardSession id = session();
        REQUIRE(f.wait_for([&] { return offers.size() == 1; }));
        CHECK(offers[0].session == id);
        auto a = f.run(x->open_forwarded(id));
        auto b = f.run(y->open_forwarded(id));
        REQUIRE(a);
        REQUIRE(b);
        REQUIRE(f.wait_for([&] { return f.server->stats().forwarding == 1; }));
        const auto refused = f.server->stats().refused;
        auto again = f.run(x->open_forwarded(id));
        REQUIRE(again);  // the preamble is written; the relay then closes
        CHECK(f.run(closed_within(**again, 5s)));
        CHECK(f.server->stats().refused == refused + 1);
        CHECK(f.run(carries(**a, **b, "still joined")));
    }
    SECTION("one side waits past forward_wait: closed; later arrivals refused") {
        const wire::ForwardSession id = session();
        auto parked = f.run(x->open_forwarded(id));
        REQUIRE(parked);
        CHECK(f.run(closed_within(**parked, 5s)));
        auto late = f.run(y->open_forwarded(id));
        REQUIRE(late);
        CHECK(f.run(closed_within(**late, 5s)));
        CHECK(f.server->stats().forwarding == 0);
    }
    SECTION("nobody comes within forward_wait: refused after it") {
        const wire::ForwardSession id = session();
        f.wait_for([] { return false; }, 800ms);
        auto late = f.run(y->open_forwarded(id));
        REQUIRE(late);
        CHECK(f.run(closed_within(**late, 5s)));
    }
    SECTION("at most max_pending_forwards sessions pending per connection") {
        for (std::size_t i = 0; i < ServerOptions{}.max_pending_forwards; ++i) (void)session();
        wire::ForwardRequest request;
        request.target = alice.device(1);
        const wire::Message answer = f.run(ask(*x, request));
        const auto* reply = std::get_if<wire::ForwardReply>(&answer);
        REQUIRE(reply != nullptr);
        CHECK(reply->code == wire::RelayCode::refused);
        CHECK_THAT(reply->message, Catch::Contains("too many forwarding sessions pending"));
        // Another device's requests are its own; expired ones free the places.
        request.target = alice.device(0);
        const wire::Message other = f.run(ask(*y, request));
        CHECK(std::get<wire::ForwardReply>(other).code == wire::RelayCode::ok);
        f.wait_for([] { return false; }, 800ms);
        CHECK(session() != wire::ForwardSession{});
    }
    SECTION("an unknown session") {
        wire::ForwardSession made_up{};
        made_up.fill(0x42);
        auto stream = f.run(x->open_forwarded(made_up));
        REQUIRE(stream);
        CHECK(f.run(closed_within(**stream, 5s)));
    }
}

TEST_CASE("a revoked device is disconnected and refused at its next hello", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0, 3);
    auto revoked = f.connected(alice, 2);
    RelayClient* const raw = revoked.get();
    auto other = f.connected(alice, 1);

    // Device 0's hello carries the user's revocation of device 2.
    const std::string revocation =
        Revocation::issue(alice.key, alice.device(2), f.relay.now).encode();
    auto announcer = f.client(alice, 0, {}, [&] {
        return wire::RelayHello{alice.token, {revocation}};
    });
    REQUIRE(f.wait_for([&] { return announcer->status().connected; }));

    // Within maintain_interval (200 ms) its session is closed; its retries
    // are refused with the reason.
    REQUIRE(f.wait_for([&] {
        return raw->status().last_error.find("is revoked by its user") != std::string::npos;
    }));
    CHECK(!raw->status().connected);
    CHECK(other->status().connected);
    CHECK(f.server->stats().authenticated == 2);
}

TEST_CASE("a removed account's sessions are closed", "[relay][server]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    User bob = f.relay.add_user("bob", 0, 1);
    std::vector<std::string> lost;
    RelayClientHooks hooks;
    hooks.on_disconnected = [&](const std::string& why) { lost.push_back(why); };
    auto client = f.connected(alice, 0, hooks);
    auto survivor = f.connected(bob, 0);

    REQUIRE(f.relay.admin->remove_user("alice"));
    REQUIRE(f.wait_for([&] { return !lost.empty(); }));
    CHECK_THAT(lost[0], Catch::Contains("account removed"));
    // The token went with the account.
    REQUIRE(f.wait_for([&] {
        return client->status().last_error.find("unknown account token") != std::string::npos;
    }));
    CHECK(!client->status().connected);
    CHECK(survivor->status().connected);
    CHECK(f.server->stats().authenticated == 1);
}
