// The message codec (net/messages.hh): the golden vectors of
// proto/messages.md both ways, and round trips of random and extreme values.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "messages_test_util.hh"
#include "net/messages.hh"

using namespace ferry;
using namespace ferry::message_test;
using namespace ferry::wire;

TEST_CASE("every message encodes to its golden bytes and decodes back", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        const Bytes expected = from_hex(g.hex);
        CHECK(to_hex(encode(g.message)) == g.hex);
        auto decoded = decode(expected);
        REQUIRE(decoded);
        CHECK(*decoded == g.message);
    }
}

TEST_CASE("the golden vectors cover every message type", "[messages]") {
    constexpr int kLast = static_cast<int>(MessageType::forward_offer);
    std::vector<bool> seen(kLast + 1, false);
    for (const Golden& g : golden_vectors()) {
        seen[static_cast<std::size_t>(message_type(g.message))] = true;
    }
    for (int t = 1; t <= kLast; ++t) {
        INFO(message_type_name(static_cast<MessageType>(t)));
        CHECK(seen[static_cast<std::size_t>(t)]);
    }
}

TEST_CASE("message_type follows the tag and names it", "[messages]") {
    CHECK(message_type(Message{Ping{}}) == MessageType::ping);
    CHECK(message_type(Message{ResendRequest{}}) == MessageType::resend_request);
    CHECK(message_type(Message{ClusterConfig{}}) == MessageType::cluster_config);
    CHECK(std::string(message_type_name(MessageType::join_accept)) == "JoinAccept");
}

namespace {

ChunkRef random_chunk(std::mt19937_64& rng) {
    ChunkRef c;
    for (auto& b : c.hash.bytes) b = static_cast<std::uint8_t>(rng());
    c.size = static_cast<std::uint32_t>(1 + rng() % kMaxChunkSize);
    return c;
}

std::string random_text(std::mt19937_64& rng, std::size_t max) {
    // Lengths around msgpack's str form boundaries (31/32, 255/256, 65535).
    static constexpr std::size_t lengths[] = {0, 1, 31, 32, 255, 256, 300, 65535};
    std::size_t n = lengths[rng() % std::size(lengths)];
    n = std::min(n, max);
    std::string s(n, 'x');
    for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
}

WireRecord random_record(std::mt19937_64& rng) {
    WireRecord w;
    FileRecord& r = w.record;
    r.path = random_text(rng, 300) + "/p";
    r.kind = static_cast<FileKind>(rng() % 3);
    r.deleted = rng() % 4 == 0;
    r.mtime_ns = static_cast<std::int64_t>(rng());
    r.mode = static_cast<std::uint32_t>(rng() % 010000);
    const int entries = static_cast<int>(rng() % 4);
    for (int i = 0; i < entries; ++i) r.version.increment(ShortId{rng()});
    r.sequence = Sequence{static_cast<std::int64_t>(rng() >> (rng() % 63 + 1))};
    r.modified_by = ShortId{rng()};
    if (r.kind == FileKind::symlink && !r.deleted) {
        r.symlink_target = random_text(rng, 1000) + "t";
        r.size = r.symlink_target.size();
    }
    if (r.kind == FileKind::file && !r.deleted) {
        if (rng() % 3 == 0) {
            ChunkDelta d;
            for (auto& b : d.base.bytes) b = static_cast<std::uint8_t>(rng());
            const int runs = static_cast<int>(rng() % 5);
            for (int i = 0; i < runs; ++i) {
                DeltaRun run{static_cast<std::uint32_t>(rng() % 100000),
                             static_cast<std::uint32_t>(rng() % 1000), {}};
                const int inserts = static_cast<int>(rng() % 3);
                for (int k = 0; k < inserts; ++k) run.insert.push_back(random_chunk(rng));
                d.runs.push_back(std::move(run));
            }
            w.delta = std::move(d);
            r.size = rng();
        } else {
            const int chunks = static_cast<int>(rng() % 6);
            for (int i = 0; i < chunks; ++i) {
                r.chunks.push_back(random_chunk(rng));
                r.size += r.chunks.back().size;
            }
        }
    }
    return w;
}

}  // namespace

TEST_CASE("random index updates round-trip exactly", "[messages]") {
    std::mt19937_64 rng(4);
    for (int round = 0; round < 200; ++round) {
        IndexUpdate update{random_text(rng, 64), rng(), Sequence{static_cast<std::int64_t>(rng() >> 1)}, {}};
        const int records = static_cast<int>(rng() % 20);
        for (int i = 0; i < records; ++i) update.records.push_back(random_record(rng));
        const Bytes bytes = encode(update);
        auto decoded = decode(bytes);
        REQUIRE(decoded);
        REQUIRE(std::holds_alternative<IndexUpdate>(*decoded));
        CHECK(std::get<IndexUpdate>(*decoded) == update);
        CHECK(encode(*decoded) == bytes);
    }
}

TEST_CASE("other messages round-trip with values at their limits", "[messages]") {
    const std::string long_text(kLimits.max_string, 'n');
    std::vector<Message> messages;
    messages.push_back(Request{0xffffffff, long_text, filled_hash(0xee), kMaxChunkSize});
    messages.push_back(Request{0, "", filled_hash(0), 1});
    messages.push_back(Response{7, ResponseCode::ok, true, std::string(kMaxChunkSize, 'z')});
    messages.push_back(Response{8, ResponseCode::error, false, ""});
    messages.push_back(ClusterConfig{long_text, {}, {}, {FolderState{"f", ~0ull, ~0ull, Sequence{INT64_MAX}}}});
    messages.push_back(Close{""});
    messages.push_back(Close{"caf\xc3\xa9"});
    messages.push_back(ResendRequest{"f", std::vector<std::string>(1000, "p")});
    for (const Message& m : messages) {
        INFO(message_type_name(message_type(m)));
        const Bytes bytes = encode(m);
        auto decoded = decode(bytes);
        REQUIRE(decoded);
        CHECK(*decoded == m);
    }
}
