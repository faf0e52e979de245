#include <filesystem>
#include <fstream>

#include "relay/chunk_store.hh"
#include "relay/metadata_store.hh"
#include "relay_test_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

namespace {

bool have(TestRelay& relay, const DeviceSession& session, std::uint8_t chunk) {
    auto answer = relay.handle(session, wire::ChunkHave{1, {chunk_id(chunk)}});
    return std::get<wire::ChunkHaveReply>(answer).present.at(0);
}

std::vector<wire::MailboxEntry> mailbox(TestRelay& relay, const DeviceSession& session) {
    return std::get<wire::MailboxBatch>(relay.handle(session, wire::MailboxFetch{1, 100, 1u << 20}))
        .entries;
}

std::uint64_t used(TestRelay& relay) {
    return relay.admin->users()->at(0).used_bytes;
}

// Whether the relay's chunk store holds the object (read through a second
// instance, as `ferry-relay user remove` would).
bool object_exists(TestRelay& relay, std::int64_t account, std::uint8_t chunk) {
    auto chunks = open_local_chunk_store(relay.dir.path());
    REQUIRE(chunks);
    auto exists = (*chunks)->exists(chunk_key(account, chunk_id(chunk)));
    REQUIRE(exists);
    return *exists;
}

std::int64_t account_id(TestRelay& relay, const std::string& name) {
    auto meta = open_local_metadata(relay.dir.path());
    REQUIRE(meta);
    auto account = (*meta)->account_by_name(name);
    REQUIRE(account);
    REQUIRE(*account);
    return (**account).id;
}

}  // namespace

TEST_CASE("an expired message becomes a notice in its sender's mailbox", "[relay][maintain]") {
    ServiceOptions options;
    options.default_ttl = std::chrono::seconds(100);
    options.max_ttl = std::chrono::seconds(1000);
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0, 3);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    const DeviceSession c = relay.connect(alice, 2);
    const std::int64_t posted = relay.now;
    REQUIRE(relay
                .reply(a,
                       wire::MailboxPost{
                           1, message_id(1), {alice.device(1), alice.device(2)}, "12345", {}, 0})
                .code == wire::RelayCode::ok);
    // A TTL above max_ttl is capped to it.
    REQUIRE(relay.reply(a, wire::MailboxPost{2, message_id(2), {alice.device(1)}, "abc", {}, 5000})
                .code == wire::RelayCode::ok);
    REQUIRE(relay.reply(c, wire::MailboxAck{3, {message_id(1)}}).code == wire::RelayCode::ok);
    CHECK(used(relay) == 8);

    relay.now = posted + 99 * kSecond;
    CHECK(relay.service->maintain()->empty());
    CHECK(mailbox(relay, b).size() == 2);

    relay.now = posted + 100 * kSecond;
    auto notified = relay.service->maintain();
    REQUIRE(notified);
    CHECK(*notified == std::vector<PublicKey>{alice.device(0)});
    CHECK(used(relay) == 3);
    auto left = mailbox(relay, b);
    REQUIRE(left.size() == 1);
    CHECK(left[0].message_id == message_id(2));

    auto notices = mailbox(relay, a);
    REQUIRE(notices.size() == 1);  // c acked its copy: only b's expired
    CHECK(notices[0].expired);
    CHECK(notices[0].message_id == message_id(1));
    CHECK(notices[0].peer == alice.device(1));
    CHECK(notices[0].posted_ns == posted);
    CHECK(notices[0].payload.empty());

    relay.now = posted + 1000 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK(mailbox(relay, b).empty());
    CHECK(mailbox(relay, a).size() == 2);
    // Notices are acked like messages, and cost nothing.
    CHECK(used(relay) == 0);
    REQUIRE(relay.reply(a, wire::MailboxAck{4, {message_id(1), message_id(2)}}).code ==
            wire::RelayCode::ok);
    CHECK(mailbox(relay, a).empty());
}

