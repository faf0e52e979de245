// The message codec (net/messages.hh) on malformed input: every way a
// hostile peer's bytes can be wrong is refused with the field named, and
// mutated messages never crash the decoder.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "messages_test_util.hh"
#include "net/messages.hh"

using namespace ferry;
using namespace ferry::message_test;
using namespace ferry::wire;

TEST_CASE("every truncation of a valid message is refused", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        const Bytes full = from_hex(g.hex);
        for (std::size_t n = 0; n < full.size(); ++n) {
            INFO("first " << n << " bytes");
            CHECK(!decode(std::span(full.data(), n)));
        }
    }
}

TEST_CASE("trailing bytes are refused", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        Bytes bytes = from_hex(g.hex);
        bytes.push_back(0xc0);
        CHECK_THAT(decode_error(bytes), Catch::Contains("1 trailing bytes"));
        bytes.push_back(0x00);
        CHECK_THAT(decode_error(bytes), Catch::Contains("2 trailing bytes"));
    }
}

TEST_CASE("a message that is not a tagged array of the right length is refused", "[messages]") {
    CHECK_THAT(decode_error({}), Catch::Contains("truncated"));
    CHECK_THAT(decode_error({0x90}), Catch::Contains("no type tag"));
    CHECK_THAT(decode_error({0x81, 0x01, 0x02}), Catch::Contains("expected an array, found a map"));
    CHECK_THAT(decode_error({0x05}), Catch::Contains("expected an array"));
    CHECK_THAT(decode_error({0x91, 0x00}), Catch::Contains("unknown message type 0"));
    CHECK_THAT(decode_error({0x91, 0x1a}), Catch::Contains("unknown message type 26"));
    CHECK_THAT(decode_error({0x91, 0xa1, 0x05}), Catch::Contains("type: expected a non-negative integer, found a str"));
    CHECK_THAT(decode_error({0x92, 0x05, 0xc0}), Catch::Contains("Ping message: has 2 elements, expected 1"));
    CHECK_THAT(decode_error({0x91, 0x06}), Catch::Contains("Close message: has 1 elements, expected 2"));
    CHECK_THAT(decode_error({0x93, 0x06, 0xa0, 0xa0}), Catch::Contains("Close message: has 3 elements"));
}

TEST_CASE("wrong msgpack types are refused with the message and field named", "[messages]") {
    // Request with a str id.
    CHECK_THAT(decode_error(Builder().array(5).uint(3).str("1").str("docs").bin(std::string(32, 'h')).uint(5).bytes()),
               Catch::Contains("malformed Request message: id: expected a non-negative integer, found a str"));
    // Request with a str hash.
    CHECK_THAT(decode_error(Builder().array(5).uint(3).uint(1).str("docs").str(std::string(32, 'h')).uint(5).bytes()),
               Catch::Contains("Request message: hash: expected a bin, found a str"));
    // Response with an integer for `compressed`.
    CHECK_THAT(decode_error(Builder().array(5).uint(4).uint(1).uint(0).uint(0).bin("x").bytes()),
               Catch::Contains("Response message: compressed: expected a bool"));
    // Close with a bin reason.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).bin("bye").bytes()),
               Catch::Contains("Close message: reason: expected a str, found a bin"));
    // A float where an integer goes.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xcb, 0, 0, 0, 0, 0, 0, 0, 0}).bytes()),
               Catch::Contains("found a float"));
    // An ext and the never-used byte.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xd4, 1, 1}).bytes()), Catch::Contains("found an ext"));
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xc1}).bytes()), Catch::Contains("never-used byte"));
    // ClusterConfig whose folders are maps.
    CHECK_THAT(decode_error(Builder().array(6).uint(1).str("n").array(0).array(0).array(1).raw({0x80, 0xc0, 0xc0, 0xc0, 0xc0}).bytes()),
               Catch::Contains("ClusterConfig message: folders[0]: expected an array, found a map"));
    // A record path given as bin.
    RawRecord r;
    Bytes bytes = index_update_with(r);
    REQUIRE(decode_error(bytes).empty());
    REQUIRE(bytes[11] == 0xa1);  // the path "f"
    bytes[11] = 0xc4;           // becomes a bin8 of length 'f'
    CHECK_THAT(decode_error(bytes), Catch::Contains("IndexUpdate message: records[0].path: expected a str, found a bin"));
}

