#include <atomic>
#include <thread>

#include "relay_test_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

TEST_CASE("chunks are put once, found by Have and read back by Get", "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    const DeviceSession b = relay.connect(alice, 1);

    auto put = relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "sealed one"}}});
    CHECK(put.id == 1);
    CHECK(put.code == wire::RelayCode::ok);
    CHECK(put.used_bytes == 10);

    // The same chunk again (from any device of the account): ok, not charged.
    put = relay.reply(b, wire::ChunkPut{2, {{chunk_id(1), "sealed one"}}});
    CHECK(put.code == wire::RelayCode::ok);
    CHECK(put.used_bytes == 10);

    auto have = relay.handle(b, wire::ChunkHave{3, {chunk_id(2), chunk_id(1)}});
    REQUIRE(std::holds_alternative<wire::ChunkHaveReply>(have));
    CHECK(std::get<wire::ChunkHaveReply>(have).id == 3);
    CHECK(std::get<wire::ChunkHaveReply>(have).present == std::vector<bool>{false, true});

    auto got = relay.handle(b, wire::ChunkGet{4, {chunk_id(1)}});
    REQUIRE(std::holds_alternative<wire::ChunkData>(got));
    CHECK(std::get<wire::ChunkData>(got) ==
          wire::ChunkData{4, wire::RelayCode::ok, {"sealed one"}});

    // A chunk the relay does not hold comes back empty.
    auto missing = relay.handle(b, wire::ChunkGet{5, {chunk_id(2)}});
    REQUIRE(std::holds_alternative<wire::ChunkData>(missing));
    CHECK(std::get<wire::ChunkData>(missing) == wire::ChunkData{5, wire::RelayCode::ok, {""}});

    // Another account sees none of it.
    User bob = relay.add_user("bob", 0);
    const DeviceSession other = relay.connect(bob, 0);
    auto foreign = relay.handle(other, wire::ChunkGet{6, {chunk_id(1)}});
    CHECK(std::get<wire::ChunkData>(foreign).chunks == std::vector<std::string>{""});
}

TEST_CASE("one ChunkPut stores several chunks and one ChunkGet reads several back",
          "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);

    // A chunk named twice is stored once, with its first data.
    auto put = relay.reply(
        a, wire::ChunkPut{1, {{chunk_id(1), "aaa"}, {chunk_id(2), "bb"}, {chunk_id(1), "zzz"}}});
    CHECK(put.code == wire::RelayCode::ok);
    CHECK(put.used_bytes == 5);
    // One already stored, one new: only the new one is charged.
    put = relay.reply(a, wire::ChunkPut{2, {{chunk_id(2), "bb"}, {chunk_id(3), "c"}}});
    CHECK(put.code == wire::RelayCode::ok);
    CHECK(put.used_bytes == 6);

    auto got = relay.handle(
        a, wire::ChunkGet{3, {chunk_id(1), chunk_id(4), chunk_id(3), chunk_id(2), chunk_id(1)}});
    CHECK(std::get<wire::ChunkData>(got) ==
          wire::ChunkData{3, wire::RelayCode::ok, {"aaa", "", "c", "bb", "aaa"}});
}

TEST_CASE("a ChunkPut whose new chunks pass the quota together stores none of them",
          "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 25);
    const DeviceSession a = relay.connect(alice, 0);

    auto full = relay.reply(
        a, wire::ChunkPut{1, {{chunk_id(1), std::string(20, 'x')}, {chunk_id(2), "123456"}}});
    CHECK(full.code == wire::RelayCode::quota_exceeded);
    CHECK(full.used_bytes == 0);
    CHECK(std::get<wire::ChunkHaveReply>(
              relay.handle(a, wire::ChunkHave{2, {chunk_id(1), chunk_id(2)}}))
              .present == std::vector<bool>{false, false});

    // Counted once each, a chunk already stored free: exactly the quota.
    REQUIRE(relay.reply(a, wire::ChunkPut{3, {{chunk_id(1), std::string(20, 'x')}}}).code ==
            wire::RelayCode::ok);
    auto fits = relay.reply(
        a, wire::ChunkPut{4, {{chunk_id(1), std::string(20, 'x')}, {chunk_id(2), "12345"}}});
    CHECK(fits.code == wire::RelayCode::ok);
    CHECK(fits.used_bytes == 25);
}

TEST_CASE("chunk requests over the limits are refused", "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);

    auto big = relay.reply(
        a, wire::ChunkPut{1, {{chunk_id(1), std::string(wire::kMaxSealedChunk + 1, 'x')}}});
    CHECK(big.code == wire::RelayCode::too_large);
    CHECK(
        relay.reply(a, wire::ChunkPut{2, {{chunk_id(1), std::string(wire::kMaxSealedChunk, 'x')}}})
            .code == wire::RelayCode::ok);

    // Over the count, and over the bytes of one put.
    wire::ChunkPut many{4, {}};
    for (std::size_t i = 0; i <= wire::kMaxPutBatch; ++i)
        many.chunks.push_back({chunk_id(static_cast<std::uint8_t>(i)), "x"});
    CHECK(relay.reply(a, many).code == wire::RelayCode::too_large);
    wire::ChunkPut heavy{5, {}};
    for (std::size_t i = 0; i * wire::kMaxSealedChunk <= wire::kMaxPutBytes; ++i) {
        heavy.chunks.push_back(
            {chunk_id(static_cast<std::uint8_t>(i)), std::string(wire::kMaxSealedChunk, 'h')});
    }
    auto refused = relay.reply(a, heavy);
    CHECK(refused.code == wire::RelayCode::too_large);
    CHECK(relay.reply(a, wire::ChunkPut{6, {}}).code == wire::RelayCode::too_large);
    CHECK(relay.reply(a, wire::ChunkGet{7, {}}).code == wire::RelayCode::too_large);
    CHECK(relay.reply(a, wire::ChunkGet{8, std::vector<wire::RelayChunkId>(wire::kMaxGetBatch + 1)})
              .code == wire::RelayCode::too_large);

    wire::ChunkHave have{3, std::vector<wire::RelayChunkId>(wire::kMaxHaveBatch + 1)};
    CHECK(relay.reply(a, have).code == wire::RelayCode::too_large);
    have.chunks.pop_back();
    auto answer = relay.handle(a, have);
    REQUIRE(std::holds_alternative<wire::ChunkHaveReply>(answer));
    CHECK(std::get<wire::ChunkHaveReply>(answer).present.size() == wire::kMaxHaveBatch);
}

