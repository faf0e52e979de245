// The relay messages' limits (net/messages.hh, proto/relay.md): sizes and
// counts over their limits, chunk batches at and past theirs, values out of
// range, each refused with the field named.
#include <catch2/catch.hpp>

#include "messages_test_util.hh"
#include "net/messages.hh"
#include "relay_message_fixtures.hh"

using namespace ferry;
using namespace ferry::message_test;
using namespace ferry::wire;

namespace {

const std::string k32(32, '\x5a');
const std::string k16(16, '\x01');

}  // namespace

TEST_CASE("relay messages over their limits are refused", "[messages][relay]") {
    CHECK_THAT(decode_error(encode(ChunkHave{1, distinct<32>(kMaxHaveBatch + 1)})),
               Catch::Contains("ChunkHave message: chunks: 4097 elements, above the limit of 4096"));
    CHECK_THAT(decode_error(encode(ChunkHaveReply{1, std::vector<bool>(kMaxHaveBatch + 1)})),
               Catch::Contains("ChunkHaveReply message: present: 4097 elements, above the limit of 4096"));
    CHECK_THAT(decode_error(encode(MailboxPost{1, {}, distinct<32>(kMaxRecipients + 1), "p", {}, 0})),
               Catch::Contains("MailboxPost message: recipients: 257 elements, above the limit of 256"));
    CHECK_THAT(decode_error(encode(ChunkPut{1, {SealedChunk{{}, std::string(kMaxSealedChunk + 1, 'd')}}})),
               Catch::Contains("ChunkPut message: chunks[0].data: binary of 266241 bytes, above the limit of 266240"));
    CHECK_THAT(decode_error(encode(ChunkData{1, RelayCode::ok, {"x", std::string(kMaxSealedChunk + 1, 'd')}})),
               Catch::Contains("ChunkData message: chunks[1]: binary of 266241 bytes, above the limit of 266240"));
    const std::string too_big(kMaxMailboxPayload + 1, 'p');
    CHECK_THAT(decode_error(encode(MailboxPost{1, {}, {filled<32>(1)}, too_big, {}, 0})),
               Catch::Contains("MailboxPost message: payload: binary of 16777217 bytes, above the limit of 16777216"));
    CHECK_THAT(decode_error(encode(MailboxBatch{1, {MailboxEntry{{}, {}, 0, false, too_big}}, false})),
               Catch::Contains("MailboxBatch message: entries[0].payload: binary of 16777217 bytes"));

    ClusterConfig config{"n", {}, {}, {}, {RelayEntry{std::string(kMaxRelayUrl + 1, 'u'), false, 0}}};
    CHECK_THAT(decode_error(encode(config)),
               Catch::Contains("ClusterConfig message: relays[0].url: string of 513 bytes, above the limit of 512"));

    Limits limits;
    limits.max_array = 3;
    CHECK(decode_error(encode(MailboxAck{1, distinct<16>(3)}), limits).empty());
    CHECK_THAT(decode_error(encode(MailboxAck{1, distinct<16>(4)}), limits),
               Catch::Contains("MailboxAck message: message_ids: 4 elements, above the limit of 3"));
    CHECK_THAT(decode_error(encode(MailboxPost{1, {}, {filled<32>(1)}, "p", distinct<32>(4), 0}), limits),
               Catch::Contains("MailboxPost message: chunks: 4 elements, above the limit of 3"));
    CHECK_THAT(decode_error(encode(RelayHello{"t", {"a", "b", "c", "d"}}), limits),
               Catch::Contains("RelayHello message: revocations: 4 elements"));
    const MailboxEntry entry{{}, {}, 0, true, ""};
    CHECK_THAT(decode_error(encode(MailboxBatch{1, {entry, entry, entry, entry}, false}), limits),
               Catch::Contains("MailboxBatch message: entries: 4 elements, above the limit of 3"));
    config.relays.assign(4, RelayEntry{"r", false, 0});
    CHECK_THAT(decode_error(encode(config), limits), Catch::Contains("relays: 4 elements, above the limit of 3"));

    limits = Limits{};
    limits.max_string = 100;
    config.relays.assign(1, RelayEntry{std::string(101, 'u'), false, 0});
    CHECK_THAT(decode_error(encode(config), limits),
               Catch::Contains("relays[0].url: string of 101 bytes, above the limit of 100"));
    CHECK_THAT(decode_error(encode(RelayHello{std::string(101, 't'), {}}), limits),
               Catch::Contains("RelayHello message: token: string of 101 bytes"));
    CHECK_THAT(decode_error(encode(RelayReply{1, RelayCode::error, std::string(101, 'm'), 0, 0}), limits),
               Catch::Contains("RelayReply message: message: string of 101 bytes"));
}

