// MemoryFilesystem::power_cut(): what a power cut keeps, by the rules at the
// top of fs/memory_filesystem.hh.
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fs/memory_filesystem.hh"

using namespace ferry;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// Writes `content` through an open file, synced or not.
void write(MemoryFilesystem& fs, std::string_view path, std::string_view content, bool sync) {
    auto file = fs.open_write(path, 0644);
    REQUIRE(file);
    REQUIRE((*file)->write_at(0, bytes(content)));
    if (sync) REQUIRE((*file)->sync());
}

bool exists(MemoryFilesystem& fs, std::string_view path) { return static_cast<bool>(fs.lstat(path)); }

std::string contents(MemoryFilesystem& fs, std::string_view path) {
    auto data = fs.contents(path);
    if (!data) FAIL(data.error().message);
    return *data;
}

// A tree the "user" made and synced: d/old holds "old".
void durable_tree(MemoryFilesystem& fs) {
    REQUIRE(fs.make_dir("d", 0755));
    write(fs, "d/old", "old", false);
    fs.make_all_durable();
}

}  // namespace

TEST_CASE("power cut: a new filesystem keeps nothing until made durable", "[fs][power]") {
    MemoryFilesystem fs;
    REQUIRE(fs.make_dir("d", 0700));
    write(fs, "d/f", "data", false);
    fs.power_cut();
    CHECK(!exists(fs, "d"));
    CHECK(fs.list_dir("").value().empty());

    REQUIRE(fs.make_dir("d", 0700));
    write(fs, "d/f", "data", false);
    fs.make_all_durable();
    fs.power_cut();
    CHECK(contents(fs, "d/f") == "data");
    CHECK(fs.lstat("d")->mode == 0700);
}

TEST_CASE("power cut: a write without sync is lost", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    const FileStat before = fs.lstat("d/old").value();

    SECTION("an overwrite reverts to the synced contents, size, mode and mtime") {
        auto file = fs.open_write("d/old", 0600);
        REQUIRE(file);
        REQUIRE((*file)->write_at(0, bytes("new, longer")));
        REQUIRE((*file)->set_mtime(before.mtime_ns + 1000));
        fs.power_cut();
        const FileStat after = fs.lstat("d/old").value();
        CHECK(contents(fs, "d/old") == "old");
        CHECK(after.size == 3);
        CHECK(after.mode == 0644);
        CHECK(after.mtime_ns == before.mtime_ns);
        CHECK(after.inode == before.inode);
    }
    SECTION("a new file whose name is durable comes back empty") {
        write(fs, "d/new", "data", false);
        REQUIRE(fs.sync_dir("d"));
        fs.power_cut();
        CHECK(contents(fs, "d/new").empty());
    }
    SECTION("mode and mtime set by path revert; sync_paths keeps them") {
        REQUIRE(fs.set_mode("d/old", 0600));
        REQUIRE(fs.set_mtime("d/old", 42));
        fs.power_cut();
        CHECK(fs.lstat("d/old")->mode == 0644);
        CHECK(fs.lstat("d/old")->mtime_ns == before.mtime_ns);
        REQUIRE(fs.set_mode("d/old", 0600));
        REQUIRE(fs.set_mtime("d/old", 42));
        REQUIRE(fs.sync_paths(std::vector<std::string>{"d/old"}));
        fs.power_cut();
        CHECK(fs.lstat("d/old")->mode == 0600);
        CHECK(fs.lstat("d/old")->mtime_ns == 42);
    }
}

TEST_CASE("power cut: a synced file whose new name was not synced is lost", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    write(fs, "d/new", "data", true);
    REQUIRE(fs.make_dir("d/sub", 0755));
    REQUIRE(fs.make_symlink("target", "d/link"));
    fs.power_cut();
    CHECK(!exists(fs, "d/new"));
    CHECK(!exists(fs, "d/sub"));
    CHECK(!exists(fs, "d/link"));
    CHECK(contents(fs, "d/old") == "old");

    // Each made again, and d synced: all kept.
    write(fs, "d/new", "data", true);
    REQUIRE(fs.make_dir("d/sub", 0755));
    REQUIRE(fs.make_symlink("target", "d/link"));
    REQUIRE(fs.sync_dir("d"));
    fs.power_cut();
    CHECK(contents(fs, "d/new") == "data");
    CHECK(fs.lstat("d/sub")->kind == EntryKind::directory);
    CHECK(fs.read_link("d/link").value() == "target");
}

