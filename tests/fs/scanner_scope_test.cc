// The scanner's partial scans: of some paths only (ScanOptions::only, what a
// watcher reports), and leaving files modified just now for later where no
// watcher tells which are being written (ScanOptions::unsettled_after_ns).
#include "scanner_test_util.hh"

using namespace ferry::test::scanner;

TEMPLATE_TEST_CASE("scanner: files modified just now are left for later where nothing watches",
                   "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    constexpr std::int64_t kNow = 1'700'000'000'000'000'000;
    constexpr std::int64_t kSecond = 1'000'000'000;
    for (const char* path : {"top.txt", "a/small.txt", "a/b/deep.txt", "a/big.bin"})
        REQUIRE(t.fs.set_mtime(path, kNow - 60 * kSecond));
    ScanOptions options;
    options.now_ns = kNow;
    options.unsettled_after_ns = kNow - kSecond;
    scan(t.fs, *store, options);

    put(t.fs, "fresh.txt", "written half a second ago");
    REQUIRE(t.fs.set_mtime("fresh.txt", kNow - kSecond / 2));
    put(t.fs, "older.txt", "written two seconds ago");
    REQUIRE(t.fs.set_mtime("older.txt", kNow - 2 * kSecond));
    put(t.fs, "future.txt", "dated a year ahead");
    REQUIRE(t.fs.set_mtime("future.txt", kNow + 365 * 24 * 3600 * kSecond));
    const ScanResult result = scan(t.fs, *store, options);
    CHECK(result.unsettled == 1);
    CHECK_FALSE(has_record(*store, "fresh.txt"));
    CHECK(has_record(*store, "older.txt"));
    CHECK(has_record(*store, "future.txt"));  // would never settle: taken as it is

    options.now_ns = kNow + 2 * kSecond;
    options.unsettled_after_ns = options.now_ns - kSecond;
    CHECK(scan(t.fs, *store, options).unsettled == 0);
    CHECK(has_record(*store, "fresh.txt"));
}

namespace {

ScanResult scan_only(Filesystem& fs, Store& store, std::set<std::string> paths) {
    ScanOptions options;
    options.only = std::move(paths);
    return scan(fs, store, options);
}

}  // namespace

TEMPLATE_TEST_CASE("scanner: a scan of some paths looks at those only", "[scanner][only]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const Sequence before = sequence(*store);

    // Changed, but not named: left for a full scan.
    put(t.fs, "top.txt", "changed, not reported");
    put(t.fs, "a/small.txt", "changed and reported");
    const ScanResult result = scan_only(t.fs, *store, {"a/small.txt"});
    CHECK(result.changed == 1);
    CHECK(result.files == 1);
    CHECK(record(*store, "a/small.txt").chunks == hash_file(t.fs, "a/small.txt").value().chunks);
    CHECK(record(*store, "top.txt").chunks != hash_file(t.fs, "top.txt").value().chunks);
    CHECK(sequence(*store).value == before.value + 1);

    // An unchanged path costs nothing.
    CHECK(scan_only(t.fs, *store, {"a/small.txt", "a/b", "a"}).changed == 0);
    // The full scan finds the rest.
    CHECK(scan(t.fs, *store).changed == 1);
}

TEMPLATE_TEST_CASE("scanner: a scan of some paths records gone, new and replaced trees whole",
                   "[scanner][only]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);

    // A directory gone: its tree becomes tombstones, children reported or not.
    REQUIRE(t.fs.remove("a/b/deep.txt"));
    REQUIRE(t.fs.remove("a/b"));
    ScanResult result = scan_only(t.fs, *store, {"a/b", "a/b/deep.txt"});
    CHECK(result.deleted == 2);
    CHECK(result.changed == 2);
    CHECK(record(*store, "a/b").deleted);
    CHECK(record(*store, "a/b/deep.txt").deleted);

    // A new tree: walked whole, though only its top is named; each record once.
    REQUIRE(t.fs.make_dir("n", 0755));
    REQUIRE(t.fs.make_dir("n/m", 0755));
    put(t.fs, "n/m/f.txt", "new");
    put(t.fs, "n/g.txt", "new too");
    result = scan_only(t.fs, *store, {"n", "n/m/f.txt"});
    CHECK(result.changed == 4);
    CHECK(record(*store, "n/m/f.txt").chunks == hash_file(t.fs, "n/m/f.txt").value().chunks);
    CHECK(has_record(*store, "n/g.txt"));

    // A file replaced by a directory, and a directory by a file.
    REQUIRE(t.fs.remove("top.txt"));
    REQUIRE(t.fs.make_dir("top.txt", 0755));
    put(t.fs, "top.txt/inside", "x");
    REQUIRE(t.fs.remove("n/m/f.txt"));
    REQUIRE(t.fs.remove("n/m"));
    put(t.fs, "n/m", "now a file");
    result = scan_only(t.fs, *store, {"top.txt", "n/m", "n/m/f.txt"});
    CHECK(record(*store, "top.txt").kind == FileKind::directory);
    CHECK(has_record(*store, "top.txt/inside"));
    CHECK(record(*store, "n/m").kind == FileKind::file);
    CHECK(record(*store, "n/m/f.txt").deleted);
    // Nothing is left for a full scan.
    CHECK(scan(t.fs, *store).changed == 0);
}

TEMPLATE_TEST_CASE("scanner: a scan of some paths keeps ignore rules and other issues",
                   "[scanner][only]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    put(t.fs, ".ferryignore", "skip/\n*.tmp\n");
    REQUIRE(t.fs.make_dir("skip", 0755));
    t.make_special("a/fifo");
    scan(t.fs, *store);

    put(t.fs, "skip/x", "ignored");
    put(t.fs, "a/y.tmp", "ignored");
    put(t.fs, "a/z.txt", "taken");
    t.make_special("a/b/fifo2");
    const ScanResult result = scan_only(t.fs, *store, {"skip/x", "a/y.tmp", "a/z.txt", "a/b/fifo2"});
    CHECK_FALSE(has_record(*store, "skip/x"));
    CHECK_FALSE(has_record(*store, "a/y.tmp"));
    CHECK(has_record(*store, "a/z.txt"));
    // The issue found now joins the one found by the full scan.
    CHECK(has_issue(result, "a/fifo", "special file"));
    CHECK(has_issue(result, "a/b/fifo2", "special file"));
    CHECK(store->folder_stats(kFolder)->issues.size() == 2);

    // Gone: its issue goes with it; the other stays.
    REQUIRE(t.fs.remove("a/b/fifo2"));
    CHECK(scan_only(t.fs, *store, {"a/b/fifo2"}).issues.size() == 1);
}
