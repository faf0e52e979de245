#include "core/chunk_hash.hh"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// The input of BLAKE3's official test vectors: byte i is i % 251.
std::vector<std::uint8_t> vector_input(std::size_t n) {
    std::vector<std::uint8_t> out(n);
    for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::uint8_t>(i % 251);
    return out;
}

}  // namespace

// Expected values computed with `b3sum` (Debian's b3sum 1.3.1).
TEST_CASE("chunk hash is BLAKE3-256: known answers", "[chunk_hash]") {
    CHECK(ferry::hash_chunk({}).hex() == "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262");
    CHECK(ferry::hash_chunk(bytes_of("abc")).hex() ==
          "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85");
    CHECK(ferry::hash_chunk(bytes_of("hello world")).hex() ==
          "d74981efa70a0c880b8d8c1985d075dbcbf679b99a5f9914e5aaf96b831a9e24");
    CHECK(ferry::hash_chunk(vector_input(1025)).hex() ==
          "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444");
}

TEST_CASE("keyed hash is BLAKE3 keyed mode: known answers", "[chunk_hash]") {
    std::array<std::uint8_t, 32> key{};
    const std::string_view key_text = "whats the Elvish word for friend";
    std::copy(key_text.begin(), key_text.end(), key.begin());
    CHECK(ferry::keyed_hash(key, {}).hex() == "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26");
    CHECK(ferry::keyed_hash(key, vector_input(1025)).hex() ==
          "357dc55de0c7e382c900fd6e320acc04146be01db6a8ce7210b7189bd664ea69");
    CHECK(ferry::keyed_hash(key, bytes_of("abc")) != ferry::hash_chunk(bytes_of("abc")));
}

TEST_CASE("incremental hashing equals one-shot for any split", "[chunk_hash]") {
    std::mt19937_64 rng(3);
    ferry::ChunkHasher hasher;
    for (const std::size_t size : {0UL, 1UL, 63UL, 64UL, 1024UL, 1025UL, 70000UL, 300001UL}) {
        std::vector<std::uint8_t> data(size);
        for (auto& b : data) b = static_cast<std::uint8_t>(rng());
        const ferry::ChunkHash expected = ferry::hash_chunk(data);
        std::size_t pos = 0;
        while (pos < size) {
            const std::size_t len = std::min<std::size_t>(rng() % 5000, size - pos);
            hasher.update(std::span(data).subspan(pos, len));
            pos += len;
        }
        INFO("size " << size);
        CHECK(hasher.finish() == expected);
    }
}

TEST_CASE("finish and reset start a new hash", "[chunk_hash]") {
    ferry::ChunkHasher hasher;
    hasher.update(bytes_of("abc"));
    CHECK(hasher.finish() == ferry::hash_chunk(bytes_of("abc")));
    hasher.update(bytes_of("junk"));
    hasher.reset();
    hasher.update(bytes_of("hello world"));
    CHECK(hasher.finish() == ferry::hash_chunk(bytes_of("hello world")));
    CHECK(hasher.finish() == ferry::hash_chunk({}));
}
