// Tests of the SQLite index (src/store): schema migrations, folders, file
// records, sequences, scans, failures and concurrency (the chunk lookup:
// chunk_lookup_test.cc).
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

TEST_CASE("store: a new database gets every migration, and reopening changes nothing", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    {
        auto store = open_store(path);
        CHECK(store->schema_version() == Store::latest_schema_version());
        CHECK(Store::latest_schema_version() >= 1);
        add_folder(*store, "docs", "/home/a/docs");
        REQUIRE_OK(store->set_setting("device_name", "laptop"));
    }
    CHECK(raw_text(path, "PRAGMA user_version") == std::to_string(Store::latest_schema_version()));
    const auto schema = raw_text(path, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    {
        auto store = open_store(path);
        CHECK(store->schema_version() == Store::latest_schema_version());
        auto folders = store->folders();
        REQUIRE(folders);
        REQUIRE(folders->size() == 1);
        CHECK((*folders)[0].id == "docs");
        auto name = store->get_setting("device_name");
        REQUIRE(name);
        CHECK(*name == std::optional<std::string>("laptop"));
    }
    CHECK(raw_text(path, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema);
}

TEST_CASE("store: a database from a newer ferry is refused", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    { open_store(path); }
    const int newer = Store::latest_schema_version() + 1;
    raw_sql(path, "PRAGMA user_version = " + std::to_string(newer));
    auto store = Store::open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Errc::too_new);
    CHECK(store.error().message ==
          path + " was written by a newer ferry (schema " + std::to_string(newer) +
              ", this ferry knows up to " + std::to_string(Store::latest_schema_version()) +
              "): upgrade ferry");
}

TEST_CASE("store: a file that is not a database is reported as corrupt", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    {
        std::FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f);
        const std::string junk(8192, 'x');
        std::fwrite(junk.data(), 1, junk.size(), f);
        std::fclose(f);
    }
    auto store = Store::open(path);
    REQUIRE_FALSE(store);
    CHECK(store.error().code == Errc::corrupt);
    CHECK(store.error().message.find(path) != std::string::npos);
}

TEST_CASE("store: the database runs in WAL mode with foreign keys on", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    auto store = open_store(path);
    CHECK(raw_text(path, "PRAGMA journal_mode") == "wal");
    // Removing a folder relies on ON DELETE CASCADE, i.e. on foreign keys.
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(9);
    REQUIRE_OK(put(*store, "f", {dir_record("d"), file_record("d/x", {{random_hash(rng), 5}})}));
    REQUIRE_OK(store->remove_folder("f"));
    CHECK(raw_text(path, "SELECT count(*) FROM files") == "0");
    CHECK(raw_text(path, "SELECT count(*) FROM chunk_lists") == "0");
    CHECK(raw_text(path, "SELECT count(*) FROM chunks") == "0");
}

TEST_CASE("store: settings", "[store]") {
    auto store = open_store();
    auto missing = store->get_setting("nothing");
    REQUIRE(missing);
    CHECK_FALSE(missing->has_value());
    REQUIRE_OK(store->set_setting("k", "one"));
    REQUIRE_OK(store->set_setting("k", "two"));
    CHECK(*store->get_setting("k") == std::optional<std::string>("two"));
}

TEST_CASE("store: folders are added, listed, read and removed", "[store]") {
    auto store = open_store();
    REQUIRE_OK(store->add_folder(Folder{"photos", "/home/a/Photos", FolderMode::receive_only}));
    REQUIRE_OK(store->add_folder(Folder{"docs", "/home/a/docs", FolderMode::send_only}));

    auto all = store->folders();
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK((*all)[0] == Folder{"docs", "/home/a/docs", FolderMode::send_only});
    CHECK((*all)[1] == Folder{"photos", "/home/a/Photos", FolderMode::receive_only});

    auto one = store->folder("photos");
    REQUIRE(one);
    CHECK(*one == std::optional<Folder>(Folder{"photos", "/home/a/Photos", FolderMode::receive_only}));
    CHECK_FALSE(store->folder("nope")->has_value());

    auto same_id = store->add_folder(Folder{"docs", "/elsewhere", FolderMode::send_receive});
    REQUIRE_FALSE(same_id);
    CHECK(same_id.error().code == Errc::already_exists);
    CHECK(same_id.error().message.find("'docs'") != std::string::npos);
    auto same_path = store->add_folder(Folder{"other", "/home/a/docs", FolderMode::send_receive});
    REQUIRE_FALSE(same_path);
    CHECK(same_path.error().code == Errc::already_exists);
    CHECK(same_path.error().message.find("/home/a/docs") != std::string::npos);

    REQUIRE_OK(store->remove_folder("docs"));
    CHECK(store->folders()->size() == 1);
    auto again = store->remove_folder("docs");
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::not_found);
    // The id and path are free again.
    REQUIRE_OK(store->add_folder(Folder{"docs", "/home/a/docs", FolderMode::send_receive}));
}

