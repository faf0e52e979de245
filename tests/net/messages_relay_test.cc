// The relay messages' codec (net/messages.hh, proto/relay.md): round trips
// at the limits, and every way their fields can be wrong is refused with the
// field named (limits, batch sizes and ranges: messages_relay_limits_test.cc). (Golden vectors, truncations, trailing bytes and mutations
// of every message: messages_test.cc and messages_malformed_test.cc.)
#include <catch2/catch.hpp>

#include <random>

#include "messages_test_util.hh"
#include "relay_message_fixtures.hh"
#include "net/messages.hh"

using namespace ferry;
using namespace ferry::message_test;
using namespace ferry::wire;

namespace {

void check_round_trip(const Message& m) {
    INFO(message_type_name(message_type(m)));
    const Bytes bytes = encode(m);
    auto decoded = decode(bytes);
    REQUIRE(decoded);
    CHECK(*decoded == m);
    CHECK(encode(*decoded) == bytes);
}

const std::string k32(32, '\x5a');
const std::string k16(16, '\x01');

}  // namespace

TEST_CASE("relay messages round-trip with values at their limits", "[messages][relay]") {
    const std::string long_text(kLimits.max_string, 't');
    std::vector<Message> messages;
    messages.push_back(RelayHello{long_text, {"r1", std::string(kLimits.max_string, 'r')}});
    messages.push_back(RelayHello{"", {}});
    messages.push_back(RelayWelcome{"caf\xc3\xa9", ~0ull, ~0ull});
    messages.push_back(RelayWelcome{"", 0, 0});
    // 64 chunks of 64 KiB: the count and the byte limit at once.
    messages.push_back(ChunkPut{0xffffffff, sealed_chunks(kMaxPutBatch, kMaxPutBytes / kMaxPutBatch)});
    // 15 of the largest sealed size and the rest of 4 MiB.
    std::vector<SealedChunk> largest = sealed_chunks(16, kMaxSealedChunk);
    largest.back().data.resize(kMaxPutBytes - 15 * kMaxSealedChunk);
    messages.push_back(ChunkPut{1, largest});
    messages.push_back(ChunkPut{0, {SealedChunk{filled<32>(0), "x"}}});
    // A chunk named twice is the relay's to store once; the codec keeps both.
    messages.push_back(ChunkPut{2, {SealedChunk{filled<32>(7), "a"}, SealedChunk{filled<32>(7), "b"}}});
    messages.push_back(ChunkHave{1, distinct<32>(kMaxHaveBatch)});
    messages.push_back(ChunkHave{2, {}});
    messages.push_back(ChunkGet{3, distinct<32>(kMaxGetBatch)});
    messages.push_back(ChunkGet{3, {filled<32>(0x01)}});
    messages.push_back(MailboxPost{4, filled<16>(0xee), distinct<32>(kMaxRecipients),
                                   std::string(kMaxMailboxPayload, 'p'), distinct<32>(1000),
                                   0xffffffff});
    messages.push_back(MailboxPost{5, filled<16>(0), {filled<32>(1)}, "p", {}, 0});
    messages.push_back(MailboxFetch{0xffffffff, 0xffffffff, 0xffffffff});
    messages.push_back(MailboxFetch{0, 0, 0});
    messages.push_back(MailboxAck{6, distinct<16>(1000)});
    messages.push_back(MailboxAck{7, {}});
    for (int code = 0; code <= static_cast<int>(RelayCode::error); ++code) {
        messages.push_back(RelayReply{8, static_cast<RelayCode>(code), "why", 1, 2});
        messages.push_back(ForwardReply{9, static_cast<RelayCode>(code), "", filled<32>(0)});
        if (code != 0) messages.push_back(ChunkData{10, static_cast<RelayCode>(code), {}});
    }
    messages.push_back(RelayReply{11, RelayCode::error, long_text, ~0ull, ~0ull});
    std::vector<bool> present(kMaxHaveBatch);
    for (std::size_t i = 0; i < present.size(); ++i) present[i] = i % 3 == 0;
    messages.push_back(ChunkHaveReply{12, present});
    messages.push_back(ChunkHaveReply{13, {}});
    const std::string largest_chunk(kMaxSealedChunk, 'd');
    messages.push_back(ChunkData{14, RelayCode::ok, std::vector(kMaxGetBatch, largest_chunk)});
    messages.push_back(ChunkData{14, RelayCode::ok, {"", "d", ""}});  // two chunks not held
    MailboxBatch batch{15, {}, false};
    batch.entries.push_back(MailboxEntry{filled<16>(1), filled<32>(2), INT64_MIN, false,
                                         std::string(kMaxMailboxPayload, 'm')});
    batch.entries.push_back(MailboxEntry{filled<16>(3), filled<32>(4), INT64_MAX, true, ""});
    batch.entries.push_back(MailboxEntry{filled<16>(5), filled<32>(6), -1, false, "y"});
    messages.push_back(batch);
    messages.push_back(MailboxBatch{16, {}, true});
    messages.push_back(MailboxNotify{});
    messages.push_back(ForwardRequest{17, filled<32>(0xd2)});
    messages.push_back(ForwardOffer{filled<32>(0), filled<32>(0xff)});
    ClusterConfig config{"n", {}, {}, {}, {}};
    config.relays.push_back(RelayEntry{std::string(kMaxRelayUrl, 'u'), true, INT64_MIN});
    config.relays.push_back(RelayEntry{"relay://h:1#ID", false, INT64_MAX});
    config.relays.push_back(RelayEntry{"", false, 0});
    messages.push_back(config);
    for (const Message& m : messages) check_round_trip(m);
}

