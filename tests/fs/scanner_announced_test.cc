// The scanner and what peers announced: a change found on disk that a peer
// announced exactly (sync's write whose record a crash lost) is recorded as
// the peer's version; anything else stays a change of this device.
#include "scanner_test_util.hh"

using namespace ferry::test::scanner;

namespace {

constexpr ShortId kPeer{0xB2};
constexpr std::int64_t kMtime = 1'690'000'000'123'456'789;

VersionVector version_of(std::initializer_list<std::pair<ShortId, int>> counters) {
    VersionVector v;
    for (const auto& [id, n] : counters)
        for (int i = 0; i < n; ++i) v.increment(id);
    return v;
}

// The record of what is on disk at `path` now, as the peer made it.
FileRecord as_on_disk(Filesystem& fs, const std::string& path, VersionVector version) {
    FileRecord r = record_on_disk(fs, path, std::move(version), kPeer);
    r.sequence = Sequence{1};
    return r;
}

void announce(Store& store, std::vector<FileRecord> records) {
    REQUIRE(store.put_announced(kFolder, kPeer, records, PeerIndexState{1, Sequence{99}}));
}

void store_local(Store& store, FileRecord record) {
    std::vector<FileUpdate> updates{FileUpdate{std::move(record), 0}};
    REQUIRE(store.put_files(kFolder, updates));
}

}  // namespace

TEMPLATE_TEST_CASE("scanner: a file and directory a peer announced exactly are recorded as the "
                   "peer's versions",
                   "[scanner][announced]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    REQUIRE(t.fs.make_dir("a", 0750));
    put(t.fs, "a/x.txt", noise(200'000, 3));
    REQUIRE(t.fs.set_mtime("a/x.txt", kMtime));
    announce(*store, {as_on_disk(t.fs, "a", version_of({{kPeer, 1}})),
                      as_on_disk(t.fs, "a/x.txt", version_of({{kPeer, 3}}))});

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.changed == 2);
    for (const auto& [path, counter] : {std::pair{"a", 1}, std::pair{"a/x.txt", 3}}) {
        INFO(path);
        const FileRecord r = record(*store, path);
        CHECK(r.version == version_of({{kPeer, counter}}));
        CHECK(r.modified_by == kPeer);
        CHECK(r.version.counter(kDevice) == 0);
    }
    CHECK(scan(t.fs, *store).changed == 0);
}

TEMPLATE_TEST_CASE("scanner: a peer's version that is not exactly on disk, or not newer, is not "
                   "taken",
                   "[scanner][announced]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    put(t.fs, "other-mtime.txt", "content");
    REQUIRE(t.fs.set_mtime("other-mtime.txt", kMtime));
    FileRecord later = as_on_disk(t.fs, "other-mtime.txt", version_of({{kPeer, 1}}));
    later.mtime_ns += 1;
    put(t.fs, "other-mode.txt", "content");
    FileRecord mode = as_on_disk(t.fs, "other-mode.txt", version_of({{kPeer, 1}}));
    mode.mode = 0600;
    put(t.fs, "other-content.txt", "content");
    FileRecord content = as_on_disk(t.fs, "other-content.txt", version_of({{kPeer, 1}}));
    content.chunks.clear();
    content.size = 0;
    // Older than the stored record: the disk went back to an old version.
    put(t.fs, "older.txt", "old");
    FileRecord older = as_on_disk(t.fs, "older.txt", version_of({{kPeer, 1}}));
    FileRecord stored = older;
    stored.version = version_of({{kPeer, 2}});
    stored.size = 0;
    stored.chunks.clear();
    store_local(*store, stored);
    announce(*store, {later, mode, content, older});

    scan(t.fs, *store);
    for (const char* path : {"other-mtime.txt", "other-mode.txt", "other-content.txt"}) {
        INFO(path);
        const FileRecord r = record(*store, path);
        CHECK(r.version == version_of({{kDevice, 1}}));
        CHECK(r.modified_by == kDevice);
    }
    const FileRecord r = record(*store, "older.txt");
    CHECK(r.version == version_of({{kPeer, 2}, {kDevice, 1}}));
    CHECK(r.modified_by == kDevice);
}

TEMPLATE_TEST_CASE("scanner: a peer's version concurrent with the stored one is merged, a "
                   "peer's delete taken as a delete",
                   "[scanner][announced]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    // Stored: a local edit concurrent with the peer's version now on disk
    // (sync resolved the conflict for the peer, then the crash came).
    put(t.fs, "x.txt", "the peer's content");
    FileRecord peer = as_on_disk(t.fs, "x.txt", version_of({{kPeer, 2}}));
    FileRecord mine = peer;
    mine.version = version_of({{kPeer, 1}, {kDevice, 1}});
    mine.modified_by = kDevice;
    mine.size = 4;
    mine.chunks.clear();
    store_local(*store, mine);
    // Stored live, gone from disk, deleted by the peer.
    FileRecord gone = mine;
    gone.path = "gone.txt";
    gone.version = version_of({{kPeer, 1}});
    gone.modified_by = kPeer;
    store_local(*store, gone);
    FileRecord tombstone = gone;
    tombstone.deleted = true;
    tombstone.size = 0;
    tombstone.version = version_of({{kPeer, 2}});
    announce(*store, {peer, tombstone});

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.deleted == 1);
    const FileRecord x = record(*store, "x.txt");
    CHECK(x.version == version_of({{kPeer, 2}, {kDevice, 1}}));
    CHECK(x.modified_by == kPeer);
    CHECK(x.chunks == peer.chunks);
    const FileRecord g = record(*store, "gone.txt");
    CHECK(g.deleted);
    CHECK(g.version == version_of({{kPeer, 2}}));
    CHECK(g.modified_by == kPeer);
}
