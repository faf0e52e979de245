// The scanner on the in-memory filesystem and on real temporary folders,
// with a real (in-memory SQLite) store. Faults (permission denied, files
// that vanish or grow mid-scan) come from FaultInjectingFilesystem hooks.
#include "scanner_test_util.hh"

using namespace ferry::test::scanner;

TEMPLATE_TEST_CASE("scanner: the first scan indexes files, directories and symlinks", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    std::vector<ScanProgress> progress;
    ScanOptions options;
    options.progress = [&](const ScanProgress& p) { progress.push_back(p); };
    const ScanResult result = scan(t.fs, *store, options);

    CHECK(result.files == 4);
    CHECK(result.directories == 3);
    CHECK(result.symlinks == 1);
    CHECK(result.bytes == 9 + 10 + 700'000 + 4);
    CHECK(result.changed == 8);
    CHECK(result.deleted == 0);
    CHECK(result.bytes_hashed == result.bytes);
    CHECK(result.issues.empty());
    REQUIRE(!progress.empty());
    CHECK(progress.back().walk_done);
    CHECK(progress.back().entries_seen == 8);
    CHECK(progress.back().files_hashed == 4);

    for (const char* path : {"top.txt", "a/small.txt", "a/big.bin", "a/b/deep.txt"}) {
        INFO(path);
        const FileRecord r = record(*store, path);
        const FileStat st = t.fs.lstat(path).value();
        auto expected = hash_file(t.fs, path);
        REQUIRE(expected);
        CHECK(r.kind == FileKind::file);
        CHECK(!r.deleted);
        CHECK(r.size == st.size);
        CHECK(r.mtime_ns == st.mtime_ns);
        CHECK(r.mode == st.mode);
        CHECK(r.chunks == expected->chunks);
        CHECK(r.version.counter(kDevice) == 1);
        CHECK(r.version.entries().size() == 1);
        CHECK(r.modified_by == kDevice);
        CHECK(r.sequence.value > 0);
    }
    CHECK(record(*store, "a/big.bin").chunks.size() > 1);
    CHECK(record(*store, "a/big.bin").mode == 0600);
    const FileRecord dir = record(*store, "a/b");
    CHECK(dir.kind == FileKind::directory);
    CHECK(dir.mode == 0700);
    CHECK(dir.chunks.empty());
    const FileRecord link = record(*store, "link");
    CHECK(link.kind == FileKind::symlink);
    CHECK(link.symlink_target == "a/small.txt");
    CHECK(record(*store, "empty").kind == FileKind::directory);

    const auto stats = store->folder_stats(kFolder).value();
    CHECK(stats.last_scan_ns == 1'700'000'000'000'000'000);
    CHECK(stats.files == 4);
}

TEMPLATE_TEST_CASE("scanner: a rescan without changes writes nothing and reads no content", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const Sequence before = sequence(*store);

    FaultInjectingFilesystem counting(t.fs);
    const ScanResult again = scan(counting, *store);
    CHECK(again.changed == 0);
    CHECK(again.files == 4);
    CHECK(again.directories == 3);
    CHECK(again.symlinks == 1);
    CHECK(again.bytes_hashed == 0);
    CHECK(sequence(*store) == before);
    CHECK(counting.count(FsOp::open_read) == 0);
    CHECK(counting.count(FsOp::read_link) == 0);
    CHECK(counting.count(FsOp::scan_dir) == 4);  // root, a, a/b, empty
}

TEMPLATE_TEST_CASE("scanner: a changed file gets a newer version", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_small = record(*store, "a/small.txt");
    const FileRecord old_big = record(*store, "a/big.bin");
    const FileRecord old_top = record(*store, "top.txt");

    put(t.fs, "a/small.txt", "SMALL FILE");  // same size
    REQUIRE(t.fs.set_mtime("a/small.txt", old_small.mtime_ns + 1'000'000));
    std::string big = noise(700'000, 1);
    big[350'000] ^= 0x55;  // one byte in the middle
    put(t.fs, "a/big.bin", big, 0600);
    REQUIRE(t.fs.set_mode("top.txt", 0600));  // only the mode

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.changed == 3);
    const FileRecord small = record(*store, "a/small.txt");
    CHECK(small.version.compare(old_small.version) == Ordering::newer);
    CHECK(small.version.counter(kDevice) == 2);
    CHECK(small.sequence > old_small.sequence);
    CHECK(small.chunks == hash_file(t.fs, "a/small.txt").value().chunks);
    CHECK(small.chunks != old_small.chunks);
    const FileRecord big_now = record(*store, "a/big.bin");
    CHECK(big_now.version.compare(old_big.version) == Ordering::newer);
    CHECK(big_now.chunks == hash_file(t.fs, "a/big.bin").value().chunks);
    // Content-defined chunks: the edit changes few of them.
    std::size_t same = 0;
    for (const auto& c : big_now.chunks)
        same += std::count(old_big.chunks.begin(), old_big.chunks.end(), c) > 0;
    CHECK(same + 2 >= big_now.chunks.size());
    const FileRecord top = record(*store, "top.txt");
    CHECK(top.mode == 0600);
    CHECK(top.version.compare(old_top.version) == Ordering::newer);
    CHECK(top.chunks == old_top.chunks);
}

TEMPLATE_TEST_CASE("scanner: files still being written are left as last indexed", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_small = record(*store, "a/small.txt");
    t.append("a/small.txt", " growing");
    put(t.fs, "a/new.txt", "half of it");

    ScanOptions options;
    options.settling = {"a/small.txt", "a/new.txt"};
    const ScanResult during = scan(t.fs, *store, options);
    CHECK(during.changed == 0);
    CHECK(record(*store, "a/small.txt").version == old_small.version);  // not a tombstone either
    CHECK(!has_record(*store, "a/new.txt"));

    const ScanResult after = scan(t.fs, *store);
    CHECK(after.changed == 2);
    CHECK(record(*store, "a/small.txt").size == old_small.size + 8);
    CHECK(has_record(*store, "a/new.txt"));
}

TEMPLATE_TEST_CASE("scanner: deleted files and subtrees become tombstones; re-creating works", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_top = record(*store, "top.txt");
    const FileRecord old_deep = record(*store, "a/b/deep.txt");
    const FileRecord old_link = record(*store, "link");

    REQUIRE(t.fs.remove("top.txt"));
    REQUIRE(t.fs.remove("a/b/deep.txt"));
    REQUIRE(t.fs.remove("a/b"));
    REQUIRE(t.fs.remove("link"));
    const ScanResult result = scan(t.fs, *store);
    CHECK(result.deleted == 4);
    CHECK(result.changed == 4);
    for (const auto& [path, old] : {std::pair{"top.txt", old_top}, std::pair{"a/b/deep.txt", old_deep},
                                    std::pair{"link", old_link}}) {
        INFO(path);
        const FileRecord r = record(*store, path);
        CHECK(r.deleted);
        CHECK(r.kind == old.kind);
        CHECK(r.chunks.empty());
        CHECK(r.version.compare(old.version) == Ordering::newer);
        CHECK(r.modified_by == kDevice);
    }
    CHECK(record(*store, "a/b").deleted);
    CHECK(!record(*store, "a").deleted);

    // Tombstones stay put.
    const Sequence after_delete = sequence(*store);
    CHECK(scan(t.fs, *store).changed == 0);
    CHECK(sequence(*store) == after_delete);

    // Re-created: a version newer than the tombstone's.
    const FileRecord tomb = record(*store, "top.txt");
    put(t.fs, "top.txt", "back again");
    REQUIRE(t.fs.make_dir("a/b", 0755));
    CHECK(scan(t.fs, *store).changed == 2);
    const FileRecord back = record(*store, "top.txt");
    CHECK(!back.deleted);
    CHECK(back.version.compare(tomb.version) == Ordering::newer);
    CHECK(back.version.counter(kDevice) == 3);
    CHECK(back.chunks == hash_file(t.fs, "top.txt").value().chunks);
    CHECK(!record(*store, "a/b").deleted);
    CHECK(record(*store, "a/b/deep.txt").deleted);
}

// Sim seed 606028: this device's user removed a directory with a file no
// peer had seen yet; a peer's deletion of the (for it, empty) directory was
// recorded before the next scan, which then took the directory as deleted
// already and kept the file's record live for good.
TEMPLATE_TEST_CASE("scanner: files left live under a directory already tombstoned become tombstones",
                   "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    REQUIRE(t.fs.make_dir("d", 0755));
    REQUIRE(t.fs.make_dir("d/sub", 0755));
    put(t.fs, "d/sub/new.txt", "no peer has seen this");
    scan(t.fs, *store);
    const FileRecord old_file = record(*store, "d/sub/new.txt");
    const FileRecord old_dir = record(*store, "d");

    REQUIRE(t.fs.remove("d/sub/new.txt"));
    REQUIRE(t.fs.remove("d/sub"));
    REQUIRE(t.fs.remove("d"));
    constexpr ShortId kPeer{0xB2};
    std::vector<FileUpdate> peer_deletions;
    for (const char* path : {"d/sub", "d"}) {
        FileRecord tomb = record(*store, path);
        tomb.deleted = true;
        tomb.version.increment(kPeer);
        tomb.modified_by = kPeer;
        peer_deletions.push_back(FileUpdate{tomb, 0});
    }
    REQUIRE(store->put_files(kFolder, peer_deletions));

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.deleted == 1);
    const FileRecord file = record(*store, "d/sub/new.txt");
    CHECK(file.deleted);
    CHECK(file.version.compare(old_file.version) == Ordering::newer);
    CHECK(file.modified_by == kDevice);
    // The peer's tombstones stay as they were.
    CHECK(record(*store, "d").version.compare(old_dir.version) == Ordering::newer);
    CHECK(record(*store, "d").modified_by == kPeer);

    // A file where that directory was: what was below it goes too.
    REQUIRE(t.fs.make_dir("e", 0755));
    put(t.fs, "e/inside.txt", "inside");
    scan(t.fs, *store);
    REQUIRE(t.fs.remove("e/inside.txt"));
    REQUIRE(t.fs.remove("e"));
    FileRecord e_tomb = record(*store, "e");
    e_tomb.deleted = true;
    e_tomb.version.increment(kPeer);
    e_tomb.modified_by = kPeer;
    std::vector<FileUpdate> e_deletion{FileUpdate{e_tomb, 0}};
    REQUIRE(store->put_files(kFolder, e_deletion));
    put(t.fs, "e", "now a file");
    scan(t.fs, *store);
    CHECK(record(*store, "e/inside.txt").deleted);
    CHECK(!record(*store, "e").deleted);
    CHECK(record(*store, "e").kind == FileKind::file);
}

TEMPLATE_TEST_CASE("scanner: a path that changes kind keeps its history", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_dir = record(*store, "a/b");
    const FileRecord old_file = record(*store, "top.txt");

    REQUIRE(t.fs.remove("a/b/deep.txt"));
    REQUIRE(t.fs.remove("a/b"));
    put(t.fs, "a/b", "now a file");
    REQUIRE(t.fs.remove("top.txt"));
    REQUIRE(t.fs.make_dir("top.txt", 0755));
    put(t.fs, "top.txt/inside", "x");

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.deleted == 1);  // a/b/deep.txt
    const FileRecord b = record(*store, "a/b");
    CHECK(b.kind == FileKind::file);
    CHECK(!b.deleted);
    CHECK(b.version.compare(old_dir.version) == Ordering::newer);
    CHECK(record(*store, "a/b/deep.txt").deleted);
    const FileRecord top = record(*store, "top.txt");
    CHECK(top.kind == FileKind::directory);
    CHECK(top.version.compare(old_file.version) == Ordering::newer);
    CHECK(top.chunks.empty());
    CHECK(!record(*store, "top.txt/inside").deleted);
}