TEST_CASE("store: a folder's mode changes and its records stay", "[store]") {
    auto store = open_store();
    REQUIRE_OK(store->add_folder(Folder{"docs", "/home/a/docs", FolderMode::send_receive}));
    auto index_id = store->index_id("docs");
    REQUIRE(index_id);

    REQUIRE_OK(store->set_folder_mode("docs", FolderMode::receive_only));
    CHECK(*store->folder("docs") ==
          std::optional<Folder>(Folder{"docs", "/home/a/docs", FolderMode::receive_only}));
    CHECK(*store->index_id("docs") == *index_id);  // the same index, not a new one

    auto missing = store->set_folder_mode("nope", FolderMode::send_only);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
}

TEST_CASE("store: folder modes have names", "[store]") {
    for (auto mode : {FolderMode::send_receive, FolderMode::send_only, FolderMode::receive_only}) {
        auto parsed = parse_folder_mode(folder_mode_name(mode));
        REQUIRE(parsed);
        CHECK(*parsed == mode);
    }
    CHECK(std::string(folder_mode_name(FolderMode::send_only)) == "send-only");
    auto bad = parse_folder_mode("sideways");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == Errc::invalid_argument);
}

TEST_CASE("store: every field of a record survives a round trip", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(1);

    FileRecord file = file_record("a/b/data.bin", {{random_hash(rng), 65536}, {random_hash(rng), 1}});
    file.size = 0xffff'ffff'ffff'fff0;  // unsigned values above INT64_MAX keep their bits
    file.modified_by = ShortId{0xfedc'ba98'7654'3210};
    FileRecord link;
    link.path = "a/link";
    link.kind = FileKind::symlink;
    link.symlink_target = "../target with spaces";
    link.mtime_ns = -5;  // before 1970
    link.version = version_of(3, 4);
    link.modified_by = ShortId{3};
    FileRecord gone = file_record("a/old.txt", {});
    gone.deleted = true;
    gone.size = 0;
    FileRecord dir = dir_record("a");

    std::vector<FileUpdate> updates{{file, 0xffff'ffff'0000'0001}, {link, 2}, {gone, 3}, {dir, 4}};
    REQUIRE_OK(store->put_files("f", updates));
    for (std::size_t i = 0; i < updates.size(); ++i) {
        CHECK(updates[i].record.sequence == Sequence{static_cast<std::int64_t>(i + 1)});
    }
    for (const auto& update : updates) {
        auto read = store->get_file("f", update.record.path);
        REQUIRE(read);
        REQUIRE(read->has_value());
        CHECK(**read == update.record);
    }
    CHECK_FALSE(store->get_file("f", "a/missing")->has_value());

    auto children = store->children("f", "a");
    REQUIRE(children);
    REQUIRE(children->size() == 2);  // a/b itself has no record
    CHECK((*children)[0].symlink_target == link.symlink_target);
    CHECK((*children)[1].deleted);
    auto b = store->children("f", "a/b");
    REQUIRE(b->size() == 1);
    const auto& stored = (*b)[0];
    CHECK(stored.name == "data.bin");
    CHECK(stored.kind == FileKind::file);
    CHECK(stored.size == file.size);
    CHECK(stored.mtime_ns == file.mtime_ns);
    CHECK(stored.mode == file.mode);
    CHECK(stored.inode == 0xffff'ffff'0000'0001);
    CHECK(stored.version == file.version);
    CHECK_FALSE(stored.deleted);

    // One entry, as children() gives it.
    auto one = store->entry("f", "a/b/data.bin");
    REQUIRE(one);
    REQUIRE(one->has_value());
    CHECK((*one)->name == "data.bin");
    CHECK((*one)->inode == stored.inode);
    CHECK((*one)->version == stored.version);
    CHECK(store->entry("f", "a/old.txt")->value().deleted);
    CHECK_FALSE(store->entry("f", "a/missing")->has_value());
    CHECK(store->entry("none", "a").error().code == Errc::not_found);
}

TEST_CASE("store: sequences increase per folder and are written back", "[store]") {
    auto store = open_store();
    add_folder(*store, "one", "/one");
    add_folder(*store, "two", "/two");
    std::vector<FileUpdate> first{{dir_record("x"), 0}, {dir_record("y"), 0}};
    REQUIRE_OK(store->put_files("one", first));
    CHECK(first[0].record.sequence == Sequence{1});
    CHECK(first[1].record.sequence == Sequence{2});
    std::vector<FileUpdate> other{{dir_record("x"), 0}};
    REQUIRE_OK(store->put_files("two", other));
    CHECK(other[0].record.sequence == Sequence{1});
    std::vector<FileUpdate> again{{dir_record("x"), 0}};
    REQUIRE_OK(store->put_files("one", again));
    CHECK(again[0].record.sequence == Sequence{3});
    CHECK(store->folder_stats("one")->sequence == Sequence{3});
    CHECK(store->folder_stats("two")->sequence == Sequence{1});
    // An update of an existing path gets a new sequence; the old one is gone.
    CHECK((*store->get_file("one", "x"))->sequence == Sequence{3});

    auto unknown = put(*store, "three", {dir_record("x")});
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::not_found);
    CHECK(unknown.error().message.find("'three'") != std::string::npos);
}

TEST_CASE("store: files_at reads whole records and tombstones, nullopt for unknown paths",
          "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    FileRecord gone = file_record("d/gone", {});
    gone.deleted = true;
    gone.version = version_of(3, 4);
    std::mt19937_64 rng(7);
    const FileRecord a = file_record("d/a", {{random_hash(rng), 100}, {random_hash(rng), 50}});
    REQUIRE_OK(put(*store, "f", {a, gone, dir_record("d")}));
    REQUIRE_OK(put(*store, "g", {file_record("only-in-g", {})}));

    const std::vector<std::string> paths{"d/a", "nope", "d/gone", "d", "only-in-g"};
    auto got = store->files_at("f", paths);
    REQUIRE(got);
    REQUIRE(got->size() == paths.size());
    REQUIRE((*got)[0]);
    CHECK(same_record(*(*got)[0], a));  // chunk list included
    CHECK_FALSE((*got)[1]);
    REQUIRE((*got)[2]);
    CHECK((*got)[2]->version == version_of(3, 4));
    CHECK((*got)[2]->deleted);
    CHECK((*got)[3]->version == dir_record("d").version);
    CHECK_FALSE((*got)[4]);  // another folder's
    CHECK(store->files_at("f", {})->empty());
    CHECK(store->files_at("missing", paths).error().code == Errc::not_found);
}

TEST_CASE("store: files_since returns changes in sequence order, limited", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    REQUIRE_OK(put(*store, "f", {dir_record("c"), dir_record("a"), dir_record("b")}));
    REQUIRE_OK(put(*store, "f", {dir_record("c")}));  // c moves to sequence 4

    auto all = store->files_since("f", Sequence{0}, 100);
    REQUIRE(all);
    std::vector<std::string> paths;
    for (const auto& r : *all) paths.push_back(r.path);
    CHECK(paths == std::vector<std::string>{"a", "b", "c"});
    CHECK(all->back().sequence == Sequence{4});

    auto after = store->files_since("f", Sequence{2}, 100);
    REQUIRE(after->size() == 2);
    CHECK((*after)[0].path == "b");
    auto limited = store->files_since("f", Sequence{0}, 2);
    REQUIRE(limited->size() == 2);
    CHECK((*limited)[1].path == "b");
    CHECK(store->files_since("f", Sequence{4}, 10)->empty());
}

TEST_CASE("store: children lists one directory sorted by name, tombstones included", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    FileRecord gone = dir_record("d/b");
    gone.deleted = true;
    REQUIRE_OK(put(*store, "f",
                {dir_record("d"), file_record("d/c", {}), gone, dir_record("d/a"),
                 file_record("d/a/deep", {}), file_record("top", {}), file_record("d/B", {})}));
    REQUIRE_OK(put(*store, "g", {file_record("d/other-folder", {})}));

    auto d = store->children("f", "d");
    REQUIRE(d);
    std::vector<std::string> names;
    for (const auto& e : *d) names.push_back(e.name);
    CHECK(names == std::vector<std::string>{"B", "a", "b", "c"});  // byte order
    CHECK((*d)[2].deleted);
    auto root = store->children("f", "");
    REQUIRE(root->size() == 2);
    CHECK((*root)[0].name == "d");
    CHECK((*root)[1].name == "top");
    CHECK(store->children("f", "nothing")->empty());
}

TEST_CASE("store: folder_stats counts records and reports the last scan", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    FileRecord gone = file_record("old", {});
    gone.deleted = true;
    FileRecord link;
    link.path = "l";
    link.kind = FileKind::symlink;
    link.symlink_target = "x";
    std::mt19937_64 rng(4);
    REQUIRE_OK(put(*store, "f",
                {dir_record("d"), file_record("d/a", {{random_hash(rng), 100}}),
                 file_record("b", {{random_hash(rng), 23}}), gone, link}));
    auto stats = store->folder_stats("f");
    REQUIRE(stats);
    CHECK(stats->files == 2);
    CHECK(stats->directories == 1);
    CHECK(stats->symlinks == 1);
    CHECK(stats->deleted == 1);
    CHECK(stats->bytes == 123);
    CHECK(stats->last_scan_ns == 0);
    CHECK(stats->sequence == Sequence{5});
    CHECK(stats->issues.empty());

    add_folder(*store, "empty", "/e");
    auto empty = store->folder_stats("empty");
    REQUIRE(empty);
    CHECK(empty->files == 0);
    CHECK(empty->bytes == 0);
    CHECK(store->folder_stats("none").error().code == Errc::not_found);
}

TEST_CASE("store: record_scan replaces the previous scan's issues", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    add_folder(*store, "g", "/g");
    const std::vector<ScanIssue> first{{"a", "permission denied"}, {"b", "vanished"}};
    REQUIRE_OK(store->record_scan("f", 1000, first));
    REQUIRE_OK(store->record_scan("g", 5, std::vector<ScanIssue>{{"z", "other folder"}}));
    auto stats = store->folder_stats("f");
    REQUIRE(stats->issues.size() == 2);
    CHECK(stats->issues[1].path == "b");
    CHECK(stats->issues[1].message == "vanished");
    CHECK(stats->last_scan_ns == 1000);

    REQUIRE_OK(store->record_scan("f", 2000, std::vector<ScanIssue>{{"c", "invalid name"}}));
    stats = store->folder_stats("f");
    REQUIRE(stats->issues.size() == 1);
    CHECK(stats->issues[0].path == "c");
    CHECK(stats->last_scan_ns == 2000);
    REQUIRE_OK(store->record_scan("f", 3000, {}));
    CHECK(store->folder_stats("f")->issues.empty());
    CHECK(store->folder_stats("g")->issues.size() == 1);
}

TEST_CASE("store: a partial scan replaces only the issues within its scope", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    REQUIRE_OK(store->record_scan(
        "f", 1000,
        std::vector<ScanIssue>{{"a", "x"}, {"d/e", "y"}, {"d-e", "z"}, {"d", "w"}, {"q/r/s", "v"}}));
    const std::vector<std::string> scope{"d", "q/r/s"};
    auto now = store->record_partial_scan("f", scope, std::vector<ScanIssue>{{"d/new", "n"}});
    REQUIRE(now);
    std::vector<std::string> paths;
    for (const ScanIssue& issue : *now) paths.push_back(issue.path);
    CHECK(paths == std::vector<std::string>{"a", "d-e", "d/new"});
    auto stats = store->folder_stats("f");
    CHECK(stats->issues.size() == 3);
    CHECK(stats->last_scan_ns == 1000);  // not a full scan
}

TEST_CASE("store: damaged blobs are corrupt errors naming folder and path", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    std::mt19937_64 rng(5);
    const ChunkHash hash = random_hash(rng);
    {
        auto store = open_store(path);
        add_folder(*store, "f", "/f");
        REQUIRE_OK(put(*store, "f", {file_record("d/bad-version", {}), file_record("d/bad-chunks", {{hash, 9}})}));
    }
    raw_sql(path, "UPDATE files SET version = x'ff' WHERE name = 'bad-version';"
                  "UPDATE chunk_lists SET chunks = x'0102' "
                  "WHERE file = (SELECT id FROM files WHERE name = 'bad-chunks');");
    auto store = open_store(path);
    auto check_corrupt = [](const auto& result, const std::string& what) {
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::corrupt);
        CHECK(result.error().message.find("'f'") != std::string::npos);
        CHECK(result.error().message.find(what) != std::string::npos);
    };
    check_corrupt(store->get_file("f", "d/bad-version"), "d/bad-version");
    check_corrupt(store->get_file("f", "d/bad-chunks"), "d/bad-chunks");
    check_corrupt(store->children("f", "d"), "d/bad-version");
    check_corrupt(store->files_since("f", Sequence{0}, 10), "d/bad-version");
    check_corrupt(store->find_chunk(hash), "d/bad-chunks");
    auto each = store->for_each_file("f", [](const FileRecord&) -> Result<void> { return {}; });
    REQUIRE_FALSE(each);
    CHECK(each.error().code == Errc::corrupt);

    // Writing a new version repairs a damaged record, chunk rows included.
    REQUIRE_OK(put(*store, "f", {file_record("d/bad-chunks", {})}));
    CHECK(store->find_chunk(hash)->empty());
}

TEST_CASE("store: a failed batch leaves nothing behind", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    REQUIRE_OK(put(*store, "f", {dir_record("before")}));
    std::mt19937_64 rng(6);
    const ChunkHash hash = random_hash(rng);
    std::vector<FileUpdate> batch{{file_record("good", {{hash, 10}}), 0},
                                  {file_record("bad/", {}), 0}};  // empty name: refused
    auto result = store->put_files("f", batch);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_argument);
    CHECK(result.error().message.find("bad/") != std::string::npos);
    CHECK(batch[0].record.sequence == Sequence{0});
    CHECK_FALSE(store->get_file("f", "good")->has_value());
    CHECK(store->find_chunk(hash)->empty());
    CHECK(store->folder_stats("f")->sequence == Sequence{1});
    // The store stays usable, and sequences continue without a gap.
    std::vector<FileUpdate> next{{dir_record("after"), 0}};
    REQUIRE_OK(store->put_files("f", next));
    CHECK(next[0].record.sequence == Sequence{2});
}

TEST_CASE("store: for_each_file visits every record and stops on error", "[store]") {
    auto store = open_store();
    add_folder(*store, "f", "/f");
    std::vector<FileRecord> records;
    for (int i = 0; i < 2500; ++i) records.push_back(dir_record("d" + std::to_string(i)));
    REQUIRE_OK(put(*store, "f", std::move(records)));
    std::set<std::string> seen;
    REQUIRE_OK(store->for_each_file("f", [&](const FileRecord& r) -> Result<void> {
        seen.insert(r.path);
        return {};
    }));
    CHECK(seen.size() == 2500);
    // The callback may use the store.
    int calls = 0;
    auto stopped = store->for_each_file("f", [&](const FileRecord& r) -> Result<void> {
        if (!store->get_file("f", r.path)) return fail(Errc::io, "lookup failed");
        if (++calls == 3) return fail(Errc::changed, "stop here");
        return {};
    });
    REQUIRE_FALSE(stopped);
    CHECK(stopped.error().message == "stop here");
    CHECK(calls == 3);
}

TEST_CASE("store: calls from two threads are safe", "[store]") {
    TempDir dir;
    auto store = open_store(dir / "index.db");
    add_folder(*store, "f", "/f");
    std::atomic<bool> failed = false;
    auto writer = [&](int who) {
        std::mt19937_64 rng(static_cast<std::uint64_t>(who));
        for (int batch = 0; batch < 20; ++batch) {
            std::vector<FileUpdate> updates;
            for (int i = 0; i < 10; ++i) {
                const auto path = "t" + std::to_string(who) + "/" + std::to_string(batch * 10 + i);
                updates.push_back({file_record(path, {{random_hash(rng), 10}}), 0});
            }
            if (!store->put_files("f", updates)) failed = true;
            if (!store->children("f", "t" + std::to_string(1 - who))) failed = true;
            if (!store->find_chunk(updates[0].record.chunks[0].hash)) failed = true;
        }
    };
    std::thread a(writer, 0);
    std::thread b(writer, 1);
    a.join();
    b.join();
    CHECK_FALSE(failed);
    auto all = store->files_since("f", Sequence{0}, 1000);
    REQUIRE(all->size() == 400);
    for (std::size_t i = 0; i < all->size(); ++i) {
        CHECK((*all)[i].sequence == Sequence{static_cast<std::int64_t>(i + 1)});
    }
}