TEST_CASE("random mailbox batches and posts round-trip exactly", "[messages][relay]") {
    std::mt19937_64 rng(6);
    const auto bytes_of = [&rng](std::size_t n) {
        std::string s(n, '\0');
        for (char& c : s) c = static_cast<char>(rng());
        return s;
    };
    const auto key = [&rng]() {
        DeviceKey k;
        for (auto& b : k) b = static_cast<std::uint8_t>(rng());
        return k;
    };
    for (int round = 0; round < 200; ++round) {
        MailboxBatch batch{static_cast<std::uint32_t>(rng()), {}, rng() % 2 == 0};
        const int entries = static_cast<int>(rng() % 8);
        for (int i = 0; i < entries; ++i) {
            MailboxEntry e;
            for (auto& b : e.message_id) b = static_cast<std::uint8_t>(rng());
            e.peer = key();
            e.posted_ns = static_cast<std::int64_t>(rng());
            e.expired = rng() % 4 == 0;
            // Lengths around the bin 8 / bin 16 / bin 32 boundaries.
            static constexpr std::size_t lengths[] = {1, 255, 256, 65535, 65536, 70000};
            if (!e.expired) e.payload = bytes_of(lengths[rng() % std::size(lengths)]);
            batch.entries.push_back(std::move(e));
        }
        check_round_trip(batch);

        MailboxPost post{static_cast<std::uint32_t>(rng()), {}, {}, bytes_of(1 + rng() % 300),
                         {}, static_cast<std::uint32_t>(rng())};
        for (auto& b : post.message_id) b = static_cast<std::uint8_t>(rng());
        const std::size_t recipients = 1 + rng() % 20;
        for (std::size_t i = 0; i < recipients; ++i) post.recipients.push_back(key());
        const std::size_t chunks = rng() % 20;
        for (std::size_t i = 0; i < chunks; ++i) post.chunks.push_back(key());
        check_round_trip(post);
    }
}