TEMPLATE_TEST_CASE("scanner: .ferryignore and .ferry/ are respected", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    put(t.fs, ".ferryignore", "# build output\n*.tmp\nbuild/\n");
    put(t.fs, "keep.txt", "keep");
    put(t.fs, "scratch.tmp", "ignored");
    REQUIRE(t.fs.make_dir("build", 0755));
    put(t.fs, "build/out.o", "ignored");
    REQUIRE(t.fs.make_dir(".ferry", 0755));
    put(t.fs, ".ferry/index.db", "ferry's own");
    put(t.fs, temporary_name("keep.txt", 7), "half written");

    FaultInjectingFilesystem counting(t.fs);
    const ScanResult result = scan(counting, *store);
    CHECK(has_record(*store, "keep.txt"));
    CHECK(has_record(*store, ".ferryignore"));
    CHECK(!has_record(*store, "scratch.tmp"));
    CHECK(!has_record(*store, "build"));
    CHECK(!has_record(*store, "build/out.o"));
    CHECK(!has_record(*store, ".ferry"));
    CHECK(!has_record(*store, ".ferry/index.db"));
    CHECK(!has_record(*store, temporary_name("keep.txt", 7)));
    CHECK(result.files == 2);
    CHECK(result.issues.empty());
    CHECK(counting.count(FsOp::scan_dir) == 1);  // never went into build/ or .ferry/

    // Ignoring what was indexed leaves its records as they were: neither
    // changes nor deletes of an ignored path are recorded (a tombstone would
    // delete it on every other device).
    put(t.fs, "notes.log", "log");
    REQUIRE(t.fs.make_dir("logs", 0755));
    put(t.fs, "logs/1.log", "log");
    scan(t.fs, *store);
    const FileRecord notes = record(*store, "notes.log");
    const FileRecord log = record(*store, "logs/1.log");
    put(t.fs, ".ferryignore", "*.tmp\nbuild/\n*.log\nlogs/\n");
    put(t.fs, "notes.log", "changed while ignored");
    REQUIRE(t.fs.remove("logs/1.log"));
    const ScanResult again = scan(t.fs, *store);
    CHECK(again.deleted == 0);
    CHECK(record(*store, "notes.log") == notes);
    CHECK(record(*store, "logs/1.log") == log);
    CHECK(!record(*store, "logs").deleted);

    // No longer ignored: the scan records what happened meanwhile.
    put(t.fs, ".ferryignore", "*.tmp\nbuild/\n");
    const ScanResult after = scan(t.fs, *store);
    CHECK(record(*store, "notes.log").version.compare(notes.version) == Ordering::newer);
    CHECK(record(*store, "logs/1.log").deleted);
    CHECK(after.deleted == 1);
}