TEST_CASE("power cut: a name in a directory a power cut takes back is lost with it", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    REQUIRE(fs.make_dir("d/sub", 0755));
    write(fs, "d/sub/f", "data", true);
    REQUIRE(fs.sync_dir("d/sub"));  // sub's entries, but not sub's own name in d
    fs.power_cut();
    CHECK(!exists(fs, "d/sub"));

    REQUIRE(fs.make_dir("d/sub", 0755));
    write(fs, "d/sub/f", "data", true);
    REQUIRE(fs.sync_dir("d/sub"));
    REQUIRE(fs.sync_dir("d"));
    fs.power_cut();
    CHECK(contents(fs, "d/sub/f") == "data");
}

TEST_CASE("power cut: a rename without sync_dir of the target's directory reverts", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    const std::uint64_t old_inode = fs.lstat("d/old")->inode;
    write(fs, "d/tmp", "new", true);
    REQUIRE(fs.sync_dir("d"));
    REQUIRE(fs.rename("d/tmp", "d/old"));
    CHECK(contents(fs, "d/old") == "new");
    fs.power_cut();
    // The renamed-over file is back, and so is the temporary name.
    CHECK(contents(fs, "d/old") == "old");
    CHECK(fs.lstat("d/old")->inode == old_inode);
    CHECK(contents(fs, "d/tmp") == "new");
}

TEST_CASE("power cut: temporary file, sync, rename, sync_dir survives (the writer's path)", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    auto file = fs.open_update("d/.tmp", 0600);
    REQUIRE(file);
    REQUIRE((*file)->write_at(0, bytes("received")));
    REQUIRE((*file)->set_mode(0640));
    REQUIRE((*file)->set_mtime(1'700'000'000'000'000'001));
    REQUIRE((*file)->sync());
    const FileStat synced = (*file)->stat().value();
    file->reset();
    REQUIRE(fs.rename("d/.tmp", "d/old"));

    SECTION("with sync_dir") { REQUIRE(fs.sync_dir("d")); }
    SECTION("with sync_paths of the new name") { REQUIRE(fs.sync_paths(std::vector<std::string>{"d/old"})); }

    fs.power_cut();
    CHECK(!exists(fs, "d/.tmp"));
    CHECK(contents(fs, "d/old") == "received");
    const FileStat after = fs.lstat("d/old").value();
    CHECK(after.inode == synced.inode);
    CHECK(after.mode == 0640);
    CHECK(after.mtime_ns == synced.mtime_ns);
}

TEST_CASE("power cut: sync_paths makes a new file and its name durable", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    write(fs, "d/new", "data", false);
    REQUIRE(fs.sync_paths(std::vector<std::string>{"d/new"}));
    write(fs, "d/later", "x", false);  // after the sync: lost
    fs.power_cut();
    CHECK(contents(fs, "d/new") == "data");
    CHECK(!exists(fs, "d/later"));
}

TEST_CASE("power cut: a remove without sync_dir reverts", "[fs][power]") {
    MemoryFilesystem fs;
    REQUIRE(fs.make_dir("d", 0755));
    REQUIRE(fs.make_dir("d/empty", 0755));
    write(fs, "d/old", "old", false);
    fs.make_all_durable();
    REQUIRE(fs.remove("d/old"));
    REQUIRE(fs.remove("d/empty"));
    fs.power_cut();
    CHECK(contents(fs, "d/old") == "old");
    CHECK(exists(fs, "d/empty"));

    REQUIRE(fs.remove("d/old"));
    REQUIRE(fs.remove("d/empty"));
    REQUIRE(fs.sync_dir("d"));
    fs.power_cut();
    CHECK(!exists(fs, "d/old"));
    CHECK(!exists(fs, "d/empty"));
}

TEST_CASE("power cut: a rename between directories is durable on each side by its own sync", "[fs][power]") {
    MemoryFilesystem fs;
    REQUIRE(fs.make_dir("a", 0755));
    REQUIRE(fs.make_dir("b", 0755));
    write(fs, "a/f", "data", false);
    fs.make_all_durable();
    const std::uint64_t inode = fs.lstat("a/f")->inode;
    REQUIRE(fs.rename("a/f", "b/f"));

    SECTION("only the source synced: the file is named nowhere") {
        REQUIRE(fs.sync_dir("a"));
        fs.power_cut();
        CHECK(!exists(fs, "a/f"));
        CHECK(!exists(fs, "b/f"));
    }
    SECTION("only the target synced: one file under both names") {
        REQUIRE(fs.sync_dir("b"));
        fs.power_cut();
        CHECK(fs.lstat("a/f")->inode == inode);
        CHECK(fs.lstat("b/f")->inode == inode);
    }
    SECTION("both synced: moved") {
        REQUIRE(fs.sync_dir("a"));
        REQUIRE(fs.sync_dir("b"));
        fs.power_cut();
        CHECK(!exists(fs, "a/f"));
        CHECK(contents(fs, "b/f") == "data");
        CHECK(fs.lstat("b/f")->inode == inode);
    }
}

