// FaultInjectingFilesystem's crash points, alone and with
// MemoryFilesystem::power_cut().
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <vector>

#include "fs/fault_filesystem.hh"
#include "fs/memory_filesystem.hh"

using namespace ferry;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

// The atomic replacement of d/f: a temporary file, written and synced,
// renamed over it, the directory synced. Stops at the first failure.
Result<void> replace_atomically(Filesystem& fs, std::string_view content) {
    auto file = fs.open_write("d/f.tmp", 0644);
    if (!file) return tl::unexpected(file.error());
    if (auto r = (*file)->write_at(0, bytes(content)); !r) return r;
    if (auto r = (*file)->sync(); !r) return r;
    file->reset();
    if (auto r = fs.rename("d/f.tmp", "d/f"); !r) return r;
    return fs.sync_dir("d");
}

}  // namespace

TEST_CASE("crash point: calls are numbered, and after the n-th the device is dead", "[fs][crash]") {
    MemoryFilesystem inner;
    FaultInjectingFilesystem fs(inner);
    REQUIRE(fs.make_dir("a", 0755));  // 1
    auto file = fs.open_write("a/f", 0644);  // 2
    REQUIRE(file);
    REQUIRE((*file)->write_at(0, bytes("x")));  // 3
    REQUIRE((*file)->stat());  // 4
    REQUIRE(fs.sync_paths(std::vector<std::string>{"a", "a/f"}));  // 5: one call for both paths
    CHECK(fs.calls() == 5);
    CHECK(fs.count(FsOp::sync_paths) == 2);  // the rules are still asked per path

    int crashes = 0;
    bool saw_third = false;
    fs.crash_after(3, [&] {
        ++crashes;
        saw_third = fs.crashed() && inner.lstat("c").has_value();  // the n-th call did run
    });
    REQUIRE(fs.make_dir("b", 0755));
    CHECK(fs.lstat("b"));
    CHECK(!fs.crashed());
    REQUIRE(fs.make_dir("c", 0755));  // the 3rd: runs, then the device dies
    CHECK(crashes == 1);
    CHECK(saw_third);
    CHECK(fs.crashed());
    CHECK(fs.calls() == 8);

    const auto refused = fs.make_dir("d", 0755);
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::io);
    CHECK_THAT(refused.error().message, Catch::Contains("d: injected crash"));
    CHECK(!inner.lstat("d"));
    CHECK(fs.lstat("a").error().code == Errc::io);
    CHECK((*file)->write_at(0, bytes("yy")).error().code == Errc::io);  // opened before: dead too
    CHECK((*file)->stat().error().code == Errc::io);
    CHECK(inner.contents("a/f").value() == "x");
    CHECK(fs.sync_paths(std::vector<std::string>{"a"}).error().code == Errc::io);
    CHECK(fs.calls() == 8);  // a dead device counts nothing
    CHECK(fs.count(FsOp::make_dir) == 3);
    CHECK(crashes == 1);

    fs.revive();
    CHECK(!fs.crashed());
    REQUIRE(fs.make_dir("d", 0755));
    REQUIRE((*file)->write_at(0, bytes("yy")));
    CHECK(fs.calls() == 10);
}

TEST_CASE("crash point: 0 kills the device at once", "[fs][crash]") {
    MemoryFilesystem inner;
    FaultInjectingFilesystem fs(inner);
    bool called = false;
    fs.crash_after(0, [&] { called = true; });
    CHECK(called);
    CHECK(fs.crashed());
    CHECK(!fs.list_dir(""));
    CHECK(!fs.open_write("f", 0644));
    CHECK(!inner.lstat("f"));
    CHECK(fs.calls() == 0);
}

TEST_CASE("crash point: an atomic replacement cut after each call in turn leaves old or new",
          "[fs][crash][power]") {
    auto durable_old = [](MemoryFilesystem& mem) {
        REQUIRE(mem.make_dir("d", 0755));
        REQUIRE(write_whole_file(mem, "d/f", bytes("old")));
        mem.make_all_durable();
    };
    std::uint64_t total = 0;
    {
        MemoryFilesystem mem;
        durable_old(mem);
        FaultInjectingFilesystem fs(mem);
        REQUIRE(replace_atomically(fs, "new"));
        total = fs.calls();
    }
    REQUIRE(total == 5);
    std::set<std::string> outcomes;
    for (std::uint64_t n = 0; n <= total; ++n) {
        INFO("crash after call " << n);
        MemoryFilesystem mem;
        durable_old(mem);
        FaultInjectingFilesystem fs(mem);
        fs.crash_after(n, [&] { mem.power_cut(); });
        CHECK(static_cast<bool>(replace_atomically(fs, "new")) == (n == total));
        CHECK(fs.crashed());
        auto after = mem.contents("d/f");
        REQUIRE(after);
        CHECK((*after == "old" || *after == "new"));
        outcomes.insert(*after);
        // Only the last call (the directory's sync) makes the rename durable.
        CHECK((*after == "new") == (n == total));
    }
    CHECK(outcomes == std::set<std::string>{"old", "new"});
}