TEMPLATE_TEST_CASE("scanner: special files and invalid names are reported and skipped", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    put(t.fs, "fine.txt", "fine");
    t.make_special("pipe");
    put(t.fs, "bad\x01name", "control character");
    const std::string nfd = "cafe\xcc\x81.txt";  // "café" decomposed: not NFC
    put(t.fs, nfd, "decomposed");
    const std::string nfc = "caf\xc3\xa9.txt";
    put(t.fs, nfc, "composed");

    const ScanResult result = scan(t.fs, *store);
    CHECK(result.issues.size() == 3);
    CHECK(has_issue(result, "pipe", "special file"));
    CHECK(has_issue(result, "bad\x01name", "rename it"));
    CHECK(has_issue(result, nfd, "NFC"));
    CHECK(has_issue(result, nfd, "rename it"));
    CHECK(has_record(*store, "fine.txt"));
    CHECK(has_record(*store, nfc));
    CHECK(!has_record(*store, "pipe"));
    CHECK(result.files == 2);
    // The issues are kept with the scan.
    const auto stats = store->folder_stats(kFolder).value();
    CHECK(stats.issues.size() == 3);

    // A file replaced by a special file is gone as a file.
    REQUIRE(t.fs.remove("fine.txt"));
    t.make_special("fine.txt");
    scan(t.fs, *store);
    CHECK(record(*store, "fine.txt").deleted);
}

