#include "relay_test_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

namespace {

wire::MailboxBatch fetch(TestRelay& relay, const DeviceSession& session, std::uint32_t max_messages,
                         std::uint32_t max_bytes) {
    auto answer = relay.handle(session, wire::MailboxFetch{77, max_messages, max_bytes});
    REQUIRE(std::holds_alternative<wire::MailboxBatch>(answer));
    CHECK(std::get<wire::MailboxBatch>(answer).id == 77);
    return std::get<wire::MailboxBatch>(answer);
}

wire::MailboxPost post_to(std::vector<wire::DeviceKey> recipients, std::uint8_t id,
                          std::string payload) {
    return wire::MailboxPost{id, message_id(id), std::move(recipients), std::move(payload), {}, 0};
}

}  // namespace

TEST_CASE("a posted message waits in each recipient's mailbox, in post order", "[relay][mailbox]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0, 3);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    const DeviceSession c = relay.connect(alice, 2);

    auto first = relay.reply(a, post_to({alice.device(1), alice.device(2)}, 1, "first"));
    CHECK(first.code == wire::RelayCode::ok);
    CHECK(first.used_bytes == 10);  // charged per recipient
    CHECK(relay.posted == std::vector<PublicKey>{alice.device(1), alice.device(2)});
    relay.now += kSecond;
    CHECK(relay.reply(c, post_to({alice.device(1)}, 2, "second")).code == wire::RelayCode::ok);

    const auto batch = fetch(relay, b, 10, 1000);
    REQUIRE(batch.entries.size() == 2);
    CHECK_FALSE(batch.more);
    CHECK(batch.entries[0].message_id == message_id(1));
    CHECK(batch.entries[0].peer == alice.device(0));
    CHECK(batch.entries[0].payload == "first");
    CHECK_FALSE(batch.entries[0].expired);
    CHECK(batch.entries[1].message_id == message_id(2));
    CHECK(batch.entries[1].peer == alice.device(2));
    CHECK(batch.entries[1].posted_ns == batch.entries[0].posted_ns + kSecond);

    CHECK(fetch(relay, c, 10, 1000).entries.size() == 1);
    CHECK(fetch(relay, a, 10, 1000).entries.empty());
}

TEST_CASE("a retried post is stored and charged once", "[relay][mailbox]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    // Duplicate recipients in one post count once too.
    CHECK(relay.reply(a, post_to({alice.device(1), alice.device(1)}, 1, "hello")).used_bytes == 5);
    relay.posted.clear();
    auto retry = relay.reply(a, post_to({alice.device(1)}, 1, "hello"));
    CHECK(retry.code == wire::RelayCode::ok);
    CHECK(retry.used_bytes == 5);
    CHECK(relay.posted.empty());
    CHECK(fetch(relay, b, 10, 1000).entries.size() == 1);
}

TEST_CASE("fetch honours max_messages and max_bytes, always giving one entry", "[relay][mailbox]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    REQUIRE(relay.reply(a, post_to({alice.device(1)}, 1, std::string(100, 'a'))).code ==
            wire::RelayCode::ok);
    for (std::uint8_t i = 2; i <= 5; ++i) {
        REQUIRE(relay.reply(a, post_to({alice.device(1)}, i, std::string(10, 'b'))).code ==
                wire::RelayCode::ok);
    }

    auto batch = fetch(relay, b, 10, 50);  // the first is bigger than max_bytes: sent alone
    REQUIRE(batch.entries.size() == 1);
    CHECK(batch.entries[0].payload.size() == 100);
    CHECK(batch.more);

    REQUIRE(relay.reply(b, wire::MailboxAck{1, {message_id(1)}}).code == wire::RelayCode::ok);
    batch = fetch(relay, b, 10, 25);
    CHECK(batch.entries.size() == 2);
    CHECK(batch.more);
    batch = fetch(relay, b, 3, 1000);
    CHECK(batch.entries.size() == 3);
    CHECK(batch.more);
    batch = fetch(relay, b, 4, 1000);
    CHECK(batch.entries.size() == 4);
    CHECK_FALSE(batch.more);
    CHECK(fetch(relay, b, 0, 0).entries.size() == 4);  // 0: the relay's own limits
}