TEST_CASE("chunks live while a message needs them and for the grace after", "[relay][maintain]") {
    ServiceOptions options;
    options.unreferenced_grace = std::chrono::seconds(60);
    options.default_ttl = std::chrono::seconds(1000);
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);
    const std::int64_t start = relay.now;
    for (std::uint8_t i = 1; i <= 3; ++i) {
        REQUIRE(relay.reply(a, wire::ChunkPut{i, {{chunk_id(i), "chunk"}}}).code ==
                wire::RelayCode::ok);
    }
    // Chunk 4 is referenced before it is put (recorded anyway).
    REQUIRE(relay
                .reply(a,
                       wire::MailboxPost{
                           5, message_id(1), {alice.device(1)}, "m", {chunk_id(1), chunk_id(4)}, 0})
                .code == wire::RelayCode::ok);
    REQUIRE(
        relay
            .reply(a, wire::MailboxPost{6, message_id(2), {alice.device(1)}, "n", {chunk_id(2)}, 0})
            .code == wire::RelayCode::ok);
    REQUIRE(relay.reply(a, wire::ChunkPut{7, {{chunk_id(4), "chunk"}}}).code ==
            wire::RelayCode::ok);

    relay.now = start + 59 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK(have(relay, b, 3));  // unreferenced, within the grace

    relay.now = start + 61 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK_FALSE(have(relay, b, 3));
    CHECK_FALSE(object_exists(relay, 1, 3));
    CHECK(have(relay, b, 1));
    CHECK(have(relay, b, 2));
    CHECK(have(relay, b, 4));
    CHECK(used(relay) == 3 * 5 + 2);

    // Acked after the first grace passed: the recipient fetches the chunks
    // after it has the message, so the grace starts again at the ack.
    REQUIRE(relay.reply(b, wire::MailboxAck{8, {message_id(1)}}).code == wire::RelayCode::ok);
    const std::int64_t acked = relay.now;
    REQUIRE(relay.service->maintain());
    CHECK(have(relay, b, 1));
    CHECK(have(relay, b, 4));
    relay.now = acked + 61 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK_FALSE(have(relay, b, 1));
    CHECK_FALSE(have(relay, b, 4));
    CHECK(have(relay, b, 2));

    // Expired undelivered: the notice goes to a, the chunk is freed.
    relay.now = start + 1000 * kSecond;
    auto notified = relay.service->maintain();
    REQUIRE(notified);
    CHECK(*notified == std::vector<PublicKey>{alice.device(0)});
    CHECK_FALSE(have(relay, b, 2));
    CHECK(used(relay) == 0);
    CHECK_FALSE(object_exists(relay, 1, 2));
}

TEST_CASE("a put again restarts the chunk's grace", "[relay][maintain]") {
    ServiceOptions options;
    options.unreferenced_grace = std::chrono::seconds(60);
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    REQUIRE(relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "chunk"}}}).code ==
            wire::RelayCode::ok);
    relay.now += 50 * kSecond;
    REQUIRE(relay.reply(a, wire::ChunkPut{2, {{chunk_id(1), "chunk"}}}).code ==
            wire::RelayCode::ok);
    relay.now += 50 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK(have(relay, a, 1));
}