TEMPLATE_TEST_CASE("scanner: permission denied on a file or a directory is reported, the rest indexed",
                   "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_small = record(*store, "a/small.txt");
    put(t.fs, "a/secret.txt", "new and unreadable");
    put(t.fs, "a/small.txt", "changed, now unreadable");
    put(t.fs, "a/b/new.txt", "behind an unreadable directory");
    put(t.fs, "readable.txt", "new and fine");

    FaultInjectingFilesystem faulty(t.fs);
    faulty.fail_always(FsOp::open_read, "a/secret.txt", Errc::permission_denied);
    faulty.fail_always(FsOp::open_read, "a/small.txt", Errc::permission_denied);
    faulty.fail_always(FsOp::scan_dir, "a/b", Errc::permission_denied);
    faulty.fail_always(FsOp::lstat, "top.txt", Errc::permission_denied);
    const ScanResult result = scan(faulty, *store);

    CHECK(result.issues.size() == 4);
    CHECK(has_issue(result, "a/secret.txt", "permission denied"));
    CHECK(has_issue(result, "a/small.txt", "permission denied"));
    CHECK(has_issue(result, "a/b", "permission denied"));
    CHECK(has_issue(result, "top.txt", "permission denied"));
    CHECK(!has_record(*store, "a/secret.txt"));
    CHECK(record(*store, "a/small.txt") == old_small);  // kept as last indexed
    // What an unreadable directory holds is unknown, not deleted.
    CHECK(!record(*store, "a/b/deep.txt").deleted);
    CHECK(!has_record(*store, "a/b/new.txt"));
    CHECK(!record(*store, "top.txt").deleted);
    CHECK(has_record(*store, "readable.txt"));

    // Once readable again, everything is indexed.
    const ScanResult fixed = scan(t.fs, *store);
    CHECK(fixed.issues.empty());
    CHECK(has_record(*store, "a/secret.txt"));
    CHECK(has_record(*store, "a/b/new.txt"));
    CHECK(record(*store, "a/small.txt").version.compare(old_small.version) == Ordering::newer);
}

