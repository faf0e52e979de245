// Tests of the store's remote indexes (src/store/store_remote.cc): what peers
// announced, their index states, and how both go away.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store/store.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr ShortId k_alice{0x1111'2222'3333'4444};
constexpr ShortId k_bob{0xf000'0000'0000'0001};  // negative as a SQLite integer

FileRecord announced(const std::string& path, std::vector<ChunkRef> chunks, std::int64_t sequence) {
    FileRecord r = file_record(path, std::move(chunks));
    r.sequence = Sequence{sequence};
    return r;
}

}  // namespace

TEST_CASE("store remote: a peer's index state starts empty and is set with its records", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    auto empty = store->peer_index_state("f", k_alice);
    REQUIRE(empty);
    CHECK(*empty == PeerIndexState{});

    REQUIRE_OK(store->put_announced("f", k_alice, {}, PeerIndexState{77, Sequence{12}}));
    CHECK(*store->peer_index_state("f", k_alice) == PeerIndexState{77, Sequence{12}});
    CHECK(*store->peer_index_state("f", k_bob) == PeerIndexState{});
    REQUIRE_OK(store->put_announced("f", k_alice, {}, PeerIndexState{0xffff'ffff'ffff'fff0, Sequence{13}}));
    CHECK(*store->peer_index_state("f", k_alice) ==
          PeerIndexState{0xffff'ffff'ffff'fff0, Sequence{13}});

    auto missing = store->peer_index_state("nope", k_alice);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
}

TEST_CASE("store remote: announced records round-trip per device and path", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(1);
    FileRecord link;
    link.path = "d/link";
    link.kind = FileKind::symlink;
    link.symlink_target = "../x";
    link.version = version_of(k_bob.value, 3);
    link.modified_by = k_bob;
    link.sequence = Sequence{4};
    FileRecord gone = announced("d/gone", {}, 5);
    gone.deleted = true;
    gone.size = 0;
    const std::vector<FileRecord> alice_records = {
        dir_record("d"), announced("d/a", {{random_hash(rng), 10}, {random_hash(rng), 20}}, 2),
        announced("empty", {}, 3)};
    const std::vector<FileRecord> bob_records = {
        announced("d/a", {{random_hash(rng), 7}}, 9), link, gone};
    REQUIRE_OK(store->put_announced("f", k_alice, alice_records, PeerIndexState{1, Sequence{3}}));
    REQUIRE_OK(store->put_announced("f", k_bob, bob_records, PeerIndexState{2, Sequence{9}}));

    for (const auto& r : alice_records) {
        auto read = store->announced_file("f", k_alice, r.path);
        REQUIRE(read);
        CHECK(*read == std::optional<FileRecord>(r));
    }
    for (const auto& r : bob_records) {
        auto read = store->announced_file("f", k_bob, r.path);
        REQUIRE(read);
        CHECK(*read == std::optional<FileRecord>(r));
    }
    CHECK_FALSE(store->announced_file("f", k_bob, "empty")->has_value());
    CHECK_FALSE(store->announced_file("f", k_alice, "nothing")->has_value());

    auto versions = store->announced_versions("f", "d/a");
    REQUIRE(versions);
    REQUIRE(versions->size() == 2);
    // Ordered by device as SQLite orders the bit pattern: bob's is negative.
    CHECK((*versions)[0].device == k_bob);
    CHECK((*versions)[0].record == bob_records[0]);
    CHECK((*versions)[1].device == k_alice);
    CHECK((*versions)[1].record == alice_records[1]);
    CHECK(store->announced_versions("f", "none")->empty());
    // The local index is untouched.
    CHECK_FALSE(store->get_file("f", "d/a")->has_value());
}

TEST_CASE("store remote: announced_names lists each name any peer announced in a directory",
          "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    FileRecord gone = announced("d/gone", {}, 4);
    gone.deleted = true;
    const std::vector<FileRecord> alice_records = {dir_record("d"), announced("d/b", {}, 2),
                                                   announced("d/e/deep", {}, 3), gone};
    const std::vector<FileRecord> bob_records = {announced("d/a", {}, 1), announced("d/b", {}, 2)};
    const std::vector<FileRecord> other_folder = {announced("d/other", {}, 1)};
    REQUIRE_OK(store->put_announced("f", k_alice, alice_records, PeerIndexState{1, Sequence{4}}));
    REQUIRE_OK(store->put_announced("f", k_bob, bob_records, PeerIndexState{2, Sequence{2}}));
    REQUIRE_OK(store->put_announced("g", k_bob, other_folder, PeerIndexState{3, Sequence{1}}));
    using Names = std::vector<std::string>;
    CHECK(*store->announced_names("f", "d") == Names{"a", "b", "gone"});
    CHECK(*store->announced_names("f", "") == Names{"d"});
    CHECK(*store->announced_names("f", "d/e") == Names{"deep"});
    CHECK(store->announced_names("f", "d/b")->empty());
    // The local index does not count.
    REQUIRE_OK(put(*store, "f", {file_record("d/local", {})}));
    CHECK(*store->announced_names("f", "d") == Names{"a", "b", "gone"});
    CHECK(store->announced_names("nope", "d").error().code == Errc::not_found);
}

TEST_CASE("store remote: put_announced replaces a device's record of a path", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    auto store = open_store(path);
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(2);
    const auto first = announced("a", {{random_hash(rng), 10}}, 1);
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{first}, PeerIndexState{1, Sequence{1}}));
    REQUIRE_OK(store->put_announced("f", k_bob, std::vector{first}, PeerIndexState{2, Sequence{1}}));

    // New content: the chunk list is replaced, not added to.
    auto second = announced("a", {{random_hash(rng), 3}, {random_hash(rng), 4}}, 2);
    second.version = version_of(k_alice.value, 5);
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{second}, PeerIndexState{1, Sequence{2}}));
    CHECK(*store->announced_file("f", k_alice, "a") == std::optional<FileRecord>(second));
    CHECK(*store->announced_file("f", k_bob, "a") == std::optional<FileRecord>(first));
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "2");

    // Metadata only: same chunks.
    auto third = second;
    third.mode = 0600;
    third.sequence = Sequence{3};
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{third}, PeerIndexState{1, Sequence{3}}));
    CHECK(*store->announced_file("f", k_alice, "a") == std::optional<FileRecord>(third));
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "2");

    // Deleted: the tombstone has no chunk list; its row goes away.
    auto tomb = third;
    tomb.deleted = true;
    tomb.size = 0;
    tomb.chunks.clear();
    tomb.sequence = Sequence{4};
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{tomb}, PeerIndexState{1, Sequence{4}}));
    CHECK(*store->announced_file("f", k_alice, "a") == std::optional<FileRecord>(tomb));
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "1");
    CHECK(raw_text(path, "SELECT count(*) FROM announced") == "2");

    // Two versions of one path in one batch: the later wins.
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{second, third},
                                    PeerIndexState{1, Sequence{6}}));
    CHECK(*store->announced_file("f", k_alice, "a") == std::optional<FileRecord>(third));
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "2");
}