TEST_CASE("values outside their ranges are refused", "[messages]") {
    const auto request = [](std::uint64_t size, std::size_t hash_bytes) {
        return Builder().array(5).uint(3).uint(1).str("docs").bin(std::string(hash_bytes, 'h')).uint(size).bytes();
    };
    CHECK(decode_error(request(1, 32)).empty());
    CHECK(decode_error(request(kMaxChunkSize, 32)).empty());
    CHECK_THAT(decode_error(request(0, 32)), Catch::Contains("Request message: size: 0 is outside 1..16777216"));
    CHECK_THAT(decode_error(request(kMaxChunkSize + 1, 32)), Catch::Contains("Request message: size: 16777217 is above"));
    CHECK_THAT(decode_error(request(1, 31)), Catch::Contains("hash: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(request(1, 33)), Catch::Contains("hash: binary of 33 bytes, above the limit of 32"));
    CHECK_THAT(decode_error(Builder().array(5).uint(3).uint(1ull << 32).str("d").bin(std::string(32, 'h')).uint(1).bytes()),
               Catch::Contains("id: 4294967296 is above the limit of 4294967295"));

    const auto response = [](std::uint64_t code, bool compressed, std::string_view data) {
        return Builder().array(5).uint(4).uint(1).uint(code).boolean(compressed).bin(data).bytes();
    };
    CHECK(decode_error(response(2, false, "")).empty());
    CHECK_THAT(decode_error(response(3, false, "")), Catch::Contains("Response message: code: 3 is above the limit of 2"));
    CHECK_THAT(decode_error(response(0, false, "")), Catch::Contains("data: empty in an ok response"));
    CHECK_THAT(decode_error(response(1, false, "x")), Catch::Contains("data: present in a response that is not ok"));
    CHECK_THAT(decode_error(response(2, true, "")), Catch::Contains("data: present in a response that is not ok"));
    const std::string too_big(kMaxChunkSize + 1, 'z');
    CHECK_THAT(decode_error(response(0, false, too_big)), Catch::Contains("data: binary of 16777217 bytes"));

    CHECK_THAT(decode_error(Builder().array(6).uint(1).str("n").array(0).array(0).array(1)
                                .array(4).str("f").uint(1).uint(0).sint(-1).bytes()),
               Catch::Contains("folders[0].peer_max_sequence: -1 is outside 0.."));
    CHECK_THAT(decode_error(Builder().array(6).uint(8).bin(std::string(31, 's')).bin("c").array(0).array(0).array(0).bytes()),
               Catch::Contains("JoinAccept message: user_seed: 31 bytes, expected 32"));
}

TEST_CASE("user-visible strings must be UTF-8; paths are left to the engine", "[messages]") {
    CHECK_THAT(decode_error(Builder().array(2).uint(7).str("ph\xffne").bytes()),
               Catch::Contains("JoinRequest message: device_name: not valid UTF-8"));
    CHECK_THAT(decode_error(Builder().array(2).uint(6).str("\xc0\xaf").bytes()),
               Catch::Contains("Close message: reason: not valid UTF-8"));
    CHECK_THAT(decode_error(Builder().array(6).uint(1).str("n").array(1).array(2).bin("c").array(1).str("\xed\xa0\x80").array(0).array(0).array(0).bytes()),
               Catch::Contains("devices[0].addresses[0]: not valid UTF-8"));
    RawRecord r;
    r.path = "bad\xff";
    CHECK(decode_error(index_update_with(r)).empty());
    CHECK(decode_error(Builder().array(3).uint(9).str("docs").array(1).str("../\xfe").bytes()).empty());
}

TEST_CASE("file records must be consistent", "[messages]") {
    const auto error_of = [](auto change) {
        RawRecord r;
        change(r);
        return decode_error(index_update_with(r));
    };
    CHECK(error_of([](RawRecord&) {}).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 3; }), Catch::Contains("records[0].kind: 3 is above the limit of 2"));
    CHECK_THAT(error_of([](RawRecord& r) { r.mode = 010000; }), Catch::Contains("records[0].mode: 4096 is above the limit of 4095"));
    CHECK_THAT(error_of([](RawRecord& r) { r.sequence = -5; }), Catch::Contains("records[0].sequence: -5 is outside"));
    CHECK_THAT(error_of([](RawRecord& r) { r.deleted = true; }), Catch::Contains("records[0].chunks: a deleted record has no chunks"));
    CHECK_THAT(error_of([](RawRecord& r) { r.deleted = true; r.chunks = ""; }), Catch::Contains("records[0].size: 5 for a deleted record"));
    CHECK(error_of([](RawRecord& r) { r.deleted = true; r.chunks = ""; r.size = 0; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 1; }), Catch::Contains("records[0].chunks: a directory has no chunks"));
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 1; r.chunks = ""; }), Catch::Contains("records[0].size: 5 for a directory"));
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 2; }), Catch::Contains("records[0].chunks: a symlink has no chunks"));
    CHECK(error_of([](RawRecord& r) { r.kind = 2; r.chunks = ""; r.target = "x"; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.target = "x"; }), Catch::Contains("records[0].symlink_target: set on a record that is not a live symlink"));
    CHECK_THAT(error_of([](RawRecord& r) { r.size = 6; }), Catch::Contains("records[0].size: 6 differs from the chunks' total of 5"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); }), Catch::Contains("records[0].chunks: nil without a delta"));
    CHECK_THAT(error_of([](RawRecord& r) { r.delta = {std::string(16, 'b'), 1}; }), Catch::Contains("records[0].chunks: given together with a delta"));
    CHECK(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(16, 'b'), 1}; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(15, 'b'), 1}; }),
               Catch::Contains("records[0].delta.base: 15 bytes, expected 16"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(16, 'b'), 1}; r.kind = 1; r.size = 0; }),
               Catch::Contains("records[0].delta: only a file that is not deleted has a chunk-list delta"));
    CHECK_THAT(error_of([](RawRecord& r) { r.version = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00", 10); }),
               Catch::Contains("records[0].version: version vector"));
    CHECK_THAT(error_of([](RawRecord& r) { r.version = ""; }), Catch::Contains("records[0].version:"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks = std::string(32, 'h') + '\0'; }), Catch::Contains("records[0].chunks: chunk list: chunk 0"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks = std::string(31, 'h'); }), Catch::Contains("records[0].chunks: chunk list"));
}