TEST_CASE("scanner: real permission denied on a file and a directory (not as root)", "[scanner]") {
    if (::geteuid() == 0) {
        SUCCEED("root reads everything; the fault-injecting test covers this");
        return;
    }
    TempDir dir;
    PosixFilesystem fs(dir.path());
    auto store = open_store();
    put(fs, "ok.txt", "ok");
    put(fs, "secret.txt", "no", 0000);
    REQUIRE(fs.make_dir("locked", 0755));
    put(fs, "locked/inside.txt", "x");
    scan(fs, *store);  // the directory is indexed while readable
    REQUIRE(fs.set_mode("locked", 0000));
    const ScanResult result = scan(fs, *store);
    REQUIRE(fs.set_mode("locked", 0755));
    CHECK(has_issue(result, "secret.txt", "Permission denied"));
    CHECK(has_issue(result, "locked", "Permission denied"));
    CHECK(!record(*store, "locked/inside.txt").deleted);
    CHECK(has_record(*store, "ok.txt"));
}

TEMPLATE_TEST_CASE("scanner: a file vanishing mid-scan", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    make_tree(t.fs);
    scan(t.fs, *store);
    const FileRecord old_small = record(*store, "a/small.txt");
    put(t.fs, "a/small.txt", "changed, so it will be read");
    put(t.fs, "a/fresh.txt", "new, so it will be read");

    // Both disappear between the listing and the read.
    FaultInjectingFilesystem faulty(t.fs);
    faulty.set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::open_read && (path == "a/small.txt" || path == "a/fresh.txt"))
            return t.fs.remove(path);
        return {};
    });
    const ScanResult result = scan(faulty, *store);
    CHECK(result.issues.empty());
    const FileRecord small = record(*store, "a/small.txt");
    CHECK(small.deleted);
    CHECK(small.version.compare(old_small.version) == Ordering::newer);
    CHECK(!has_record(*store, "a/fresh.txt"));
    CHECK(!record(*store, "a/big.bin").deleted);

    // An entry that vanishes between readdir and its stat.
    faulty.clear();
    faulty.fail_next(FsOp::lstat, "a/b/deep.txt", Errc::not_found);
    scan(faulty, *store);
    CHECK(record(*store, "a/b/deep.txt").deleted);
}