TEST_CASE("ack deletes entries of the device's own mailbox only and frees usage",
          "[relay][mailbox]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0, 3);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    const DeviceSession c = relay.connect(alice, 2);
    REQUIRE(relay.reply(a, post_to({alice.device(1), alice.device(2)}, 1, "12345")).used_bytes ==
            10);

    // c acks for b's mailbox: only c's own copy goes.
    auto ack = relay.reply(c, wire::MailboxAck{2, {message_id(1), message_id(9)}});
    CHECK(ack.code == wire::RelayCode::ok);
    CHECK(ack.used_bytes == 5);
    CHECK(fetch(relay, b, 10, 1000).entries.size() == 1);
    CHECK(fetch(relay, c, 10, 1000).entries.empty());

    ack = relay.reply(b, wire::MailboxAck{3, {message_id(1)}});
    CHECK(ack.used_bytes == 0);
    CHECK(fetch(relay, b, 10, 1000).entries.empty());
}

TEST_CASE("posts beyond a mailbox's bounds or the quota are refused whole", "[relay][mailbox]") {
    ServiceOptions options;
    options.max_mailbox_messages = 2;
    options.max_mailbox_bytes = 100;
    TestRelay relay(options);
    User alice = relay.add_user("alice", 1000, 3);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    const DeviceSession c = relay.connect(alice, 2);

    REQUIRE(relay.reply(a, post_to({alice.device(1)}, 1, "x")).code == wire::RelayCode::ok);
    REQUIRE(relay.reply(a, post_to({alice.device(1)}, 2, "x")).code == wire::RelayCode::ok);
    auto full = relay.reply(a, post_to({alice.device(2), alice.device(1)}, 3, "x"));
    CHECK(full.code == wire::RelayCode::too_large);
    CHECK(full.message ==
          "relay: mailbox of device " + alice.certificate(1).device_id().to_string() + " is full");
    CHECK(fetch(relay, c, 10, 1000).entries.empty());  // not even the recipient with room

    auto bytes = relay.reply(a, post_to({alice.device(2)}, 4, std::string(101, 'x')));
    CHECK(bytes.code == wire::RelayCode::too_large);
    CHECK(relay.reply(a, post_to({alice.device(2)}, 5, std::string(100, 'x'))).code ==
          wire::RelayCode::ok);
    CHECK(relay.reply(a, post_to({alice.device(2)}, 6, "y")).code == wire::RelayCode::too_large);

    // Acking makes room again.
    REQUIRE(relay.reply(b, wire::MailboxAck{7, {message_id(1)}}).code == wire::RelayCode::ok);
    CHECK(relay.reply(a, post_to({alice.device(1)}, 8, "x")).code == wire::RelayCode::ok);

    REQUIRE(relay.admin->set_quota("alice", 110));
    auto quota = relay.reply(a, post_to({alice.device(0)}, 9, std::string(10, 'q')));
    CHECK(quota.code == wire::RelayCode::quota_exceeded);
    CHECK(quota.message == "relay full: account alice uses 102 of 110 bytes");
}

TEST_CASE("malformed posts are refused", "[relay][mailbox]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    CHECK(relay.reply(a, post_to({}, 1, "x")).code == wire::RelayCode::too_large);
    CHECK(relay.reply(a, post_to(std::vector<wire::DeviceKey>(wire::kMaxRecipients + 1), 2, "x"))
              .code == wire::RelayCode::too_large);
    CHECK(
        relay
            .reply(a, post_to({alice.device(1)}, 3, std::string(wire::kMaxMailboxPayload + 1, 'x')))
            .code == wire::RelayCode::too_large);
    // Posting to itself is allowed.
    CHECK(relay.reply(a, post_to({alice.device(0)}, 4, "note to self")).code ==
          wire::RelayCode::ok);
    CHECK(fetch(relay, a, 10, 1000).entries.size() == 1);
}
