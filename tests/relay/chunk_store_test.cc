#include "relay/chunk_store.hh"

#include <algorithm>
#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <utime.h>

#include "relay_test_util.hh"
#include "temp_dir.hh"

using namespace ferry;
using namespace ferry::relay;
using ferry::relay::test::one_object;
using ferry::test::TempDir;

namespace {

wire::RelayChunkId id_of(std::uint8_t seed) {
    wire::RelayChunkId id{};
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(seed + i);
    return id;
}

// The file names under DATA/chunks/packs that are packs, sorted.
std::vector<std::string> pack_names(const TempDir& dir) {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir / "chunks/packs")) {
        const std::string name = entry.path().filename().string();
        if (name.ends_with(".pack")) names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::uintmax_t pack_bytes(const TempDir& dir) {
    std::uintmax_t total = 0;
    for (const std::string& name : pack_names(dir)) {
        total += std::filesystem::file_size(dir / ("chunks/packs/" + name));
    }
    return total;
}

// Sets a file's times two hours back.
void age(const std::string& path) {
    struct utimbuf times {};
    times.actime = times.modtime = std::time(nullptr) - 7200;
    REQUIRE(::utime(path.c_str(), &times) == 0);
}

// Distinct contents of distinct sizes (1 to 300 bytes).
std::string content_of(int n) {
    return std::string(static_cast<std::size_t>(n % 300 + 1), static_cast<char>('a' + n % 26));
}

std::uintmax_t total_content(int count) {
    std::uintmax_t total = 0;
    for (int n = 0; n < count; ++n) total += content_of(n).size();
    return total;
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
    REQUIRE((*store)->put(one_object(a, "sealed bytes")));
    REQUIRE((*store)->put(one_object(b, std::string(1000, '\0'))));
    CHECK(*(*store)->get(a) == "sealed bytes");
    CHECK((*store)->get(b)->size() == 1000);
    CHECK(*(*store)->exists(a));

    REQUIRE((*store)->put(one_object(a, "replaced")));
    CHECK(*(*store)->get(a) == "replaced");

    auto keys = (*store)->list();
    REQUIRE(keys);
    std::sort(keys->begin(), keys->end());
    CHECK(*keys == std::vector<std::string>{a, b});

    REQUIRE((*store)->remove(a));
    REQUIRE((*store)->remove(a));  // absent: still fine
    CHECK(*(*store)->exists(a) == false);
    CHECK(*(*store)->list() == std::vector<std::string>{b});

    // Objects outlive the store: a new instance reads what the old one wrote.
    store->reset();
    auto reopened = open_local_chunk_store(dir.path());
    REQUIRE(reopened);
    CHECK((*reopened)->get(b)->size() == 1000);
    CHECK((*reopened)->get(a).error().code == Errc::not_found);
}

TEST_CASE("one put of the local chunk store stores several objects", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    std::vector<ChunkObject> objects;
    std::vector<std::string> contents;
    for (std::uint8_t i = 0; i < 40; ++i)
        contents.push_back(std::string(100u + i, char('a' + i % 26)));
    for (std::uint8_t i = 0; i < 40; ++i)
        objects.push_back(ChunkObject{chunk_key(1, id_of(i)), contents[i]});
    REQUIRE((*store)->put(objects));
    store->reset();
    auto reopened = open_local_chunk_store(dir.path());
    REQUIRE(reopened);
    for (std::uint8_t i = 0; i < 40; ++i)
        CHECK(*(*reopened)->get(chunk_key(1, id_of(i))) == contents[i]);
    CHECK((*reopened)->list()->size() == 40);

    // A malformed key among them is refused.
    objects.push_back(ChunkObject{"../x", "y"});
    CHECK((*reopened)->put(objects).error().code == Errc::invalid_argument);
}

TEST_CASE("the local chunk store refuses malformed keys and reports damaged packs",
          "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    CHECK((*store)->put(one_object("../../etc/passwd", "x")).error().code ==
          Errc::invalid_argument);
    CHECK((*store)->get("tmp").error().code == Errc::invalid_argument);
    CHECK((*store)->exists("").error().code == Errc::invalid_argument);
    CHECK((*store)->remove("x").error().code == Errc::invalid_argument);

    const auto key = chunk_key(3, id_of(3));
    REQUIRE((*store)->put(one_object(key, "0123456789")));
    REQUIRE(pack_names(dir) == std::vector<std::string>{"1.pack"});
    std::filesystem::resize_file(dir / "chunks/packs/1.pack", 4);
    CHECK((*store)->get(key).error().code == Errc::corrupt);
}