TEST_CASE("a put over the quota is refused until the quota is raised", "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 25);
    const DeviceSession a = relay.connect(alice, 0);

    CHECK(relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), std::string(20, 'x')}}}).code ==
          wire::RelayCode::ok);
    auto full = relay.reply(a, wire::ChunkPut{2, {{chunk_id(2), std::string(10, 'x')}}});
    CHECK(full.code == wire::RelayCode::quota_exceeded);
    CHECK(full.message == "relay full: account alice uses 20 of 25 bytes");
    CHECK(full.used_bytes == 20);
    CHECK(full.quota_bytes == 25);
    // Nothing of it was kept.
    CHECK(std::get<wire::ChunkHaveReply>(relay.handle(a, wire::ChunkHave{3, {chunk_id(2)}}))
              .present == std::vector<bool>{false});
    // Exactly up to the quota is fine.
    CHECK(relay.reply(a, wire::ChunkPut{4, {{chunk_id(3), std::string(5, 'x')}}}).code ==
          wire::RelayCode::ok);

    CHECK(relay.admin->set_quota("nobody", 10).error().code == Errc::not_found);
    REQUIRE(relay.admin->set_quota("alice", 100));
    auto ok = relay.reply(a, wire::ChunkPut{5, {{chunk_id(2), std::string(10, 'x')}}});
    CHECK(ok.code == wire::RelayCode::ok);
    CHECK(ok.used_bytes == 35);
    CHECK(ok.quota_bytes == 100);
}

TEST_CASE("concurrent puts never take an account over its quota", "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 1000, 4);
    std::vector<DeviceSession> sessions;
    for (std::size_t i = 0; i < 4; ++i) sessions.push_back(relay.connect(alice, i));

    std::atomic<int> accepted{0};
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (std::uint8_t i = 0; i < 20; ++i) {
                wire::RelayChunkId id = chunk_id(i);
                id[0] = static_cast<std::uint8_t>(t);
                const auto answer = relay.service->handle(
                    sessions[t], wire::ChunkPut{i, {{id, std::string(30, 'x')}}}, {});
                const auto code = std::get<wire::RelayReply>(answer).code;
                if (code == wire::RelayCode::ok)
                    ++accepted;
                else if (code == wire::RelayCode::quota_exceeded)
                    ++refused;
                else
                    ++other;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(other == 0);
    CHECK(accepted == 1000 / 30);
    CHECK(refused == 80 - 1000 / 30);
    auto users = relay.admin->users();
    REQUIRE(users);
    CHECK(users->front().used_bytes == 30 * (1000 / 30));
}

TEST_CASE("concurrent puts of the same chunks store each once and charge it once",
          "[relay][chunks]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 0, 4);
    std::vector<DeviceSession> sessions;
    for (std::size_t i = 0; i < 4; ++i) sessions.push_back(relay.connect(alice, i));
    wire::ChunkPut put{1, {}};
    for (std::uint8_t i = 0; i < 16; ++i)
        put.chunks.push_back({chunk_id(i), std::string(i + 1, 'c')});

    std::atomic<int> refused{0};
    std::vector<std::thread> threads;
    for (std::size_t t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int round = 0; round < 5; ++round) {
                const auto answer = relay.service->handle(sessions[t], put, {});
                if (std::get<wire::RelayReply>(answer).code != wire::RelayCode::ok) ++refused;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(refused == 0);
    auto users = relay.admin->users();
    REQUIRE(users);
    CHECK(users->front().used_bytes == 16 * 17 / 2);
    // maintain() afterwards keeps every chunk and the charge.
    REQUIRE(relay.service->maintain());
    wire::ChunkGet get{2, {}};
    for (const wire::SealedChunk& chunk : put.chunks) get.chunks.push_back(chunk.chunk);
    const auto got = std::get<wire::ChunkData>(relay.handle(sessions[0], get));
    for (std::size_t i = 0; i < put.chunks.size(); ++i) CHECK(got.chunks[i] == put.chunks[i].data);
    users = relay.admin->users();
    REQUIRE(users);
    CHECK(users->front().used_bytes == 16 * 17 / 2);
}

TEST_CASE("stores are refused while the disk is fuller than max_disk_fraction", "[relay][chunks]") {
    ServiceOptions options;
    options.max_disk_fraction = 0.0;
    TestRelay relay(options);
    User alice = relay.add_user("alice", 0);
    const DeviceSession a = relay.connect(alice, 0);
    auto put = relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "x"}}});
    CHECK(put.code == wire::RelayCode::unavailable);
    CHECK(put.message == "relay disk nearly full");
    auto post = relay.reply(a, wire::MailboxPost{2, message_id(1), {alice.device(1)}, "x", {}, 0});
    CHECK(post.code == wire::RelayCode::unavailable);
    // Reading still works.
    CHECK(std::holds_alternative<wire::MailboxBatch>(relay.handle(a, wire::MailboxFetch{3, 1, 1})));
}