TEST_CASE("non-shortest msgpack forms are refused", "[messages]") {
    // Close{"bye"} with the reason as str8, and JoinRequest's tag as uint8.
    CHECK(decode_error({0x92, 0x06, 0xa3, 'b', 'y', 'e'}).empty());
    CHECK_THAT(decode_error({0x92, 0x06, 0xd9, 0x03, 'b', 'y', 'e'}), Catch::Contains("reason: not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0x92, 0xcc, 0x06, 0xa0}), Catch::Contains("type: not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0xdc, 0x00, 0x02, 0x06, 0xa0}), Catch::Contains("not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0xdd, 0x00, 0x00, 0x00, 0x01, 0x05}), Catch::Contains("not in msgpack's shortest form"));
    // Response data as bin16 of 3 bytes.
    CHECK_THAT(decode_error({0x95, 0x04, 0x01, 0x00, 0xc2, 0xc5, 0x00, 0x03, 'a', 'b', 'c'}),
               Catch::Contains("data: not in msgpack's shortest form"));
    // Request id 200 as uint16, 70000 as uint64.
    const auto request_id = [](std::initializer_list<std::uint8_t> id) {
        return Builder().array(5).uint(3).raw(id).str("d").bin(std::string(32, 'h')).uint(1).bytes();
    };
    CHECK(decode_error(request_id({0xcc, 200})).empty());
    CHECK_THAT(decode_error(request_id({0xcd, 0, 200})), Catch::Contains("id: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(request_id({0xcf, 0, 0, 0, 0, 0, 1, 0x11, 0x70})), Catch::Contains("id: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(request_id({0xd0, 5})), Catch::Contains("id: expected a non-negative integer"));
    // Signed fields: -1 as int8, -100 as int16, 5 as int8 (use the uint forms).
    const auto folder_seq = [](std::initializer_list<std::uint8_t> seq) {
        return Builder().array(5).uint(2).str("d").uint(1).raw(seq).array(0).bytes();
    };
    CHECK_THAT(decode_error(folder_seq({0xd3, 0, 0, 0, 0, 0, 0, 0, 0})), Catch::Contains("last_sequence: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(folder_seq({0xd0, 5})), Catch::Contains("last_sequence: not in msgpack's shortest form"));
    RawRecord r;
    r.mtime = -100;
    Bytes ok = index_update_with(r);
    REQUIRE(decode_error(ok).empty());
    // mtime -100 is int8 0xd0 0x9c; the same value as int16 is not shortest.
    const Bytes needle{0xd0, 0x9c};
    const auto at = std::search(ok.begin(), ok.end(), needle.begin(), needle.end());
    REQUIRE(at != ok.end());
    Bytes wide(ok.begin(), at);
    wide.insert(wide.end(), {0xd1, 0xff, 0x9c});
    wide.insert(wide.end(), at + 2, ok.end());
    CHECK_THAT(decode_error(wide), Catch::Contains("records[0].mtime_ns: not in msgpack's shortest form"));
}

TEST_CASE("mutated messages never crash and accepted ones re-encode to the same bytes", "[messages]") {
    std::mt19937_64 rng(2026);
    const auto vectors = golden_vectors();
    for (int round = 0; round < 20000; ++round) {
        Bytes bytes = from_hex(vectors[rng() % vectors.size()].hex);
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng() % bytes.size();
            switch (rng() % 4) {
                case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
                case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
                case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
                default: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
            }
            if (bytes.empty()) bytes.push_back(0x90);
        }
        auto decoded = decode(bytes);
        if (decoded) {
            CHECK(encode(*decoded) == bytes);
        } else {
            CHECK(decoded.error().code == Errc::corrupt);
            CHECK_THAT(decoded.error().message, Catch::StartsWith("malformed "));
        }
    }
}
