// Watched folders: a change is scanned and sent without anyone asking, and a
// file still being written is sent once, complete.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "engine_harness.hh"
#include "fs/watcher.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Nodes added to `c` from now on notice changes by inotify, or by polling
// (a rescan every 500 ms, as where there is no watcher).
TestCluster& watched(TestCluster& c, bool polled = false) {
    c.tune_options = [polled](EngineOptions& options) {
        if (polled) {
            options.rescan_interval = std::chrono::milliseconds(500);
            return;
        }
        options.watch = [](const Folder& folder) { return watch_with_inotify(folder.path); };
        options.watch_delay = std::chrono::milliseconds(50);
    };
    return c;
}

// Two linked nodes in sync whose folders are watched (or polled).
struct WatchedPair {
    explicit WatchedPair(bool polled = false)
        : a(watched(cluster, polled).add("a")), b(cluster.add("b")) {
        cluster.link(a, b);
        REQUIRE(cluster.settle());
    }
    TestCluster cluster;
    Node& a;
    Node& b;
};

}  // namespace

TEST_CASE("engine watch: a change in a watched folder reaches the peer unasked", "[engine][watch]") {
    const bool polled = GENERATE(false, true);
    INFO((polled ? "polled" : "watched"));
    WatchedPair pair(polled);
    TestCluster& cluster = pair.cluster;
    Node& a = pair.a;
    Node& b = pair.b;

    write_file(a.path("notes/today.txt"), "written on a\n");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("notes/today.txt")); },
                              std::chrono::seconds(10)));
    CHECK(read_file(b.path("notes/today.txt")) == "written on a\n");
    // Once b has recorded it (a delete racing sync's own write is undone by
    // the write), a delete on b goes back to a.
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));
    std::filesystem::remove(b.path("notes/today.txt"));
    REQUIRE(cluster.run_until([&] { return !std::filesystem::exists(a.path("notes/today.txt")); },
                              std::chrono::seconds(10)));
    CHECK(a.folder_status().problems.empty());
}

TEST_CASE("engine watch: a file written slowly is sent once, complete", "[engine][watch]") {
    // Watched with inotify, or polled as where there is no watcher.
    const bool polled = GENERATE(false, true);
    INFO((polled ? "polled" : "watched"));
    WatchedPair pair(polled);
    TestCluster& cluster = pair.cluster;
    Node& a = pair.a;
    Node& b = pair.b;

    const std::string content = random_bytes(5 * 65536, 3);
    std::thread writer([&] {
        std::ofstream out(a.path("slow.bin"), std::ios::binary);
        for (int i = 0; i < 5; ++i) {
            out.write(content.data() + i * 65536, 65536);
            out.flush();
            // Another file's change brings a scan while this one is open.
            if (i == 1) write_file(a.path("other.txt"), "done\n");
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
        }
    });
    bool partial_seen = false;
    const bool arrived = cluster.run_until(
        [&] {
            if (!std::filesystem::exists(b.path("slow.bin"))) return false;
            if (read_file(b.path("slow.bin")) != content) partial_seen = true;
            return !partial_seen;
        },
        std::chrono::seconds(20));
    writer.join();
    REQUIRE(arrived);
    CHECK(!partial_seen);
    auto record = a.store->get_file(kFolderId, "slow.bin");
    REQUIRE(record);
    REQUIRE(*record);
    CHECK((*record)->version.counter(a.id.short_id()) == 1);  // indexed once
}

namespace {

// A watcher the test speaks for: it reports what the test queues.
class ScriptedWatcher final : public Watcher {
public:
    struct Script {
        std::vector<WatchedChanges> queued;
        int write_end = -1;
        void report(WatchedChanges changes) {
            queued.push_back(std::move(changes));
            const char byte = 1;
            REQUIRE(::write(write_end, &byte, 1) == 1);
        }
    };

    explicit ScriptedWatcher(std::shared_ptr<Script> script) : m_script(std::move(script)) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0);
        m_read_end = fds[0];
        m_script->write_end = fds[1];
    }
    ~ScriptedWatcher() override {
        ::close(m_read_end);
        ::close(m_script->write_end);
    }
    int descriptor() const override { return m_read_end; }
    Result<WatchedChanges> read_changes() override {
        char drain[64];
        while (::read(m_read_end, drain, sizeof drain) > 0) {
        }
        WatchedChanges all;
        for (WatchedChanges& c : std::exchange(m_script->queued, {})) {
            all.paths.merge(c.paths);
            all.everything = all.everything || c.everything;
        }
        return all;
    }

private:
    std::shared_ptr<Script> m_script;
    int m_read_end = -1;
};

}  // namespace

TEST_CASE("engine watch: only reported paths are scanned; lost events bring a full scan",
          "[engine][watch]") {
    TestCluster cluster;
    auto script = std::make_shared<ScriptedWatcher::Script>();
    cluster.tune_options = [script](EngineOptions& options) {
        options.watch = [script](const Folder&) -> Result<std::unique_ptr<Watcher>> {
            return std::make_unique<ScriptedWatcher>(script);
        };
        options.watch_delay = std::chrono::milliseconds(10);
    };
    Node& a = cluster.add("a");
    cluster.tune_options = nullptr;
    Node& b = cluster.add("b");
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    const auto full_scan_time = [&] { return a.store->folder_stats(kFolderId).value().last_scan_ns; };
    const std::int64_t first_full_scan = full_scan_time();

    write_file(a.path("reported.txt"), "r\n");
    write_file(a.path("unreported.txt"), "u\n");
    script->report(WatchedChanges{{"reported.txt"}, false, {}});
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("reported.txt")); },
                              std::chrono::seconds(10)));
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));  // no rescans
    CHECK_FALSE(std::filesystem::exists(b.path("unreported.txt")));
    CHECK(full_scan_time() == first_full_scan);

    // The kernel's queue overflowed: what it lost is found by a full scan.
    script->report(WatchedChanges{{}, true, {}});
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("unreported.txt")); },
                              std::chrono::seconds(10)));
    CHECK(full_scan_time() > first_full_scan);
}

TEST_CASE("engine watch: sync's own writes are not scanned as changes nor sent back",
          "[engine][watch]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = watched(cluster).add("b");
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    const std::int64_t b_full_scan = b.store->folder_stats(kFolderId).value().last_scan_ns;

    write_file(a.path("dir/from-a.txt"), "a\n");
    write_file(a.path("top.txt"), "top\n");
    a.engine->request_scan(kFolderId);
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("dir/from-a.txt")); },
                              std::chrono::seconds(10)));
    // b's watcher saw the writes; give the scan they bring time to run.
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
    cluster.run_until([&] { return std::chrono::steady_clock::now() > until; },
                      std::chrono::seconds(2));
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));  // no rescans
    for (const char* path : {"dir", "dir/from-a.txt", "top.txt"}) {
        INFO(path);
        auto record = b.store->get_file(kFolderId, path);
        REQUIRE(record);
        REQUIRE(*record);
        CHECK((*record)->version.counter(b.id.short_id()) == 0);  // not b's change
    }
    CHECK(b.store->folder_stats(kFolderId).value().last_scan_ns == b_full_scan);  // no full scan
}