TEST_CASE("power cut: directories named twice by durable entries stay a tree", "[fs][power]") {
    // Durable state where x holds y and y holds x: each directory is kept
    // once, at its first name in a breadth-first walk.
    MemoryFilesystem fs;
    REQUIRE(fs.make_dir("x", 0755));
    REQUIRE(fs.make_dir("y", 0755));
    fs.make_all_durable();
    REQUIRE(fs.rename("x", "y/x"));
    REQUIRE(fs.sync_dir("y"));  // y: {x}
    REQUIRE(fs.rename("y/x", "x"));
    REQUIRE(fs.rename("y", "x/y"));
    REQUIRE(fs.sync_dir("x"));  // x: {y}; the root still durably holds x and y
    fs.power_cut();
    const auto root = fs.list_dir("");
    REQUIRE(root);
    std::vector<std::string> names;
    for (const auto& e : *root) names.push_back(e.name);
    std::sort(names.begin(), names.end());
    CHECK(names == std::vector<std::string>{"x", "y"});
    CHECK(fs.list_dir("x").value().empty());
    CHECK(fs.list_dir("y").value().empty());
    // What the power cut left is durable as it is.
    fs.power_cut();
    CHECK(fs.list_dir("").value().size() == 2);
}

TEST_CASE("power cut: files opened before it are dead", "[fs][power]") {
    MemoryFilesystem fs;
    durable_tree(fs);
    auto writer = fs.open_update("d/old", 0644);
    auto reader = fs.open_read("d/old");
    REQUIRE(writer);
    REQUIRE(reader);
    REQUIRE((*writer)->write_at(0, bytes("NEW")));
    fs.power_cut();

    const auto written = (*writer)->write_at(0, bytes("again"));
    REQUIRE(!written);
    CHECK(written.error().code == Errc::io);
    CHECK_THAT(written.error().message, Catch::Contains("d/old") && Catch::Contains("power cut"));
    CHECK((*writer)->sync().error().code == Errc::io);
    CHECK((*writer)->truncate(0).error().code == Errc::io);
    CHECK((*writer)->set_mode(0600).error().code == Errc::io);
    CHECK((*writer)->stat().error().code == Errc::io);
    std::vector<std::uint8_t> buf(8);
    CHECK((*reader)->read_at(0, buf).error().code == Errc::io);
    CHECK(contents(fs, "d/old") == "old");
    fs.power_cut();
    CHECK(contents(fs, "d/old") == "old");

    // Files opened after it work.
    auto fresh = fs.open_read("d/old");
    REQUIRE(fresh);
    CHECK((*fresh)->read_at(0, buf).value() == 3);
}

TEST_CASE("power cut: many files made, synced and removed", "[fs][power]") {
    // Enough nodes that forgotten ones are collected several times; the
    // removed files are still named by durable entries and must come back.
    MemoryFilesystem fs;
    REQUIRE(fs.make_dir("d", 0755));
    fs.make_all_durable();
    constexpr int kFiles = 300;
    for (int i = 0; i < kFiles; ++i) write(fs, "d/f" + std::to_string(i), std::to_string(i), true);
    REQUIRE(fs.sync_dir("d"));
    for (int i = 0; i < kFiles; i += 2) REQUIRE(fs.remove("d/f" + std::to_string(i)));
    for (int i = 0; i < kFiles; ++i) write(fs, "d/tmp" + std::to_string(i), "t", false);  // lost
    for (int i = 0; i < kFiles; ++i) REQUIRE(fs.remove("d/tmp" + std::to_string(i)));
    fs.power_cut();
    REQUIRE(fs.list_dir("d").value().size() == kFiles);
    for (int i = 0; i < kFiles; ++i) CHECK(contents(fs, "d/f" + std::to_string(i)) == std::to_string(i));
}
