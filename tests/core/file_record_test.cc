#include "core/file_record.hh"

#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/leb128.hh"

using namespace ferry;

namespace {

ChunkHash hash_of(std::uint8_t seed) {
    ChunkHash h;
    for (std::size_t i = 0; i < h.bytes.size(); ++i)
        h.bytes[i] = static_cast<std::uint8_t>(seed + i);
    return h;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

Result<std::vector<ChunkRef>> decode_str(const std::string& s) {
    const auto b = bytes_of(s);
    return decode_chunk_list(b);
}

std::string raw_hash(std::uint8_t seed) {
    const ChunkHash h = hash_of(seed);
    return std::string(h.bytes.begin(), h.bytes.end());
}

}  // namespace

TEST_CASE("file record: kind names", "[file_record]") {
    CHECK(std::string(file_kind_name(FileKind::file)) == "file");
    CHECK(std::string(file_kind_name(FileKind::directory)) == "directory");
    CHECK(std::string(file_kind_name(FileKind::symlink)) == "symlink");
}

TEST_CASE("file record: chunk list layout is hash then LEB128 size", "[file_record]") {
    const std::vector<ChunkRef> chunks = {
        {hash_of(1), 1}, {hash_of(2), 65536}, {hash_of(3), kMaxChunkSize}};
    const std::string encoded = encode_chunk_list(chunks);
    const std::string expected = raw_hash(1) + "\x01" + raw_hash(2) +
                                 std::string("\x80\x80\x04", 3) + raw_hash(3) +
                                 std::string("\x80\x80\x80\x08", 4);
    CHECK(encoded == expected);
    const auto back = decode_str(encoded);
    REQUIRE(back);
    CHECK(*back == chunks);
}

TEST_CASE("file record: empty chunk list", "[file_record]") {
    CHECK(encode_chunk_list({}).empty());
    const auto back = decode_str("");
    REQUIRE(back);
    CHECK(back->empty());
}

TEST_CASE("file record: chunk lists round-trip", "[file_record]") {
    std::mt19937_64 rng(7);
    for (int round = 0; round < 200; ++round) {
        std::vector<ChunkRef> chunks(rng() % 50);
        for (auto& c : chunks) {
            for (auto& b : c.hash.bytes) b = static_cast<std::uint8_t>(rng());
            c.size = 1 + static_cast<std::uint32_t>(rng() % kMaxChunkSize);
        }
        const auto back = decode_str(encode_chunk_list(chunks));
        REQUIRE(back);
        CHECK(*back == chunks);
    }
}

TEST_CASE("file record: decode_chunk_list refuses malformed input", "[file_record]") {
    std::string too_big;
    append_leb128(too_big, kMaxChunkSize + 1);
    const std::string good = raw_hash(1) + "\x05";
    struct Case {
        const char* name;
        std::string bytes;
        const char* message;
    };
    const std::vector<Case> cases = {
        {"short hash", raw_hash(1).substr(0, 31),
         "chunk list: chunk 0 is truncated in its hash (31 of 32 bytes)"},
        {"missing size", raw_hash(1), "chunk list: chunk 0 size: varint at byte 32 is truncated"},
        {"second chunk truncated", good + raw_hash(2).substr(0, 3),
         "chunk list: chunk 1 is truncated in its hash (3 of 32 bytes)"},
        {"size cut short", good + raw_hash(2) + "\x80",
         "chunk list: chunk 1 size: varint at byte 65 is truncated"},
        {"zero size", raw_hash(1) + std::string(1, '\0'),
         "chunk list: chunk 0 has size 0, outside 1..16777216"},
        {"size over 16 MiB", raw_hash(1) + too_big,
         "chunk list: chunk 0 has size 16777217, outside 1..16777216"},
        {"size over 64 bits", raw_hash(1) + std::string(10, '\xff'),
         "chunk list: chunk 0 size: varint at byte 32 exceeds 64 bits"},
        {"overlong size", raw_hash(1) + std::string("\x85\x00", 2),
         "chunk list: chunk 0 size: varint at byte 32 has an overlong encoding"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto r = decode_str(c.bytes);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::corrupt);
        CHECK(r.error().message == c.message);
    }
}

TEST_CASE("file record: decode_chunk_list survives random bytes", "[file_record]") {
    std::mt19937_64 rng(11);
    int accepted = 0;
    for (int round = 0; round < 5000; ++round) {
        std::string bytes =
            encode_chunk_list(std::vector<ChunkRef>(rng() % 4, ChunkRef{hash_of(9), 1000}));
        for (std::size_t k = 0, n = rng() % 3; k < n && !bytes.empty(); ++k) {
            bytes[rng() % bytes.size()] = static_cast<char>(rng());
        }
        if (rng() % 3 == 0) bytes.resize(rng() % (bytes.size() + 1));
        const auto r = decode_str(bytes);
        if (r) {
            ++accepted;
            CHECK(encode_chunk_list(*r) == bytes);  // one encoding per list
        } else {
            CHECK(r.error().code == Errc::corrupt);
        }
    }
    CHECK(accepted > 100);
}
