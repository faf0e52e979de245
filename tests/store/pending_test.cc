// Pending targets (migration 3): stored and read back whole, replaced per
// path, dropped with the record put_files stores for their path, and with
// their folder; a schema-2 database is upgraded with its data intact.
#include <random>

#include "store/migrations.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

std::vector<std::string> pending_paths(Store& store, const std::string& folder) {
    auto pending = store.pending_targets(folder);
    if (!pending) FAIL(pending.error().message);
    std::vector<std::string> out;
    for (const FileRecord& r : *pending) out.push_back(r.path);
    return out;
}

FileRecord tombstone(const std::string& path) {
    FileRecord r = dir_record(path);
    r.kind = FileKind::file;
    r.deleted = true;
    r.mode = 0;
    r.version = version_of(9, 3);
    r.modified_by = ShortId{9};
    return r;
}

}  // namespace

TEST_CASE("store pending: targets are stored whole and read back by path", "[store]") {
    auto store = open_store();
    add_folder(*store, "docs", "/d");
    add_folder(*store, "other", "/o");
    std::mt19937_64 rng(11);
    FileRecord file = file_record("a/b.txt", {{random_hash(rng), 100}, {random_hash(rng), 7}});
    file.mode = 04755;  // the record's mode, setuid included: sync strips it, the note keeps it
    FileRecord link = dir_record("a/link");
    link.kind = FileKind::symlink;
    link.symlink_target = "../x";
    const std::vector<FileRecord> targets{file, tombstone("gone"), link};
    REQUIRE_OK(store->put_pending_targets("docs", targets));

    auto pending = store->pending_targets("docs");
    REQUIRE(pending);
    REQUIRE(pending->size() == 3);
    // Sorted by (parent, name): "" first, then "a".
    CHECK((*pending)[0] == tombstone("gone"));
    CHECK((*pending)[1] == file);
    CHECK((*pending)[2] == link);
    CHECK(pending_paths(*store, "other").empty());

    // A later note of the same path replaces the earlier one.
    FileRecord newer = file;
    newer.version.increment(ShortId{5});
    newer.chunks.pop_back();
    newer.size = 100;
    REQUIRE_OK(store->put_pending_targets("docs", std::vector<FileRecord>{newer}));
    pending = store->pending_targets("docs");
    REQUIRE(pending);
    REQUIRE(pending->size() == 3);
    CHECK((*pending)[1] == newer);

    const std::vector<std::string> drop{"gone", "not/noted"};
    REQUIRE_OK(store->drop_pending_targets("docs", drop));
    CHECK(pending_paths(*store, "docs") == std::vector<std::string>{"a/b.txt", "a/link"});

    auto bad = store->put_pending_targets("docs", std::vector<FileRecord>{dir_record("/abs")});
    CHECK_FALSE(bad);
    CHECK_FALSE(store->pending_targets("nope"));
}

TEST_CASE("store pending: storing a path's record drops its pending target, in the same folder only",
          "[store]") {
    auto store = open_store();
    add_folder(*store, "docs", "/d");
    add_folder(*store, "other", "/o");
    const std::vector<FileRecord> targets{dir_record("x"), dir_record("y"), dir_record("z")};
    REQUIRE_OK(store->put_pending_targets("docs", targets));
    REQUIRE_OK(store->put_pending_targets("other", targets));

    REQUIRE_OK(put(*store, "docs", {dir_record("y"), dir_record("unnoted")}));
    CHECK(pending_paths(*store, "docs") == std::vector<std::string>{"x", "z"});
    CHECK(pending_paths(*store, "other") == std::vector<std::string>{"x", "y", "z"});

    // A batch that fails keeps the notes with the old records.
    std::vector<FileUpdate> failing{FileUpdate{dir_record("x"), 0}, FileUpdate{dir_record("/bad"), 0}};
    CHECK_FALSE(store->put_files("docs", failing));
    CHECK(pending_paths(*store, "docs") == std::vector<std::string>{"x", "z"});

    // They go with their folder.
    REQUIRE_OK(store->remove_folder("other"));
    add_folder(*store, "other", "/o");
    CHECK(pending_paths(*store, "other").empty());
}

TEST_CASE("store pending: a schema-2 database is upgraded to hold pending targets", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    {
        auto db = sqlite::Database::open(path);
        REQUIRE(db);
        auto version = store::migrate(**db, 2);
        REQUIRE(version);
        CHECK(*version == 2);
        REQUIRE_OK((*db)->exec("INSERT INTO folders (folder_id, path, mode, sequence, index_id) "
                               "VALUES ('a', '/a', 0, 1, 77);",
                               "fill"));
        auto insert = (*db)->prepare(
            "INSERT INTO files VALUES (1, '', 'x', 1, 1, 0, 1, 493, 0, ?, '', 1, 7, 0)", "file");
        REQUIRE(insert);
        insert->bind_blob(1, version_of(7, 1).encode());
        REQUIRE_OK(insert->run());
    }
    CHECK(raw_text(path, "PRAGMA user_version") == "2");
    CHECK(raw_text(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'pending_targets'") == "0");

    auto store = open_store(path);
    CHECK(store->schema_version() == 3);
    CHECK(raw_text(path, "PRAGMA user_version") == "3");
    CHECK(*store->index_id("a") == 77);
    auto x = store->get_file("a", "x");
    REQUIRE(x);
    REQUIRE(x->has_value());
    CHECK((*x)->kind == FileKind::directory);
    CHECK((*x)->version == version_of(7, 1));
    REQUIRE_OK(store->put_pending_targets("a", std::vector<FileRecord>{dir_record("y")}));
    CHECK(pending_paths(*store, "a") == std::vector<std::string>{"y"});
    // The sequence of folder a continues where it was, and the note goes with the record.
    REQUIRE_OK(put(*store, "a", {dir_record("y")}));
    CHECK(store->get_file("a", "y")->value().sequence == Sequence{2});
    CHECK(pending_paths(*store, "a").empty());
}
