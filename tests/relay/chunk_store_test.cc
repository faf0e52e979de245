#include "relay/chunk_store.hh"

#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <utime.h>

#include "temp_dir.hh"

using namespace ferry;
using namespace ferry::relay;
using ferry::test::TempDir;

namespace {

wire::RelayChunkId id_of(std::uint8_t seed) {
    wire::RelayChunkId id{};
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed + i);
    return id;
}

}  // namespace

TEST_CASE("chunk keys round-trip and refuse anything else", "[relay][chunk_store]") {
    const auto key = chunk_key(42, id_of(0xab));
    CHECK(key.substr(0, 4) == "abac");
    CHECK(key.size() == 64 + 3);
    const auto parts = parse_chunk_key(key);
    REQUIRE(parts);
    CHECK(parts->account == 42);
    CHECK(parts->chunk == id_of(0xab));

    const std::string hex(64, 'a');
    CHECK_FALSE(parse_chunk_key(""));
    CHECK_FALSE(parse_chunk_key(hex));
    CHECK_FALSE(parse_chunk_key(hex + "-"));
    CHECK_FALSE(parse_chunk_key(hex + "-0"));
    CHECK_FALSE(parse_chunk_key(hex + "-07"));
    CHECK_FALSE(parse_chunk_key(hex + "--7"));
    CHECK_FALSE(parse_chunk_key(hex + "-+7"));
    CHECK_FALSE(parse_chunk_key(hex + "-7x"));
    CHECK_FALSE(parse_chunk_key(hex + "-99999999999999999999"));
    CHECK_FALSE(parse_chunk_key(std::string(64, 'A') + "-7"));
    CHECK_FALSE(parse_chunk_key("../" + std::string(61, 'a') + "-7"));
}

TEST_CASE("the local chunk store puts, gets, lists and removes objects", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    const auto a = chunk_key(1, id_of(1));
    const auto b = chunk_key(2, id_of(1));

    CHECK((*store)->get(a).error().code == Errc::not_found);
    CHECK(*(*store)->exists(a) == false);
    REQUIRE((*store)->put(a, "sealed bytes"));
    REQUIRE((*store)->put(b, std::string(1000, '\0')));
    CHECK(*(*store)->get(a) == "sealed bytes");
    CHECK((*store)->get(b)->size() == 1000);
    CHECK(std::filesystem::exists(dir / ("chunks/" + a.substr(0, 2) + "/" + a)));

    REQUIRE((*store)->put(a, "replaced"));
    CHECK(*(*store)->get(a) == "replaced");

    auto keys = (*store)->list();
    REQUIRE(keys);
    std::sort(keys->begin(), keys->end());
    CHECK(*keys == std::vector<std::string>{a, b});

    REQUIRE((*store)->remove(a));
    REQUIRE((*store)->remove(a));  // absent: still fine
    CHECK(*(*store)->exists(a) == false);
    CHECK(*(*store)->list() == std::vector<std::string>{b});
    // Nothing is left behind in the temporary folder.
    CHECK(std::filesystem::is_empty(dir / "chunks/tmp"));
}

TEST_CASE("the local chunk store refuses malformed keys and oversized objects",
          "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    CHECK((*store)->put("../../etc/passwd", "x").error().code == Errc::invalid_argument);
    CHECK((*store)->get("tmp").error().code == Errc::invalid_argument);

    const auto key = chunk_key(3, id_of(3));
    REQUIRE((*store)->put(key, "x"));
    {
        std::ofstream out(dir / ("chunks/" + key.substr(0, 2) + "/" + key), std::ios::binary);
        out << std::string(wire::kMaxSealedChunk + 1, 'x');
    }
    CHECK((*store)->get(key).error().code == Errc::corrupt);

    // Foreign files in the store are not listed as keys.
    std::ofstream(dir / ("chunks/" + key.substr(0, 2) + "/stray")) << "x";
    CHECK(*(*store)->list() == std::vector<std::string>{key});
}

TEST_CASE("sweep_temporaries removes only old half-written objects", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    const std::string old_temp = dir / "chunks/tmp/old";
    const std::string new_temp = dir / "chunks/tmp/new";
    std::ofstream(old_temp) << "half";
    std::ofstream(new_temp) << "half";
    struct utimbuf times {};
    times.actime = times.modtime = std::time(nullptr) - 7200;
    REQUIRE(::utime(old_temp.c_str(), &times) == 0);

    REQUIRE((*store)->sweep_temporaries(std::chrono::seconds(3600)));
    CHECK_FALSE(std::filesystem::exists(old_temp));
    CHECK(std::filesystem::exists(new_temp));
}

TEST_CASE("used_fraction reports a fraction of the disk", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    auto used = (*store)->used_fraction();
    REQUIRE(used);
    CHECK(*used >= 0.0);
    CHECK(*used <= 1.0);
}