TEST_CASE("batched chunk messages keep to their counts and bytes", "[messages][relay]") {
    // ChunkPut: 1..64 chunks of at most 4 MiB together.
    CHECK_THAT(decode_error(encode(ChunkPut{1, {}})),
               Catch::Contains("malformed ChunkPut message: chunks: empty (at least one)"));
    CHECK(decode_error(encode(ChunkPut{1, sealed_chunks(kMaxPutBatch, 1)})).empty());
    CHECK_THAT(decode_error(encode(ChunkPut{1, sealed_chunks(kMaxPutBatch + 1, 1)})),
               Catch::Contains("ChunkPut message: chunks: 65 elements, above the limit of 64"));
    // 64 chunks of 64 KiB are exactly 4 MiB; one byte more is refused at
    // the chunk that passes the limit.
    std::vector<SealedChunk> chunks = sealed_chunks(kMaxPutBatch, kMaxPutBytes / kMaxPutBatch);
    CHECK(decode_error(encode(ChunkPut{1, chunks})).empty());
    chunks.back().data += 's';
    CHECK_THAT(decode_error(encode(ChunkPut{1, chunks})),
               Catch::Contains("ChunkPut message: chunks[63].data: the chunks' data come to 4194305 "
                               "bytes or more, above the limit of 4194304"));
    chunks.back().data.pop_back();
    chunks.front().data += 's';
    CHECK_THAT(decode_error(encode(ChunkPut{1, chunks})),
               Catch::Contains("ChunkPut message: chunks[63].data: the chunks' data come to 4194305"));
    // Chunks of the largest sealed size: the 16th passes 4 MiB, whatever follows.
    CHECK(decode_error(encode(ChunkPut{1, sealed_chunks(15, kMaxSealedChunk)})).empty());
    std::vector<SealedChunk> largest = sealed_chunks(16, kMaxSealedChunk);
    largest.push_back(SealedChunk{{}, "x"});
    CHECK_THAT(decode_error(encode(ChunkPut{1, largest})),
               Catch::Contains("ChunkPut message: chunks[15].data: the chunks' data come to 4259840 "
                               "bytes or more, above the limit of 4194304"));

    // ChunkGet: 1..16 chunk ids.
    CHECK_THAT(decode_error(encode(ChunkGet{1, {}})),
               Catch::Contains("malformed ChunkGet message: chunks: empty (at least one)"));
    CHECK(decode_error(encode(ChunkGet{1, distinct<32>(kMaxGetBatch)})).empty());
    CHECK_THAT(decode_error(encode(ChunkGet{1, distinct<32>(kMaxGetBatch + 1)})),
               Catch::Contains("ChunkGet message: chunks: 17 elements, above the limit of 16"));

    // ChunkData: at most 16 entries of at most 266,240 bytes, none when not ok.
    const std::vector<std::string> full(kMaxGetBatch, std::string(kMaxSealedChunk, 'd'));
    CHECK(decode_error(encode(ChunkData{1, RelayCode::ok, full})).empty());
    CHECK_THAT(decode_error(encode(ChunkData{1, RelayCode::ok, std::vector<std::string>(17, "d")})),
               Catch::Contains("ChunkData message: chunks: 17 elements, above the limit of 16"));
    CHECK_THAT(decode_error(encode(ChunkData{1, RelayCode::ok, {std::string(kMaxSealedChunk + 1, 'd')}})),
               Catch::Contains("ChunkData message: chunks[0]: binary of 266241 bytes, above the limit of 266240"));
    CHECK_THAT(decode_error(encode(ChunkData{1, RelayCode::not_found, {"abc"}})),
               Catch::Contains("malformed ChunkData message: chunks: 1 entries in an answer that is not ok"));
    CHECK_THAT(decode_error(encode(ChunkData{1, RelayCode::error, {"", ""}})),
               Catch::Contains("malformed ChunkData message: chunks: 2 entries in an answer that is not ok"));
    CHECK(decode_error(encode(ChunkData{1, RelayCode::unavailable, {}})).empty());

    // An empty entry of an ok answer is a chunk the relay does not hold.
    auto not_held = decode(encode(ChunkData{7, RelayCode::ok, {""}}));
    REQUIRE(not_held);
    CHECK(std::get<ChunkData>(*not_held) == ChunkData{7, RelayCode::ok, {""}});
    auto some_held = decode(from_hex("9414070093c400c40161c400"));  // [20, 7, 0, ["", "a", ""]]
    REQUIRE(some_held);
    CHECK(std::get<ChunkData>(*some_held).chunks == std::vector<std::string>{"", "a", ""});
}

TEST_CASE("relay message values outside their ranges are refused", "[messages][relay]") {
    const auto reply = [](std::uint64_t code) {
        return Builder().array(6).uint(18).uint(1).uint(code).str("").uint(0).uint(0).bytes();
    };
    CHECK(decode_error(reply(6)).empty());
    CHECK_THAT(decode_error(reply(7)), Catch::Contains("RelayReply message: code: 7 is above the limit of 6"));
    CHECK_THAT(decode_error(Builder().array(4).uint(20).uint(1).uint(7).array(0).bytes()),
               Catch::Contains("ChunkData message: code: 7 is above the limit of 6"));
    CHECK_THAT(decode_error(Builder().array(5).uint(24).uint(1).uint(200).str("").bin(k32).bytes()),
               Catch::Contains("ForwardReply message: code: 200 is above the limit of 6"));
    CHECK_THAT(decode_error(Builder().array(3).uint(14).uint(1ull << 32).array(1).bin(k32).bytes()),
               Catch::Contains("ChunkGet message: id: 4294967296 is above the limit of 4294967295"));
    CHECK_THAT(decode_error(Builder().array(4).uint(16).uint(1).uint(1ull << 32).uint(0).bytes()),
               Catch::Contains("MailboxFetch message: max_messages: 4294967296 is above the limit"));
    CHECK_THAT(decode_error(Builder().array(7).uint(15).uint(1).bin(k16).array(1).bin(k32).bin("p").array(0).uint(1ull << 32).bytes()),
               Catch::Contains("MailboxPost message: ttl_seconds: 4294967296 is above the limit"));
    CHECK_THAT(decode_error(Builder().array(4).uint(11).str("a").sint(-1).uint(0).bytes()),
               Catch::Contains("RelayWelcome message: used_bytes: expected a non-negative integer"));
}
