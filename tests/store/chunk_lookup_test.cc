// The index's chunk lookup (Store::find_chunk): every local copy of a chunk,
// across files and hash eras, forgotten when a chunk list is replaced.
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "store/store.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

TEST_CASE("store: find_chunk finds every copy and forgets replaced chunk lists", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    std::mt19937_64 rng(2);
    const ChunkHash shared = random_hash(rng);
    const ChunkHash a0 = random_hash(rng);
    const ChunkHash b1 = random_hash(rng);
    // Same first 8 bytes as `shared`, different hash: must not be found for it.
    ChunkHash twin = shared;
    twin.bytes[31] ^= 1;

    REQUIRE_OK(put(*store, "f", {file_record("a", {{a0, 1000}, {shared, 300}, {shared, 300}})}));
    REQUIRE_OK(put(*store, "g", {file_record("dir/b", {{twin, 50}, {b1, 70}, {shared, 300}})}));

    auto found = store->find_chunk(shared);
    REQUIRE(found);
    std::set<std::tuple<std::string, std::string, std::uint64_t, std::uint32_t>> got;
    for (const auto& l : *found) got.insert({l.folder_id, l.path, l.offset, l.size});
    CHECK(got == decltype(got){{"f", "a", 1000, 300}, {"f", "a", 1300, 300}, {"g", "dir/b", 120, 300}});
    CHECK(store->find_chunk(shared, 2)->size() == 2);

    auto twin_found = store->find_chunk(twin);
    REQUIRE(twin_found->size() == 1);
    CHECK(twin_found->front().path == "dir/b");
    CHECK(twin_found->front().offset == 0);
    CHECK(store->find_chunk(random_hash(rng))->empty());

    // A new chunk list replaces the old rows; a tombstone has none.
    REQUIRE_OK(put(*store, "f", {file_record("a", {{b1, 10}})}));
    auto b1_found = store->find_chunk(b1);
    REQUIRE(b1_found->size() == 2);
    CHECK(store->find_chunk(a0)->empty());
    CHECK(store->find_chunk(shared)->size() == 1);
    FileRecord gone = file_record("dir/b", {});
    gone.deleted = true;
    REQUIRE_OK(put(*store, "g", {gone}));
    CHECK(store->find_chunk(shared)->empty());
    CHECK(store->find_chunk(twin)->empty());

    // Removing a folder forgets its chunks.
    REQUIRE_OK(store->remove_folder("f"));
    CHECK(store->find_chunk(b1)->empty());
}

TEST_CASE("store: find_chunk sees a chunk move within a file it read before", "[store]") {
    // find_chunk keeps the chunk lists it decoded: a rewrite must not leave
    // it answering with the old offsets.
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(5);
    const ChunkHash head = random_hash(rng);
    const ChunkHash moved = random_hash(rng);
    REQUIRE_OK(put(*store, "f", {file_record("a", {{moved, 300}, {head, 200}})}));
    REQUIRE(store->find_chunk(moved)->size() == 1);
    CHECK(store->find_chunk(moved)->front().offset == 0);
    CHECK(store->find_chunk(head)->front().offset == 300);

    REQUIRE_OK(put(*store, "f", {file_record("a", {{head, 200}, {moved, 300}})}));
    auto found = store->find_chunk(moved);
    REQUIRE(found->size() == 1);
    CHECK(found->front().offset == 200);
    CHECK(store->find_chunk(head)->front().offset == 0);

    // Metadata-only changes keep the list.
    FileRecord touched = file_record("a", {{head, 200}, {moved, 300}});
    touched.mtime_ns += 1;
    REQUIRE_OK(put(*store, "f", {touched}));
    CHECK(store->find_chunk(moved)->front().offset == 200);
}

TEST_CASE("store: the chunk lookup spans eras and replaces across them", "[store]") {
    // More chunk rows than one era holds (128 Ki), so lookups must probe
    // several eras and a rewrite must delete rows from an older one.
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(3);
    const int files = 1400;
    const int per_file = 100;
    std::vector<ChunkHash> first_chunks;
    for (int batch = 0; batch < files / 100; ++batch) {
        std::vector<FileRecord> records;
        for (int i = 0; i < 100; ++i) {
            std::vector<ChunkRef> chunks;
            for (int c = 0; c < per_file; ++c) chunks.push_back({random_hash(rng), 4096});
            first_chunks.push_back(chunks.front().hash);
            records.push_back(file_record("f" + std::to_string(batch * 100 + i), std::move(chunks)));
        }
        REQUIRE_OK(put(*store, "f", std::move(records)));
    }
    for (int i : {0, 700, files - 1}) {
        auto found = store->find_chunk(first_chunks[static_cast<std::size_t>(i)]);
        REQUIRE(found->size() == 1);
        CHECK(found->front().path == "f" + std::to_string(i));
    }
    const ChunkHash fresh = random_hash(rng);
    REQUIRE_OK(put(*store, "f", {file_record("f0", {{fresh, 5}})}));
    CHECK(store->find_chunk(first_chunks[0])->empty());
    CHECK(store->find_chunk(fresh)->size() == 1);
}