TEST_CASE("fixed-size relay fields must have exactly their size", "[messages][relay]") {
    const auto chunk_get = [](std::size_t first, std::size_t second) {
        return Builder().array(3).uint(14).uint(1).array(2)
            .bin(std::string(first, 'c')).bin(std::string(second, 'c')).bytes();
    };
    CHECK(decode_error(chunk_get(32, 32)).empty());
    CHECK_THAT(decode_error(chunk_get(31, 33)), Catch::Contains("malformed ChunkGet message: chunks[0]: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(chunk_get(33, 32)), Catch::Contains("chunks[0]: binary of 33 bytes, above the limit of 32"));
    // Refused up front: two ids need more bytes than follow.
    CHECK_THAT(decode_error(chunk_get(0, 32)), Catch::Contains("chunks: declares 2 elements but only 36 bytes follow"));
    const auto chunk_put = [](std::size_t bytes) {
        return Builder().array(3).uint(12).uint(1).array(2).array(2).bin(k32).bin("d")
            .array(2).bin(std::string(bytes, 'c')).bin("dddd").bytes();
    };
    CHECK(decode_error(chunk_put(32)).empty());
    CHECK_THAT(decode_error(chunk_put(31)), Catch::Contains("ChunkPut message: chunks[1].chunk: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(chunk_put(33)), Catch::Contains("ChunkPut message: chunks[1].chunk: binary of 33 bytes"));
    CHECK_THAT(decode_error(Builder().array(3).uint(13).uint(1).array(3).bin(k32).bin(k32).bin(std::string(33, 'c')).bytes()),
               Catch::Contains("ChunkHave message: chunks[2]: binary of 33 bytes, above the limit of 32"));
    // A short last id leaves fewer bytes than the ids need: refused up front.
    CHECK_THAT(decode_error(Builder().array(3).uint(13).uint(1).array(3).bin(k32).bin(k32).bin("short").bytes()),
               Catch::Contains("ChunkHave message: chunks: declares 3 elements but only 75 bytes follow"));
    CHECK_THAT(decode_error(Builder().array(7).uint(15).uint(1).bin(std::string(15, 'i')).array(1).bin(k32).bin("p").array(0).uint(0).bytes()),
               Catch::Contains("MailboxPost message: message_id: 15 bytes, expected 16"));
    CHECK_THAT(decode_error(Builder().array(7).uint(15).uint(1).bin(k16).array(2).bin(k32).bin(std::string(31, 'k')).bin("p").array(0).uint(0).bytes()),
               Catch::Contains("MailboxPost message: recipients[1]: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(Builder().array(7).uint(15).uint(1).bin(k16).array(1).bin(k32).bin("p").array(1).bin(std::string(31, 'c')).uint(0).bytes()),
               Catch::Contains("MailboxPost message: chunks[0]: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(Builder().array(3).uint(17).uint(1).array(1).bin(std::string(17, 'i')).bytes()),
               Catch::Contains("MailboxAck message: message_ids[0]: binary of 17 bytes, above the limit of 16"));
    CHECK_THAT(decode_error(Builder().array(4).uint(21).uint(1).array(1).array(5).bin(k16).bin(std::string(31, 'k')).sint(1).boolean(false).bin("p").boolean(false).bytes()),
               Catch::Contains("MailboxBatch message: entries[0].peer: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(Builder().array(3).uint(23).uint(1).bin("").bytes()),
               Catch::Contains("ForwardRequest message: target: 0 bytes, expected 32"));
    CHECK_THAT(decode_error(Builder().array(5).uint(24).uint(1).uint(0).str("").bin(std::string(33, 's')).bytes()),
               Catch::Contains("ForwardReply message: session: binary of 33 bytes"));
    CHECK_THAT(decode_error(Builder().array(3).uint(25).bin(k32).bin(std::string(31, 'f')).bytes()),
               Catch::Contains("ForwardOffer message: from: 31 bytes, expected 32"));
    // A key given as str is a wrong type, not a short bin.
    CHECK_THAT(decode_error(Builder().array(3).uint(25).str(k32).bin(k32).bytes()),
               Catch::Contains("ForwardOffer message: session: expected a bin, found a str"));
}

TEST_CASE("booleans in relay messages are msgpack bools and nothing else", "[messages][relay]") {
    const auto have_reply = [](std::initializer_list<std::uint8_t> second) {
        return Builder().array(3).uint(19).uint(1).array(2).boolean(true).raw(second).bytes();
    };
    CHECK(decode_error(have_reply({0xc2})).empty());
    CHECK_THAT(decode_error(have_reply({0x01})),
               Catch::Contains("ChunkHaveReply message: present[1]: expected a bool, found an integer"));
    CHECK_THAT(decode_error(have_reply({0xc0})), Catch::Contains("present[1]: expected a bool, found nil"));
    CHECK_THAT(decode_error(have_reply({0xa1, 't'})), Catch::Contains("present[1]: expected a bool, found a str"));
    CHECK_THAT(decode_error(Builder().array(4).uint(21).uint(1).array(1).array(5).bin(k16).bin(k32).sint(1).uint(0).bin("p").boolean(false).bytes()),
               Catch::Contains("MailboxBatch message: entries[0].expired: expected a bool, found an integer"));
    CHECK_THAT(decode_error(Builder().array(4).uint(21).uint(1).array(0).nil().bytes()),
               Catch::Contains("MailboxBatch message: more: expected a bool, found nil"));
    CHECK_THAT(decode_error(Builder().array(6).uint(1).str("n").array(0).array(0).array(0).array(1).array(3).str("r").uint(1).sint(0).bytes()),
               Catch::Contains("ClusterConfig message: relays[0].removed: expected a bool, found an integer"));
}

TEST_CASE("sealed bytes are present exactly where they belong", "[messages][relay]") {
    CHECK_THAT(decode_error(encode(ChunkPut{1, {SealedChunk{{}, "aa"}, SealedChunk{{}, ""}}})),
               Catch::Contains("ChunkPut message: chunks[1].data: empty (sealed bytes are never empty)"));
    // A ChunkData entry may be empty: a chunk the relay does not hold (the
    // batch limits' test case).
    CHECK_THAT(decode_error(encode(MailboxPost{1, {}, {filled<32>(1)}, "", {}, 0})),
               Catch::Contains("MailboxPost message: payload: empty"));
    CHECK_THAT(decode_error(encode(MailboxPost{1, {}, {}, "p", {}, 0})),
               Catch::Contains("MailboxPost message: recipients: empty (at least one)"));
    CHECK_THAT(decode_error(encode(MailboxBatch{1, {MailboxEntry{{}, {}, 0, true, "p"}}, false})),
               Catch::Contains("MailboxBatch message: entries[0].payload: 1 bytes where none belong"));
    CHECK_THAT(decode_error(encode(MailboxBatch{1, {MailboxEntry{{}, {}, 0, false, ""}}, false})),
               Catch::Contains("MailboxBatch message: entries[0].payload: empty"));
}

TEST_CASE("relay message texts must be UTF-8", "[messages][relay]") {
    CHECK_THAT(decode_error(encode(RelayHello{"t\xff", {}})), Catch::Contains("RelayHello message: token: not valid UTF-8"));
    CHECK_THAT(decode_error(encode(RelayWelcome{"\xc0\xaf", 0, 0})), Catch::Contains("RelayWelcome message: account: not valid UTF-8"));
    CHECK_THAT(decode_error(encode(RelayReply{1, RelayCode::error, "\xed\xa0\x80", 0, 0})),
               Catch::Contains("RelayReply message: message: not valid UTF-8"));
    CHECK_THAT(decode_error(encode(ForwardReply{1, RelayCode::error, "x\x80", {}})),
               Catch::Contains("ForwardReply message: message: not valid UTF-8"));
    const ClusterConfig config{"n", {}, {}, {}, {RelayEntry{"relay://h\xfe", false, 0}}};
    CHECK_THAT(decode_error(encode(config)), Catch::Contains("ClusterConfig message: relays[0].url: not valid UTF-8"));
}

TEST_CASE("relay messages with missing or extra elements are refused", "[messages][relay]") {
    CHECK_THAT(decode_error({0x92, 0x16, 0xc0}), Catch::Contains("MailboxNotify message: has 2 elements, expected 1"));
    CHECK_THAT(decode_error(Builder().array(6).uint(15).uint(1).bin(k16).array(1).bin(k32).bin("p").array(0).bytes()),
               Catch::Contains("MailboxPost message: has 6 elements, expected 7"));
    CHECK_THAT(decode_error(Builder().array(4).uint(21).uint(1).array(1).array(4).bin(k16).bin(k32).sint(1700000000000000000).boolean(true).boolean(false).bytes()),
               Catch::Contains("MailboxBatch message: entries[0]: has 4 elements, expected 5"));
    CHECK_THAT(decode_error(Builder().array(6).uint(1).str("n").array(0).array(0).array(0).array(1).array(2).str("r").boolean(false).bytes()),
               Catch::Contains("ClusterConfig message: relays[0]: has 2 elements, expected 3"));
    // A ClusterConfig of before the relays field.
    CHECK_THAT(decode_error(Builder().array(5).uint(1).str("n").array(0).array(0).array(0).bytes()),
               Catch::Contains("ClusterConfig message: has 5 elements, expected 6"));
    CHECK_THAT(decode_error(Builder().array(4).uint(25).bin(k32).bin(k32).nil().bytes()),
               Catch::Contains("ForwardOffer message: has 4 elements, expected 3"));
    // A ChunkPut, ChunkGet and ChunkData of before the batches.
    CHECK_THAT(decode_error(Builder().array(4).uint(12).uint(1).bin(k32).bin("d").bytes()),
               Catch::Contains("ChunkPut message: has 4 elements, expected 3"));
    CHECK_THAT(decode_error(Builder().array(3).uint(14).uint(1).bin(k32).bytes()),
               Catch::Contains("ChunkGet message: chunks: expected an array, found a bin"));
    CHECK_THAT(decode_error(Builder().array(4).uint(20).uint(1).uint(0).bin("d").bytes()),
               Catch::Contains("ChunkData message: chunks: expected an array, found a bin"));
    CHECK_THAT(decode_error(Builder().array(3).uint(12).uint(1).array(1).array(1).bin(std::string(40, 'c')).bytes()),
               Catch::Contains("ChunkPut message: chunks[0]: has 1 elements, expected 2"));
    CHECK_THAT(decode_error(Builder().array(3).uint(12).uint(1).array(1).bin(std::string(40, 'c')).bytes()),
               Catch::Contains("ChunkPut message: chunks[0]: expected an array, found a bin"));
}

TEST_CASE("relay fields not in msgpack's shortest form are refused", "[messages][relay]") {
    // ChunkGet's chunk as bin 16.
    Bytes wide{0x93, 0x0e, 0x01, 0x91, 0xc5, 0x00, 0x20};
    wide.insert(wide.end(), 32, 0x5a);
    CHECK_THAT(decode_error(wide), Catch::Contains("ChunkGet message: chunks[0]: not in msgpack's shortest form"));
    // ChunkPut's chunks as array 16 of 1 element.
    Bytes put{0x93, 0x0c, 0x01, 0xdc, 0x00, 0x01, 0x92, 0xc4, 0x20};
    put.insert(put.end(), 32, 0x5a);
    put.insert(put.end(), {0xc4, 0x01, 0x64});
    CHECK_THAT(decode_error(put), Catch::Contains("ChunkPut message: chunks: not in msgpack's shortest form"));
    // A MailboxBatch entry's posted_ns of 1 as int 64.
    const Bytes entry = Builder().array(4).uint(21).uint(1).array(1).array(5).bin(k16).bin(k32)
                            .raw({0xd3, 0, 0, 0, 0, 0, 0, 0, 1}).boolean(true).bin("").boolean(false).bytes();
    CHECK_THAT(decode_error(entry), Catch::Contains("entries[0].posted_ns: not in msgpack's shortest form"));
    // ChunkHaveReply's present as array 16 of 2 elements.
    CHECK_THAT(decode_error({0x93, 0x13, 0x01, 0xdc, 0x00, 0x02, 0xc3, 0xc2}),
               Catch::Contains("present: not in msgpack's shortest form"));
}
