// What the folder writer and the versions area leave after a power cut
// (MemoryFilesystem::power_cut): once a change returns, the engine stores
// its record, so the change must be durable: the entry, its mode and mtime,
// the directories made for it, and the version kept of what it replaced.
#include <algorithm>

#include "sync/folder_writer.hh"
#include "sync/versions.hh"
#include "writer_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr std::int64_t kMtime = 1'650'000'000'000'000'000;

// The contents of every version kept of `path`.
std::vector<std::string> kept_contents(Filesystem& fs, Versions& versions, std::string_view path) {
    auto listed = versions.list(path);
    REQUIRE(listed);
    std::vector<std::string> out;
    for (const StoredVersion& v : *listed) out.push_back(read_all(fs, v.version_path));
    return out;
}

// A folder the user made and synced: dir/f.txt holds "old".
void durable_tree(MemoryFilesystem& fs) {
    REQUIRE(fs.make_dir("dir", 0755));
    put(fs, "dir/f.txt", "old");
    fs.make_all_durable();
}

// A symlink's record.
FileRecord symlink_record(std::string path, std::string target) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::symlink;
    r.symlink_target = std::move(target);
    return r;
}

FileRecord directory_record(std::string path, std::uint32_t mode) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::directory;
    r.mode = mode;
    return r;
}

}  // namespace

TEST_CASE("power cut: what sync replaces or removes is kept as a durable version", "[writer][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    Writer w(fs);
    // What each change leaves at dir/f.txt once it returned.
    std::string expected;

    SECTION("remove") {
        REQUIRE(w.writer.remove("dir/f.txt"));
    }
    SECTION("rename over it") {
        put(fs, "dir/g.txt", "new");
        fs.make_all_durable();
        REQUIRE(w.writer.rename("dir/g.txt", file_record("dir/f.txt", "new", 0644, fs.lstat("dir/g.txt")->mtime_ns)));
        expected = "new";
    }
    SECTION("a symlink in its place") {
        REQUIRE(w.writer.make_symlink(symlink_record("dir/f.txt", "elsewhere")));
        CHECK(fs.read_link("dir/f.txt").value() == "elsewhere");
    }
    SECTION("a directory in its place") {
        REQUIRE(w.writer.make_directory(directory_record("dir/f.txt", 0755)));
        CHECK(fs.lstat("dir/f.txt")->kind == EntryKind::directory);
    }
    SECTION("a conflict copy over it") {
        put(fs, "dir/mine.txt", "mine");
        fs.make_all_durable();
        REQUIRE(w.writer.keep_conflict_copy("dir/mine.txt", "dir/f.txt"));
        expected = "mine";
    }
    SECTION("a restore over it") {
        put(fs, "dir/f.txt", "older");
        const std::string version = w.versions.keep("dir/f.txt", kNow - kDay).value();
        put(fs, "dir/f.txt", "old");
        fs.make_all_durable();
        REQUIRE(w.versions.restore(version, "dir/f.txt", kNow));
        expected = "older";
    }
    SECTION("a received file published over it, flushed as the engine does") {
        const FileRecord target = file_record("dir/f.txt", "new", 0644, kMtime);
        auto assembly = w.begin(target);
        REQUIRE(assembly->put_chunk(0, as_bytes("new")));
        REQUIRE(assembly->finish());
        const std::vector<std::string> data{assembly->temporary_path()};
        REQUIRE(fs.sync_paths(data));
        auto published = assembly->publish();
        REQUIRE(published);
        CHECK(!published->kept_version.empty());
        const std::vector<std::string> names{target.path, published->kept_version};
        REQUIRE(fs.sync_paths(names));
        expected = "new";
    }
    fs.power_cut();
    if (expected.empty()) {
        CHECK((!exists(fs, "dir/f.txt") || fs.lstat("dir/f.txt")->kind != EntryKind::file));
    } else {
        CHECK(read_all(fs, "dir/f.txt") == expected);
    }
    const auto kept = kept_contents(fs, w.versions, "dir/f.txt");
    CHECK(std::find(kept.begin(), kept.end(), "old") != kept.end());
}

