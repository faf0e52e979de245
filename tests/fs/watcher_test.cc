// The inotify watcher on real temporary folders: changes anywhere in the
// tree are reported, new and moved directories are watched at once, ferry's
// own paths never are.
#include <poll.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>

#include <catch2/catch.hpp>

#include "fs/watcher.hh"
#include "temp_dir.hh"

using namespace ferry;
using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

void write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

// Reads changes until `done` holds for what was gathered, or 5 s pass.
WatchedChanges gather(Watcher& watcher, const std::function<bool(const WatchedChanges&)>& done) {
    WatchedChanges all;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!done(all) && std::chrono::steady_clock::now() < deadline) {
        pollfd waiting{watcher.descriptor(), POLLIN, 0};
        ::poll(&waiting, 1, 50);
        auto changes = watcher.read_changes();
        REQUIRE(changes);
        all.paths.insert(changes->paths.begin(), changes->paths.end());
        all.everything = all.everything || changes->everything;
        all.writing = changes->writing;  // a snapshot, not a history
    }
    return all;
}

bool has(const WatchedChanges& changes, std::initializer_list<const char*> paths) {
    for (const char* path : paths)
        if (changes.paths.count(path) == 0) return false;
    return true;
}

}  // namespace

TEST_CASE("inotify watcher: changes anywhere in the tree are reported", "[watcher]") {
    TempDir dir;
    fs::create_directories(dir / "a/b");
    write(dir / "a/b/old.txt", "old");
    write(dir / "top.txt", "top");
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    auto nothing = (*watcher)->read_changes();
    REQUIRE(nothing);
    CHECK(nothing->paths.empty());

    write(dir / "a/b/new.txt", "new");
    write(dir / "top.txt", "changed");
    fs::remove(dir / "a/b/old.txt");
    fs::permissions(dir / "a", fs::perms(0700));
    const auto seen = gather(**watcher, [](const WatchedChanges& c) {
        return has(c, {"a/b/new.txt", "top.txt", "a/b/old.txt", "a"});
    });
    CHECK(has(seen, {"a/b/new.txt", "top.txt", "a/b/old.txt", "a"}));
    CHECK(!seen.everything);

    fs::rename(dir / "top.txt", dir / "a/moved.txt");
    const auto moved = gather(**watcher, [](const WatchedChanges& c) {
        return has(c, {"top.txt", "a/moved.txt"});
    });
    CHECK(has(moved, {"top.txt", "a/moved.txt"}));
}

TEST_CASE("inotify watcher: a new directory is watched at once, with what it already holds",
          "[watcher]") {
    TempDir dir;
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    // Made and filled faster than any watch could be added for it.
    fs::create_directories(dir / "n/m/k");
    write(dir / "n/m/k/f.txt", "deep");
    const auto made = gather(**watcher, [](const WatchedChanges& c) {
        return has(c, {"n", "n/m/k/f.txt"});
    });
    CHECK(has(made, {"n", "n/m/k/f.txt"}));

    // Its subdirectories are watched too.
    gather(**watcher, [](const WatchedChanges&) { return false; });  // drain
    write(dir / "n/m/k/later.txt", "later");
    CHECK(has(gather(**watcher, [](const WatchedChanges& c) { return has(c, {"n/m/k/later.txt"}); }),
              {"n/m/k/later.txt"}));
}

TEST_CASE("inotify watcher: a moved directory is watched under its new name", "[watcher]") {
    TempDir dir;
    fs::create_directories(dir / "from/sub");
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    fs::rename(dir / "from", dir / "to");
    CHECK(has(gather(**watcher, [](const WatchedChanges& c) { return has(c, {"from", "to"}); }),
              {"from", "to", "to/sub"}));
    write(dir / "to/sub/x.txt", "x");
    const auto after = gather(**watcher, [](const WatchedChanges& c) { return has(c, {"to/sub/x.txt"}); });
    CHECK(has(after, {"to/sub/x.txt"}));
    CHECK(after.paths.count("from/sub/x.txt") == 0);

    // Moved out of the folder: no longer reported.
    TempDir outside;
    fs::rename(dir / "to", outside / "gone");
    gather(**watcher, [](const WatchedChanges& c) { return has(c, {"to"}); });
    write(outside / "gone/sub/y.txt", "y");
    write(dir / "marker", "m");
    const auto last = gather(**watcher, [](const WatchedChanges& c) { return has(c, {"marker"}); });
    CHECK(last.paths.count("to/sub/y.txt") == 0);
}

TEST_CASE("inotify watcher: ferry's own paths are never reported", "[watcher]") {
    TempDir dir;
    fs::create_directories(dir / ".ferry/versions");
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    write(dir / ".ferry/versions/v", "kept");
    write(dir / ".ferry-tmp.file.txt.0123456789abcdef", "partial");
    write(dir / "real.txt", "real");
    const auto seen = gather(**watcher, [](const WatchedChanges& c) { return has(c, {"real.txt"}); });
    CHECK(seen.paths == std::set<std::string>{"real.txt"});
}

TEST_CASE("inotify watcher: a burst of 10,000 files is reported in full", "[watcher]") {
    TempDir dir;
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    fs::create_directories(dir / "burst");
    for (int i = 0; i < 10'000; ++i) write(dir / ("burst/f" + std::to_string(i)), "x");
    const auto seen = gather(**watcher, [](const WatchedChanges& c) {
        return c.everything || c.paths.size() >= 10'001;
    });
    // Either every file, or (queue overflow) a request to rescan everything.
    CHECK((seen.everything || seen.paths.size() == 10'001));
}

TEST_CASE("inotify watcher: a folder that cannot be watched is refused", "[watcher]") {
    TempDir dir;
    auto missing = watch_with_inotify(dir / "missing");
    // The root itself must be watchable: a vanished root is not silently "nothing changed".
    REQUIRE(!missing);
}

TEST_CASE("inotify watcher: a file being written is reported once closed, or once quiet",
          "[watcher]") {
    TempDir dir;
    auto watcher = watch_with_inotify(dir.path());
    REQUIRE(watcher);
    {
        std::ofstream slow(dir / "slow.bin", std::ios::binary);
        for (int i = 0; i < 3; ++i) {
            slow << std::string(4096, 'x') << std::flush;
            const auto now = gather(**watcher, [](const WatchedChanges& c) { return !c.writing.empty(); });
            CHECK(now.paths.count("slow.bin") == 0);
            CHECK(now.writing.count("slow.bin") == 1);
        }
    }  // closed
    const auto closed = gather(**watcher, [](const WatchedChanges& c) { return has(c, {"slow.bin"}); });
    CHECK(has(closed, {"slow.bin"}));
    CHECK(closed.writing.empty());

    // Written, kept open and quiet: settled after kSettleTime.
    std::ofstream open_log(dir / "log.txt", std::ios::binary);
    open_log << "line\n" << std::flush;
    const auto start = std::chrono::steady_clock::now();
    const auto quiet = gather(**watcher, [](const WatchedChanges& c) { return has(c, {"log.txt"}); });
    CHECK(has(quiet, {"log.txt"}));
    CHECK(std::chrono::steady_clock::now() - start >= kSettleTime);
}
