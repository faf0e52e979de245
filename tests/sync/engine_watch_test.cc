// Watched folders: a change is scanned and sent without anyone asking, and a
// file still being written is sent once, complete.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "engine_harness.hh"
#include "fs/watcher.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Two linked nodes in sync whose folders are watched with inotify.
struct WatchedPair {
    TestCluster cluster;
    Node& a = watched(cluster).add("a");
    Node& b = cluster.add("b");
    WatchedPair() {
        cluster.link(a, b);
        REQUIRE(cluster.settle());
    }

    // Nodes added from now on watch their folders.
    static TestCluster& watched(TestCluster& c) {
        c.tune_options = [](EngineOptions& options) {
            options.watch = [](const Folder& folder) { return watch_with_inotify(folder.path); };
            options.watch_delay = std::chrono::milliseconds(50);
        };
        return c;
    }
};

}  // namespace

TEST_CASE("engine watch: a change in a watched folder reaches the peer unasked", "[engine][watch]") {
    WatchedPair pair;
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
    WatchedPair pair;
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
