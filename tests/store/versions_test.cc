// Tests of the store's whole-folder walk (src/store/store_versions.cc): every
// path once, in key order, with this device's record and each peer's, across
// page boundaries of both tables.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "store/store.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr ShortId k_alice{0x1111'2222'3333'4444};
constexpr ShortId k_bob{0xf000'0000'0000'0001};  // negative as a SQLite integer: ordered first

// The key order of the tables: (parent, name), byte-wise.
std::pair<std::string, std::string> key_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return {"", path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

// What the walk showed of one path: whether it had a local record, and the
// devices that announced it with the sizes they announced.
struct Seen {
    bool local = false;
    std::uint64_t local_size = 0;
    std::vector<std::pair<ShortId, std::uint64_t>> announced;
    friend bool operator==(const Seen&, const Seen&) = default;
};

std::vector<std::pair<std::string, Seen>> walk(Store& store, const std::string& folder) {
    std::vector<std::pair<std::string, Seen>> out;
    auto ok = store.for_each_path_versions(folder, [&](const PathVersions& v) -> Result<void> {
        Seen seen;
        seen.local = v.local.has_value();
        if (v.local) {
            if (!v.local->chunks.empty()) return fail(Errc::corrupt, "a chunk list was read");
            seen.local_size = v.local->size;
        }
        for (const AnnouncedRecord& a : v.announced) {
            if (!a.record.chunks.empty()) return fail(Errc::corrupt, "a chunk list was read");
            if (a.record.path != v.path) return fail(Errc::corrupt, "another path's record");
            seen.announced.emplace_back(a.device, a.record.size);
        }
        out.emplace_back(v.path, std::move(seen));
        return {};
    });
    if (!ok) FAIL(ok.error().message);
    return out;
}

FileRecord sized(const std::string& path, std::uint32_t size, std::mt19937_64& rng) {
    return file_record(path, {ChunkRef{random_hash(rng), size}});
}

}  // namespace

TEST_CASE("store versions: an empty folder has no paths; an unknown folder is an error",
          "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    CHECK(walk(*store, "f").empty());
    CHECK_FALSE(store->for_each_path_versions(
        "missing", [](const PathVersions&) -> Result<void> { return {}; }));
}

TEST_CASE("store versions: every path once, in key order, with its local and announced records",
          "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "other", "/o");
    std::mt19937_64 rng(3);

    // Several pages of each table, interleaved: local-only, announced-only
    // and shared paths, in five directories and the root.
    std::map<std::pair<std::string, std::string>, std::pair<std::string, Seen>> expected;
    std::vector<FileUpdate> locals;
    std::vector<FileRecord> alice;
    std::vector<FileRecord> bob;
    for (int dir = 0; dir < 5; ++dir) {
        const std::string d = "d" + std::to_string(dir);
        for (int i = 0; i < 700; ++i) {
            const std::string p = d + "/f" + std::to_string(i);  // f10 sorts before f2
            Seen seen;
            if (i % 4 != 0) {
                locals.push_back(FileUpdate{sized(p, 10 + i, rng), 0});
                seen.local = true;
                seen.local_size = 10 + i;
            }
            if (i % 3 != 0) bob.push_back(sized(p, 20 + i, rng));
            if (i % 3 != 0) seen.announced.emplace_back(k_bob, 20 + i);
            if (i % 2 == 0) alice.push_back(sized(p, 30 + i, rng));
            if (i % 2 == 0) seen.announced.emplace_back(k_alice, 30 + i);
            if (seen.local || !seen.announced.empty()) expected[key_of(p)] = {p, seen};
        }
    }
    for (const std::string p : {"a-root", "z-root"}) {
        locals.push_back(FileUpdate{sized(p, 1, rng), 0});
        alice.push_back(sized(p, 2, rng));
        expected[key_of(p)] = {p, Seen{true, 1, {{k_alice, 2}}}};
    }
    bob.push_back(sized("only-bob", 5, rng));
    expected[key_of("only-bob")] = {"only-bob", Seen{false, 0, {{k_bob, 5}}}};
    REQUIRE_OK(store->put_files("f", locals));
    REQUIRE_OK(store->put_announced("f", k_alice, alice, PeerIndexState{1, Sequence{1}}));
    REQUIRE_OK(store->put_announced("f", k_bob, bob, PeerIndexState{2, Sequence{1}}));
    // Another folder's records are not walked.
    std::vector<FileUpdate> elsewhere{FileUpdate{sized("d0/f1", 99, rng), 0}};
    REQUIRE_OK(store->put_files("other", elsewhere));
    REQUIRE_OK(store->put_announced("other", k_alice, std::vector{sized("d0/f0", 98, rng)},
                                    PeerIndexState{1, Sequence{1}}));

    std::vector<std::pair<std::string, Seen>> want;
    for (auto& [key, entry] : expected) want.push_back(entry);
    REQUIRE(want.size() > 3000);  // more than three pages of each table
    const auto got = walk(*store, "f");
    REQUIRE(got.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) {
        INFO(want[i].first);
        REQUIRE(got[i].first == want[i].first);
        CHECK(got[i].second == want[i].second);
    }
}

TEST_CASE("store versions: fn may call the store, and its error stops the walk", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(5);
    std::vector<FileUpdate> locals;
    for (int i = 0; i < 2500; ++i)
        locals.push_back(FileUpdate{sized("f" + std::to_string(i), 1, rng), 0});
    REQUIRE_OK(store->put_files("f", locals));
    int seen = 0;
    auto stopped = store->for_each_path_versions("f", [&](const PathVersions& v) -> Result<void> {
        auto full = store->get_file("f", v.path);
        if (!full || !*full || (*full)->chunks.size() != 1) return fail(Errc::corrupt, "no record");
        if (++seen == 1500) return fail(Errc::changed, "stop here");
        return {};
    });
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error().message == "stop here");
    CHECK(seen == 1500);
}
