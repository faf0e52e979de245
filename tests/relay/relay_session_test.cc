#include "relay_test_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

TEST_CASE("a token binds its account to the first user that uses it, once", "[relay][session]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);

    auto hello = relay.service->hello(alice.certificate(0), wire::RelayHello{alice.token, {}});
    REQUIRE(hello);
    CHECK(hello->first.account == "alice");
    CHECK(hello->first.device_key == alice.device(0));
    CHECK(hello->first.user_key == key_of(alice.key));
    CHECK(hello->second.account == "alice");
    CHECK(relay.service->allowed(hello->first));

    // The user's other devices need no token any more.
    auto second = relay.service->hello(alice.certificate(1), wire::RelayHello{});
    REQUIRE(second);
    CHECK(second->first.account == "alice");

    // Another user with the same (used) token is refused, clearly.
    User mallory;
    mallory.devices.push_back(KeyPair::generate());
    auto stolen = relay.service->hello(mallory.certificate(0), wire::RelayHello{alice.token, {}});
    REQUIRE_FALSE(stolen);
    CHECK(stolen.error().code == Errc::permission_denied);
    CHECK_THAT(stolen.error().message, Catch::Contains("used already"));

    auto users = relay.admin->users();
    REQUIRE(users);
    REQUIRE(users->size() == 1);
    CHECK(users->front().bound);
    CHECK(users->front().devices == 2);
}

TEST_CASE("hello refuses unknown, malformed and missing tokens", "[relay][session]") {
    TestRelay relay;
    relay.add_user("alice", 0);
    User bob;
    bob.devices.push_back(KeyPair::generate());

    auto none = relay.service->hello(bob.certificate(0), wire::RelayHello{});
    REQUIRE_FALSE(none);
    CHECK(none.error().code == Errc::permission_denied);
    CHECK_THAT(none.error().message, Catch::Contains("no account"));

    auto malformed = relay.service->hello(bob.certificate(0), wire::RelayHello{"not a token", {}});
    REQUIRE_FALSE(malformed);
    CHECK_THAT(malformed.error().message, Catch::Contains("malformed"));

    auto unknown =
        relay.service->hello(bob.certificate(0), wire::RelayHello{std::string(64, 'a'), {}});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::permission_denied);
    CHECK_THAT(unknown.error().message, Catch::Contains("unknown account token"));

    // A certificate that does not verify is refused before anything else.
    User alice = relay.add_user("alice2", 0);
    auto forged = alice.certificate(0);
    forged.device_name = "changed";
    auto refused = relay.service->hello(forged, wire::RelayHello{alice.token, {}});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().code == Errc::permission_denied);
    CHECK(relay.admin->users()->at(1).bound == false);
}

TEST_CASE("revocations in a hello refuse the revoked device, now and later", "[relay][session]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0, 3);
    const DeviceSession laptop = relay.connect(alice, 1);
    CHECK(relay.service->allowed(laptop));

    // A revocation not signed by alice's user key is ignored.
    const KeyPair other = KeyPair::generate();
    const auto forged = Revocation::issue(other, alice.device(2), relay.now).encode();
    REQUIRE(relay.service->hello(alice.certificate(0), wire::RelayHello{{}, {forged, "garbage"}}));
    CHECK(relay.service->hello(alice.certificate(2), wire::RelayHello{}));

    const auto revocation = Revocation::issue(alice.key, alice.device(1), relay.now).encode();
    REQUIRE(relay.service->hello(alice.certificate(0), wire::RelayHello{{}, {revocation}}));

    auto again = relay.service->hello(alice.certificate(1), wire::RelayHello{});
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::permission_denied);
    CHECK_THAT(again.error().message, Catch::Contains("revoked"));

    // The session it already had is refused too.
    CHECK_FALSE(relay.service->allowed(laptop));
    const auto reply = relay.reply(laptop, wire::ChunkGet{7, {chunk_id(1)}});
    CHECK(reply.id == 7);
    CHECK(reply.code == wire::RelayCode::refused);
}

TEST_CASE("a removed account's sessions are refused, even if the name comes back",
          "[relay][session]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession session = relay.connect(alice, 0);
    REQUIRE(relay.admin->remove_user("alice"));
    CHECK_FALSE(relay.service->allowed(session));
    CHECK(relay.reply(session, wire::MailboxFetch{3, 10, 1000}).code == wire::RelayCode::refused);

    User other = relay.add_user("alice", 0);
    CHECK_FALSE(relay.service->allowed(session));
    const DeviceSession fresh = relay.connect(other, 0);
    CHECK(relay.service->allowed(fresh));
}

TEST_CASE("messages that are not relay requests are answered with an error", "[relay][session]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession session = relay.connect(alice, 0);
    for (const wire::Message& message :
         {wire::Message(wire::Ping{}), wire::Message(wire::RelayHello{}),
          wire::Message(wire::RelayReply{9}), wire::Message(wire::ForwardRequest{5})}) {
        const auto reply = relay.reply(session, message);
        CHECK(reply.code == wire::RelayCode::error);
        CHECK_THAT(reply.message, Catch::Contains("unexpected message"));
    }
}