TEST_CASE("store remote: a batch with a bad path stores nothing, state included", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    const std::vector<FileRecord> batch = {dir_record("ok"), dir_record("/absolute")};
    auto result = store->put_announced("f", k_alice, batch, PeerIndexState{1, Sequence{2}});
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_argument);
    CHECK(result.error().message.find("/absolute") != std::string::npos);
    CHECK_FALSE(store->announced_file("f", k_alice, "ok")->has_value());
    CHECK(*store->peer_index_state("f", k_alice) == PeerIndexState{});
    CHECK_FALSE(store->put_announced("missing", k_alice, {}, PeerIndexState{}));
}

TEST_CASE("store remote: drop_announced forgets one device of one folder", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    auto store = open_store(path);
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    std::mt19937_64 rng(3);
    const auto rec = announced("a", {{random_hash(rng), 1}}, 1);
    for (const char* folder : {"f", "g"}) {
        for (ShortId device : {k_alice, k_bob}) {
            REQUIRE_OK(store->put_announced(folder, device, std::vector{rec, dir_record("d")},
                                            PeerIndexState{3, Sequence{1}}));
        }
    }
    REQUIRE_OK(store->drop_announced("f", k_alice));
    CHECK_FALSE(store->announced_file("f", k_alice, "a")->has_value());
    CHECK_FALSE(store->announced_file("f", k_alice, "d")->has_value());
    CHECK(*store->peer_index_state("f", k_alice) == PeerIndexState{});
    CHECK(store->announced_file("f", k_bob, "a")->has_value());
    CHECK(store->announced_file("g", k_alice, "a")->has_value());
    CHECK(store->peer_index_state("g", k_alice)->index_id == 3);
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "3");
    // Dropping what is not there is not an error.
    REQUIRE_OK(store->drop_announced("f", k_alice));
    CHECK_FALSE(store->drop_announced("missing", k_alice));
}

TEST_CASE("store remote: remove_folder drops its announced records and peer states", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    auto store = open_store(path);
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    std::mt19937_64 rng(4);
    const auto rec = announced("a", {{random_hash(rng), 1}}, 1);
    REQUIRE_OK(store->put_announced("f", k_alice, std::vector{rec}, PeerIndexState{3, Sequence{1}}));
    REQUIRE_OK(store->put_announced("g", k_alice, std::vector{rec}, PeerIndexState{3, Sequence{1}}));
    REQUIRE_OK(store->remove_folder("f"));
    CHECK(raw_text(path, "SELECT count(*) FROM announced") == "1");
    CHECK(raw_text(path, "SELECT count(*) FROM announced_chunk_lists") == "1");
    CHECK(raw_text(path, "SELECT count(*) FROM peer_index_states") == "1");
    // A folder added again with that id starts with nothing from peers.
    add_folder(*store, "f", "/f");
    CHECK(*store->peer_index_state("f", k_alice) == PeerIndexState{});
    CHECK(store->announced_versions("f", "a")->empty());
}
