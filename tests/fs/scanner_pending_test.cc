// The scanner and sync's pending targets (Store::put_pending_targets): a
// change sync made on disk whose record a crash lost is recorded as the
// noted record, even once the peer has announced a newer version; a note the
// disk does not bear out is dropped, and the disk recorded as usual.
#include "fs/pending_targets.hh"
#include "scanner_test_util.hh"

using namespace ferry::test::scanner;

namespace {

constexpr ShortId kPeer{0xB2};
constexpr std::int64_t kMtime = 1'690'000'000'123'456'789;

VersionVector peer_version(int changes) {
    VersionVector v;
    for (int i = 0; i < changes; ++i) v.increment(kPeer);
    return v;
}

// The record of what is on disk at `path` now, as the peer made it.
FileRecord as_on_disk(Filesystem& fs, const std::string& path, int peer_changes) {
    return record_on_disk(fs, path, peer_version(peer_changes), kPeer);
}

FileRecord tombstone_of(FileRecord r, int peer_changes) {
    r.deleted = true;
    r.size = 0;
    r.chunks.clear();
    r.version = peer_version(peer_changes);
    return r;
}

// Stores the records as indexed, with the inodes the disk has now.
void store_local(Filesystem& fs, Store& store, std::vector<FileRecord> records) {
    std::vector<FileUpdate> updates;
    for (FileRecord& r : records) {
        const std::uint64_t inode = fs.lstat(r.path).value().inode;
        updates.push_back(FileUpdate{std::move(r), inode});
    }
    REQUIRE(store.put_files(kFolder, updates));
}

std::vector<std::string> pending_paths(Store& store) {
    auto pending = store.pending_targets(kFolder);
    REQUIRE(pending);
    std::vector<std::string> out;
    for (const FileRecord& r : *pending) out.push_back(r.path);
    return out;
}

}  // namespace

TEMPLATE_TEST_CASE("scanner: what sync put on disk before a crash is recorded as its pending "
                   "target, though the peer announced a newer version since",
                   "[scanner][pending]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    // Indexed before: version 1 of x.txt and of gone.txt.
    REQUIRE(t.fs.make_dir("a", 0755));
    put(t.fs, "a/x.txt", "version one");
    put(t.fs, "gone.txt", "to be deleted");
    store_local(t.fs, *store, {as_on_disk(t.fs, "a", 1), as_on_disk(t.fs, "a/x.txt", 1),
                         as_on_disk(t.fs, "gone.txt", 1)});
    const FileRecord gone = tombstone_of(record(*store, "gone.txt"), 2);
    // Sync noted version 2 of x.txt, a new directory and the delete, then
    // made them on disk; the records were never stored.
    put(t.fs, "a/x.txt", noise(150'000, 4), 0640);
    REQUIRE(t.fs.set_mtime("a/x.txt", kMtime));
    REQUIRE(t.fs.make_dir("new", 0700));
    REQUIRE(t.fs.remove("gone.txt"));
    const FileRecord x2 = as_on_disk(t.fs, "a/x.txt", 2);
    const FileRecord made = as_on_disk(t.fs, "new", 1);
    REQUIRE(store->put_pending_targets(kFolder, std::vector<FileRecord>{x2, made, gone}));
    // Meanwhile the peer announced version 3 of x.txt (other content): the
    // disk matches no announced record.
    FileRecord x3 = x2;
    x3.version = peer_version(3);
    x3.chunks.pop_back();
    x3.size -= 1;
    REQUIRE(store->put_announced(kFolder, kPeer, std::vector<FileRecord>{x3},
                                 PeerIndexState{1, Sequence{9}}));

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.changed == 3);
    for (const FileRecord& expected : {x2, made, gone}) {
        INFO(expected.path);
        const FileRecord r = record(*store, expected.path);
        CHECK(r.version == expected.version);
        CHECK(r.modified_by == kPeer);
        CHECK(r.version.counter(kDevice) == 0);
        CHECK(same_content(r, expected));
        CHECK(r.deleted == expected.deleted);
    }
    CHECK(record(*store, "a/x.txt").mtime_ns == kMtime);
    CHECK(pending_paths(*store).empty());
    CHECK(scan(t.fs, *store).changed == 0);
}

TEMPLATE_TEST_CASE("scanner: pending targets the disk does not hold, or that are not newer than "
                   "the record, are dropped and the disk recorded as usual",
                   "[scanner][pending]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    put(t.fs, "not-renamed.txt", "the old content");
    put(t.fs, "edited.txt", "the old content");
    put(t.fs, "kept.txt", "not removed");
    put(t.fs, "same.txt", "recorded already");
    store_local(t.fs, *store, {as_on_disk(t.fs, "not-renamed.txt", 1), as_on_disk(t.fs, "edited.txt", 1),
                         as_on_disk(t.fs, "kept.txt", 1), as_on_disk(t.fs, "same.txt", 2)});
    const Sequence before = sequence(*store);

    // A crash before the rename: the disk still holds the stored record.
    FileRecord never = as_on_disk(t.fs, "not-renamed.txt", 2);
    never.chunks.clear();
    never.size = 0;
    // Renamed in, then edited by the user: the same size, another time.
    put(t.fs, "edited.txt", "the new, longer content");
    FileRecord edited = as_on_disk(t.fs, "edited.txt", 2);
    edited.mtime_ns = kMtime;
    // A delete that did not happen, a note of a file never made, and one
    // no newer than its record.
    const FileRecord kept = tombstone_of(record(*store, "kept.txt"), 2);
    FileRecord absent = never;
    absent.path = "never-made.txt";
    const FileRecord same = record(*store, "same.txt");
    REQUIRE(store->put_pending_targets(kFolder,
                                       std::vector<FileRecord>{never, edited, kept, absent, same}));

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.changed == 1);  // edited.txt, as a local edit
    CHECK(pending_paths(*store).empty());
    const FileRecord e = record(*store, "edited.txt");
    CHECK(e.modified_by == kDevice);
    CHECK(e.version.counter(kDevice) == 1);
    for (const char* path : {"not-renamed.txt", "kept.txt", "same.txt"}) {
        INFO(path);
        const FileRecord r = record(*store, path);
        CHECK(!r.deleted);
        CHECK(r.sequence <= before);
    }
    CHECK_FALSE(has_record(*store, "never-made.txt"));
}

TEST_CASE("scanner: a pending target whose file cannot be read now is kept for the next scan",
          "[scanner][pending]") {
    MemoryFilesystem memory;
    FaultInjectingFilesystem fs(memory);
    auto store = open_store();
    put(fs, "x.txt", "content sync wrote");
    REQUIRE(fs.set_mtime("x.txt", kMtime));
    const FileRecord x = as_on_disk(fs, "x.txt", 1);
    REQUIRE(store->put_pending_targets(kFolder, std::vector<FileRecord>{x}));
    fs.set_hook([](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::open_read && path == "x.txt") return fail(Errc::io, "injected read error");
        return {};
    });
    auto settled = settle_pending_targets(fs, *store, kFolder);
    REQUIRE(settled);
    CHECK(*settled == 0);
    CHECK(pending_paths(*store) == std::vector<std::string>{"x.txt"});
    CHECK_FALSE(has_record(*store, "x.txt"));

    fs.set_hook(nullptr);
    CHECK(scan(fs, *store).changed == 1);
    CHECK(record(*store, "x.txt").version == peer_version(1));
    CHECK(pending_paths(*store).empty());
}
