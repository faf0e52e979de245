// Tests of absorb_update (src/sync/engine_records.cc): which announced
// records are stored, and which of them are left to the planner.
#include <catch2/catch.hpp>
#include <random>
#include <string>
#include <vector>

#include "../store/store_test_util.hh"
#include "sync/engine_records.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr ShortId k_peer{0x5555'6666'7777'8888};

wire::IndexUpdate update_of(std::vector<FileRecord> records) {
    wire::IndexUpdate update;
    update.folder = "f";
    update.index_id = 9;
    update.last_sequence = Sequence{static_cast<std::int64_t>(records.size())};
    for (FileRecord& r : records) update.records.push_back(wire::WireRecord{std::move(r), {}});
    return update;
}

}  // namespace

TEST_CASE("absorb_update: a record we have is stored, not planned", "[records]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(1);
    const FileRecord same = file_record("same", {{random_hash(rng), 10}});
    FileRecord ours_older = file_record("newer", {{random_hash(rng), 10}});
    FileRecord gone = file_record("gone", {});
    gone.deleted = true;
    FileRecord deleted_here = gone;
    deleted_here.path = "revived";
    const FileRecord ours_contended = file_record("contended", {{random_hash(rng), 10}});
    const FileRecord dir = dir_record("dir");
    REQUIRE_OK(put(*store, "f", {same, ours_older, gone, deleted_here, ours_contended, dir}));

    FileRecord newer = ours_older;
    newer.version.increment(k_peer);
    const FileRecord still_gone = gone;  // the same tombstone
    FileRecord revived = deleted_here;   // the same version, but live: not ours
    revived.deleted = false;
    const FileRecord unknown = file_record("unknown", {{random_hash(rng), 5}});
    // The same vector with other content (a conflict settled among other
    // contenders there): the planner must settle it.
    FileRecord contended = ours_contended;
    contended.chunks = {{random_hash(rng), 10}};
    contended.modified_by = k_peer;
    // A directory's mtime is each disk's own: the same version.
    FileRecord dir_there = dir;
    dir_there.mtime_ns += 5'000'000'000;

    auto absorbed = engine_detail::absorb_update(
        *store, "f", k_peer, "peer",
        update_of({same, newer, still_gone, revived, unknown, contended, dir_there}), {});
    REQUIRE(absorbed);
    CHECK(absorbed->problems.empty());
    CHECK(absorbed->stored == std::vector<std::string>{"same", "newer", "gone", "revived",
                                                       "unknown", "contended", "dir"});
    CHECK(absorbed->touched == std::vector<std::string>{"newer", "revived", "unknown", "contended"});
    // Every one of them is stored as the peer's.
    for (const std::string& path : absorbed->stored) {
        auto record = store->announced_file("f", k_peer, path);
        REQUIRE(record);
        CHECK(record->has_value());
    }
}

TEST_CASE(
    "absorb_update: a record asked for again keeps the peer's mark below it until it comes "
    "(a lost ResendRequest is made good by the next connection)",
    "[records]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(2);
    auto numbered = [&](const std::string& path, std::int64_t sequence) {
        FileRecord r = file_record(path, {{random_hash(rng), 10}});
        r.sequence = Sequence{sequence};
        return r;
    };
    auto mark = [&] {
        auto state = store->peer_index_state("f", k_peer);
        REQUIRE(state);
        return state->max_sequence.value;
    };
    // b comes as a delta against a list this device never had.
    FileRecord b = numbered("b", 2);
    wire::IndexUpdate first = update_of({numbered("a", 1), numbered("c", 3)});
    FileRecord b_wired = b;
    b_wired.chunks.clear();
    first.records.insert(first.records.begin() + 1,
                         wire::WireRecord{b_wired, ChunkDelta{ChunkListDigest{}, {}}});
    first.last_sequence = Sequence{3};
    auto absorbed = engine_detail::absorb_update(*store, "f", k_peer, "peer", first, {});
    REQUIRE(absorbed);
    // The next update over the same connection, after what came before.
    auto absorb_next = [&](const wire::IndexUpdate& update) {
        absorbed = engine_detail::absorb_update(*store, "f", k_peer, "peer", update,
                                                std::move(absorbed->awaited));
        REQUIRE(absorbed);
    };
    CHECK(absorbed->resend == std::vector<std::string>{"b"});
    CHECK(absorbed->stored == std::vector<std::string>{"a", "c"});
    CHECK(mark() == 1);

    // Later records over the same connection do not move the mark past b.
    wire::IndexUpdate second = update_of({numbered("d", 5)});
    second.last_sequence = Sequence{5};
    absorb_next(second);
    CHECK(mark() == 1);

    SECTION("an update refused whole leaves b awaited") {
        wire::IndexUpdate bad = update_of({numbered("e", 6)});
        bad.index_id = 0;
        absorb_next(bad);
        CHECK(absorbed->awaited.paths.count("b") == 1);
        CHECK(mark() == 1);
    }
    SECTION("b sent again whole: the mark is all that came") {
        wire::IndexUpdate resent = update_of({b});
        resent.last_sequence = Sequence{3};
        absorb_next(resent);
        CHECK(absorbed->awaited.paths.empty());
        CHECK(mark() == 5);
    }
    SECTION("a new index of the peer's awaits nothing of the old one") {
        wire::IndexUpdate renewed = update_of({numbered("e", 1)});
        renewed.index_id = 10;
        absorb_next(renewed);
        CHECK(absorbed->replaced_index);
        CHECK(absorbed->awaited.paths.empty());
        CHECK(mark() == 1);
    }
}