TEMPLATE_TEST_CASE("scanner: a file growing while hashed is hashed again", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    put(t.fs, "growing.log", noise(100'000, 3));
    put(t.fs, "endless.log", "starts small");

    int grown = 0;
    FaultInjectingFilesystem faulty(t.fs);
    faulty.set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op != FsOp::read) return {};
        if (path == "growing.log" && grown < 2) {
            ++grown;
            t.append("growing.log", noise(5'000, 10 + static_cast<std::uint32_t>(grown)));
        }
        if (path == "endless.log") t.append("endless.log", "more\n");
        return {};
    });
    const ScanResult result = scan(faulty, *store);
    CHECK(grown == 2);
    const FileRecord r = record(*store, "growing.log");
    CHECK(r.size == 110'000);
    CHECK(r.size == t.fs.lstat("growing.log").value().size);
    CHECK(r.chunks == hash_file(t.fs, "growing.log").value().chunks);
    // One that never stops is reported after the retries.
    CHECK(!has_record(*store, "endless.log"));
    REQUIRE(result.issues.size() == 1);
    CHECK(has_issue(result, "endless.log", "kept changing"));
}

TEMPLATE_TEST_CASE("scanner: cancellation stops the scan; the next one completes", "[scanner]",
                   BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    for (int d = 0; d < 20; ++d) {
        const std::string dir = "dir" + std::to_string(d);
        REQUIRE(t.fs.make_dir(dir, 0755));
        for (int f = 0; f < 5; ++f) put(t.fs, dir + "/f" + std::to_string(f), "content " + dir);
    }
    std::atomic<bool> cancel{false};
    FaultInjectingFilesystem faulty(t.fs);
    faulty.set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::scan_dir && path == "dir7") cancel = true;
        return {};
    });
    ScanOptions options;
    options.cancel = &cancel;
    options.local_device = kDevice;
    auto cancelled = scan_folder(faulty, *store, kFolder, options);
    REQUIRE(!cancelled);
    CHECK(cancelled.error().code == Errc::changed);
    CHECK_THAT(cancelled.error().message, Catch::Contains("cancelled"));
    CHECK(store->folder_stats(kFolder).value().last_scan_ns == 0);  // not a finished scan

    const ScanResult full = scan(t.fs, *store);
    CHECK(full.files == 100);
    CHECK(full.directories == 20);
    for (int d = 0; d < 20; ++d) CHECK(has_record(*store, "dir" + std::to_string(d) + "/f4"));
}

TEMPLATE_TEST_CASE("scanner: many directories on several threads", "[scanner]", BOTH_FILESYSTEMS) {
    TestType t;
    auto store = open_store();
    for (int d = 0; d < 30; ++d) {
        std::string dir = "d" + std::to_string(d);
        REQUIRE(t.fs.make_dir(dir, 0755));
        REQUIRE(t.fs.make_dir(dir + "/sub", 0755));
        for (int f = 0; f < 40; ++f) put(t.fs, dir + "/sub/" + std::to_string(f), std::to_string(d * 100 + f));
    }
    ScanOptions options;
    options.threads = 4;
    const ScanResult first = scan(t.fs, *store, options);
    CHECK(first.files == 1200);
    CHECK(first.directories == 60);
    CHECK(first.changed == 1260);
    CHECK(sequence(*store).value == 1260);
    CHECK(scan(t.fs, *store, options).changed == 0);
    CHECK(record(*store, "d29/sub/39").chunks == hash_file(t.fs, "d29/sub/39").value().chunks);
}

TEST_CASE("scanner: a missing folder root fails the scan instead of deleting everything", "[scanner]") {
    TempDir parent;
    const std::string root = parent / "folder";
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    auto store = open_store();
    {
        PosixFilesystem fs(root);
        put(fs, "precious.txt", "keep me");
        scan(fs, *store);
        REQUIRE(fs.remove("precious.txt"));
    }
    REQUIRE(::rmdir(root.c_str()) == 0);
    PosixFilesystem fs(root);
    ScanOptions options;
    options.local_device = kDevice;
    auto result = scan_folder(fs, *store, kFolder, options);
    REQUIRE(!result);
    CHECK(result.error().code == Errc::not_found);
    CHECK(!record(*store, "precious.txt").deleted);
}