TEST_CASE("concurrent puts are all durable and readable", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    constexpr int kThreads = 8;
    constexpr int kEach = 50;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                const auto n = static_cast<std::uint8_t>(t * kEach + i);
                const auto key = chunk_key(t + 1, id_of(n));
                if (!(*store)->put(one_object(key, content_of(t * kEach + i)))) ++failures;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(failures == 0);
    store->reset();
    auto reopened = open_local_chunk_store(dir.path());
    REQUIRE(reopened);
    CHECK((*reopened)->list()->size() == kThreads * kEach);
    for (int t = 0; t < kThreads; ++t) {
        for (int i = 0; i < kEach; ++i) {
            const auto n = static_cast<std::uint8_t>(t * kEach + i);
            CHECK(*(*reopened)->get(chunk_key(t + 1, id_of(n))) == content_of(t * kEach + i));
        }
    }
    CHECK(pack_bytes(dir) == total_content(kThreads * kEach));
}

TEST_CASE("a full pack is closed and the next put starts a new one", "[relay][chunk_store]") {
    TempDir dir;
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    const std::string big(wire::kMaxSealedChunk, 'b');
    const int count = static_cast<int>((64u << 20) / big.size()) + 2;
    for (int i = 0; i < count; ++i) {
        REQUIRE((*store)->put(one_object(chunk_key(1, id_of(static_cast<std::uint8_t>(i))), big)));
    }
    CHECK(pack_names(dir) == std::vector<std::string>{"1.pack", "2.pack"});
    CHECK(std::filesystem::file_size(dir / "chunks/packs/1.pack") <= (64u << 20));
    CHECK(*(*store)->get(chunk_key(1, id_of(static_cast<std::uint8_t>(count - 1)))) == big);
}

TEST_CASE("reclaim deletes unused packs and rewrites mostly dead ones", "[relay][chunk_store]") {
    TempDir dir;
    const auto a = chunk_key(1, id_of(1));
    const auto b = chunk_key(1, id_of(2));
    const auto c = chunk_key(1, id_of(3));
    {
        auto store = open_local_chunk_store(dir.path());
        REQUIRE(store);
        REQUIRE((*store)->put(one_object(a, std::string(1000, 'a'))));
        REQUIRE((*store)->put(one_object(b, std::string(1000, 'b'))));
        REQUIRE((*store)->put(one_object(c, std::string(100, 'c'))));
        REQUIRE((*store)->remove(a));
        // The active pack is never reclaimed, however old.
        age(dir / "chunks/packs/1.pack");
        REQUIRE((*store)->reclaim(std::chrono::seconds(3600)));
        CHECK(pack_names(dir) == std::vector<std::string>{"1.pack"});
    }
    // Bytes a crash left unindexed: a pack no key refers to.
    std::ofstream(dir / "chunks/packs/7.pack") << "half-written";
    std::ofstream(dir / "chunks/packs/stray") << "not a pack";
    auto store = open_local_chunk_store(dir.path());
    REQUIRE(store);
    // Young packs may still be taking puts: left alone.
    REQUIRE((*store)->reclaim(std::chrono::seconds(3600)));
    CHECK(pack_names(dir) == std::vector<std::string>{"1.pack", "7.pack"});

    age(dir / "chunks/packs/1.pack");
    age(dir / "chunks/packs/7.pack");
    REQUIRE((*store)->remove(b));  // 1.pack: 100 of 2100 bytes live
    REQUIRE((*store)->reclaim(std::chrono::seconds(3600)));
    // c moved to a new pack, numbered past every pack on disk.
    CHECK(pack_names(dir) == std::vector<std::string>{"8.pack"});
    CHECK(*(*store)->get(c) == std::string(100, 'c'));
    CHECK(pack_bytes(dir) == 100);
    CHECK(std::filesystem::exists(dir / "chunks/packs/stray"));

    // A pack less than half dead is kept as it is.
    REQUIRE((*store)->put(one_object(a, std::string(50, 'a'))));
    store->reset();
    age(dir / "chunks/packs/8.pack");
    auto reopened = open_local_chunk_store(dir.path());
    REQUIRE(reopened);
    REQUIRE((*reopened)->remove(a));
    REQUIRE((*reopened)->reclaim(std::chrono::seconds(3600)));
    CHECK(pack_names(dir) == std::vector<std::string>{"8.pack"});
    REQUIRE((*reopened)->remove(c));
    REQUIRE((*reopened)->reclaim(std::chrono::seconds(3600)));
    CHECK(pack_names(dir).empty());
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