TEST_CASE("maintain repairs what an interrupted put left", "[relay][maintain]") {
    ServiceOptions options;
    options.unfinished_put_timeout = std::chrono::seconds(600);
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const std::int64_t account = account_id(relay, "alice");
    {
        // Two puts reserved (charged), one object written, then "a crash".
        auto meta = open_local_metadata(relay.dir.path());
        REQUIRE(meta);
        const relay::ChunkSize two[] = {{chunk_id(1), 100}, {chunk_id(2), 7}};
        REQUIRE((*meta)->reserve_chunks(account, two, relay.now));
        auto chunks = open_local_chunk_store(relay.dir.path());
        REQUIRE(chunks);
        REQUIRE((*chunks)->put(one_object(chunk_key(account, chunk_id(2)), "written")));
        // An object of no row at all (its row was removed before the crash).
        REQUIRE((*chunks)->put(one_object(chunk_key(account, chunk_id(3)), "orphan")));
    }
    relay.reopen();
    CHECK(used(relay) == 107);
    CHECK_FALSE(have(relay, a, 2));  // pending is not present

    // Young pending rows may be puts in progress: left alone.
    REQUIRE(relay.service->maintain());
    CHECK(used(relay) == 107);
    CHECK_FALSE(object_exists(relay, account, 3));

    relay.now += 601 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK(used(relay) == 7);
    CHECK_FALSE(have(relay, a, 1));
    CHECK(have(relay, a, 2));
    auto got = relay.handle(a, wire::ChunkGet{1, {chunk_id(2)}});
    CHECK(std::get<wire::ChunkData>(got).chunks == std::vector<std::string>{"written"});
}

TEST_CASE("the orphan sweep runs at the first maintain, then once per sweep_interval",
          "[relay][maintain]") {
    ServiceOptions options;
    options.sweep_interval = std::chrono::seconds(3600);
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0);
    const std::int64_t account = account_id(relay, "alice");
    REQUIRE(relay.service->maintain());  // the first sweep
    {
        auto chunks = open_local_chunk_store(relay.dir.path());
        REQUIRE(chunks);
        REQUIRE((*chunks)->put(one_object(chunk_key(account, chunk_id(3)), "orphan")));
    }
    relay.now += 3599 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK(object_exists(relay, account, 3));  // not listed yet
    relay.now += 2 * kSecond;
    REQUIRE(relay.service->maintain());
    CHECK_FALSE(object_exists(relay, account, 3));
}

TEST_CASE("a put after an interrupted one finishes it without charging twice",
          "[relay][maintain]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    {
        auto meta = open_local_metadata(relay.dir.path());
        REQUIRE(meta);
        const relay::ChunkSize one[] = {{chunk_id(1), 5}};
        REQUIRE((*meta)->reserve_chunks(account_id(relay, "alice"), one, relay.now));
    }
    auto put = relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "chunk"}}});
    CHECK(put.code == wire::RelayCode::ok);
    CHECK(put.used_bytes == 5);
    CHECK(have(relay, a, 1));
}

TEST_CASE("removing an account deletes its mailboxes and chunk objects", "[relay][maintain]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    User bob = relay.add_user("bob", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(bob, 0);
    REQUIRE(relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "alice's"}}}).code ==
            wire::RelayCode::ok);
    REQUIRE(relay.reply(b, wire::ChunkPut{1, {{chunk_id(1), "bob's"}}}).code ==
            wire::RelayCode::ok);
    REQUIRE(
        relay
            .reply(a, wire::MailboxPost{2, message_id(1), {alice.device(1)}, "m", {chunk_id(1)}, 0})
            .code == wire::RelayCode::ok);
    const std::int64_t alice_id = account_id(relay, "alice");
    const std::int64_t bob_id = account_id(relay, "bob");
    REQUIRE(object_exists(relay, alice_id, 1));

    CHECK(relay.admin->remove_user("nobody").error().code == Errc::not_found);
    REQUIRE(relay.admin->remove_user("alice"));
    CHECK_FALSE(object_exists(relay, alice_id, 1));
    CHECK(object_exists(relay, bob_id, 1));
    auto totals = relay.admin->totals();
    REQUIRE(totals);
    CHECK(totals->accounts == 1);
    CHECK(totals->messages == 0);
    CHECK(totals->mailboxes == 0);
    CHECK(totals->chunks == 1);
    CHECK(totals->stored_bytes == 5);
    CHECK(std::get<wire::ChunkData>(relay.handle(b, wire::ChunkGet{3, {chunk_id(1)}})).chunks ==
          std::vector<std::string>{"bob's"});
}