TEST_CASE("power cut: directories sync makes survive with what is in them", "[writer][power]") {
    MemoryFilesystem fs;
    fs.make_all_durable();
    Writer w(fs);

    SECTION("the parents of a received file") {
        const FileRecord target = file_record("new/sub/f.txt", "content", 0640, kMtime);
        auto assembly = w.begin(target);
        REQUIRE(assembly->put_chunk(0, as_bytes("content")));
        REQUIRE(w.commit(*assembly));
        const std::vector<std::string> names{target.path};
        REQUIRE(fs.sync_paths(names));
        fs.power_cut();
        CHECK(read_all(fs, "new/sub/f.txt") == "content");
        CHECK(fs.lstat("new/sub/f.txt")->mode == 0640);
        CHECK(fs.lstat("new/sub/f.txt")->mtime_ns == kMtime);
    }
    SECTION("a directory and its missing parents") {
        REQUIRE(w.writer.make_directory(directory_record("a/b/c", 0700)));
        fs.power_cut();
        REQUIRE(exists(fs, "a/b/c"));
        CHECK(fs.lstat("a/b/c")->mode == 0700);
    }
    SECTION("a symlink's missing parents") {
        REQUIRE(w.writer.make_symlink(symlink_record("x/y/link", "t")));
        fs.power_cut();
        CHECK(fs.read_link("x/y/link").value() == "t");
    }
    SECTION("a restore into a directory that is gone") {
        REQUIRE(fs.make_dir("gone", 0755));
        put(fs, "gone/f.txt", "kept");
        const std::string version = w.versions.keep("gone/f.txt", kNow).value();
        REQUIRE(fs.remove("gone"));
        fs.make_all_durable();
        REQUIRE(w.versions.restore(version, "gone/f.txt", kNow));
        fs.power_cut();
        CHECK(read_all(fs, "gone/f.txt") == "kept");
    }
}

TEST_CASE("power cut: modes and mtimes sync sets are kept", "[writer][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    REQUIRE(fs.make_dir("d", 0755));
    fs.make_all_durable();
    Writer w(fs);
    const FileRecord file = file_record("dir/f.txt", "old", 0600, kMtime);

    SECTION("set_metadata of a file") {
        REQUIRE(w.writer.set_metadata(file));
        fs.power_cut();
        CHECK(fs.lstat("dir/f.txt")->mode == 0600);
        CHECK(fs.lstat("dir/f.txt")->mtime_ns == kMtime);
    }
    SECTION("set_metadata of a directory") {
        REQUIRE(w.writer.set_metadata(directory_record("d", 0700)));
        fs.power_cut();
        CHECK(fs.lstat("d")->mode == 0700);
    }
    SECTION("make_directory of one that is there") {
        REQUIRE(w.writer.make_directory(directory_record("d", 0750)));
        fs.power_cut();
        CHECK(fs.lstat("d")->mode == 0750);
    }
    SECTION("several at once, one flush") {
        const FileRecord dir = directory_record("d", 0700);
        const FileRecord* const targets[] = {&file, &dir};
        auto stats = w.writer.set_metadata(targets);
        REQUIRE(stats);
        REQUIRE(stats->size() == 2);
        CHECK((*stats)[0].mode == 0600);
        CHECK((*stats)[1].mode == 0700);
        fs.power_cut();
        CHECK(fs.lstat("dir/f.txt")->mode == 0600);
        CHECK(fs.lstat("dir/f.txt")->mtime_ns == kMtime);
        CHECK(fs.lstat("d")->mode == 0700);
    }
    SECTION("a renamed file") {
        FileRecord moved = file;
        moved.path = "d/g.txt";
        REQUIRE(w.writer.rename("dir/f.txt", moved));
        fs.power_cut();
        CHECK(!exists(fs, "dir/f.txt"));
        CHECK(read_all(fs, "d/g.txt") == "old");
        CHECK(fs.lstat("d/g.txt")->mode == 0600);
        CHECK(fs.lstat("d/g.txt")->mtime_ns == kMtime);
    }
    SECTION("a restored file") {
        REQUIRE(fs.set_mode("dir/f.txt", 0640));
        REQUIRE(fs.set_mtime("dir/f.txt", kMtime));
        const std::string version = w.versions.keep("dir/f.txt", kNow).value();
        fs.make_all_durable();
        REQUIRE(w.versions.restore(version, "dir/f.txt", kNow));
        fs.power_cut();
        CHECK(read_all(fs, "dir/f.txt") == "old");
        CHECK(fs.lstat("dir/f.txt")->mode == 0640);
        CHECK(fs.lstat("dir/f.txt")->mtime_ns == kMtime);
    }
}
