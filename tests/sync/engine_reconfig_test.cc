// The cluster changing while connected: a fresh ClusterConfig goes out on the
// open connections, and folders added or removed on one device start or stop
// being exchanged without reconnecting.
#include <atomic>
#include <filesystem>
#include <memory>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr const char* kLater = "later";

std::optional<FolderStatus> status_of(const Node& node, const std::string& id) {
    for (const FolderStatus& folder : node.engine->status().folders)
        if (folder.id == id) return folder;
    return std::nullopt;
}

bool idle(const Node& node, const std::string& id) {
    auto folder = status_of(node, id);
    return folder && folder->state == "idle";
}

void add_folder(Node& node, const std::string& id, const std::string& path) {
    REQUIRE(node.store->add_folder(Folder{id, path, FolderMode::send_receive}));
    REQUIRE(node.engine->reload_folders());
}

std::uint64_t configs_sent(const PipeEnd& end) {
    auto it = end.counters().messages.find(wire::MessageType::cluster_config);
    return it == end.counters().messages.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("engine reconfig: a folder added after connecting syncs on the same connection",
          "[engine][reconfig]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    auto [end_a, end_b] = cluster.link(a, b);
    REQUIRE(cluster.settle());

    TempDir later_a;
    TempDir later_b;
    write_file(later_b / "from-b.txt", "b's\n");
    add_folder(b, kLater, later_b.path());  // a does not have it yet
    REQUIRE(cluster.run_until([&] { return idle(b, kLater); }));

    write_file(later_a / "from-a.txt", "a's\n");
    add_folder(a, kLater, later_a.path());
    REQUIRE(cluster.run_until([&] {
        return std::filesystem::exists(later_a / "from-b.txt") &&
               std::filesystem::exists(later_b / "from-a.txt");
    }));
    CHECK(read_file(later_a / "from-b.txt") == "b's\n");
    CHECK(read_file(later_b / "from-a.txt") == "a's\n");
    CHECK(end_a->is_open());
    CHECK(end_b->is_open());
    CHECK(configs_sent(*end_a) >= 2);  // the first, and one for the new folder
    CHECK(configs_sent(*end_b) >= 2);
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));
    auto folder = status_of(a, kLater);
    REQUIRE(folder);
    REQUIRE(folder->devices.size() == 1);
    CHECK(folder->devices[0].device == b.id);
}

// Holds the workers of a pool until released, so a test decides the order
// in which offloaded work runs (one freed worker takes the queue in order).
// The count is shared with the held tasks: one that starts late, after the
// gate is gone, finds it open.
class PoolGate {
public:
    PoolGate(asio::thread_pool& pool, int workers) {
        for (int i = 0; i < workers; ++i)
            asio::post(pool, [open = m_open] {
                while (open->fetch_sub(1) <= 0) {
                    open->fetch_add(1);
                    std::this_thread::yield();
                }
            });
    }
    ~PoolGate() { *m_open += 1000; }  // never leave a worker held
    void release_one() { ++*m_open; }

private:
    std::shared_ptr<std::atomic<int>> m_open = std::make_shared<std::atomic<int>>(0);
};

TEST_CASE("engine reconfig: a new folder's index goes out only after the config that shares it",
          "[engine][reconfig]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    auto [end_a, end_b] = cluster.link(a, b);
    REQUIRE(cluster.settle());
    // What a sends, in order: an index update of a folder its configs have
    // not named yet would be dropped by b as "not shared".
    std::set<std::string> named;
    std::vector<std::string> early;
    end_a->on_send = [&](const wire::Message& message) {
        if (auto* config = std::get_if<wire::ClusterConfig>(&message)) {
            named.clear();
            for (const wire::FolderState& folder : config->folders) named.insert(folder.id);
        } else if (auto* update = std::get_if<wire::IndexUpdate>(&message)) {
            if (named.count(update->folder) == 0) early.push_back(update->folder);
        }
    };

    TempDir later_a;
    TempDir later_b;
    add_folder(b, kLater, later_b.path());
    REQUIRE(cluster.run_until(
        [&, &end_b = end_b] { return idle(b, kLater) && configs_sent(*end_b) >= 2; }));
    cluster.io.poll();  // a takes b's config: it knows b shares the folder

    write_file(later_a / "from-a.txt", "a's\n");
    {
        // a's work for the new folder queues in the order it was begun (its
        // scan, then everything its connection does); one worker runs it in
        // that order.
        PoolGate gate(cluster.pool, 2);
        add_folder(a, kLater, later_a.path());
        cluster.io.poll();
        gate.release_one();
        REQUIRE(cluster.run_until([&] { return std::filesystem::exists(later_b / "from-a.txt"); }));
    }
    CHECK(early.empty());
    CHECK(read_file(later_b / "from-a.txt") == "a's\n");
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));
}

TEST_CASE("engine reconfig: a folder removed on one side stops being exchanged",
          "[engine][reconfig]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    TempDir later_a;
    TempDir later_b;
    add_folder(a, kLater, later_a.path());
    add_folder(b, kLater, later_b.path());
    auto [end_a, end_b] = cluster.link(a, b);
    write_file(later_b / "before.txt", "shared\n");
    REQUIRE(cluster.settle());
    REQUIRE(std::filesystem::exists(later_a / "before.txt"));

    REQUIRE(a.store->remove_folder(kLater));
    REQUIRE(a.engine->reload_folders());
    REQUIRE(cluster.run_until([&] {
        auto folder = status_of(b, kLater);
        return folder && folder->devices.empty();
    }));
    write_file(later_b / "after.txt", "not for a\n");
    write_file(b.path("still.txt"), "the other folder goes on\n");
    b.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("still.txt")); }));
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync(); }));
    CHECK(!std::filesystem::exists(later_a / "after.txt"));
    CHECK(end_a->is_open());
    CHECK(end_b->is_open());
}

TEST_CASE("engine reconfig: cluster_changed sends a fresh ClusterConfig the other side applies",
          "[engine][reconfig]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    auto ends = make_message_pipe(cluster.io.get_executor(), a.key, b.key);
    int version = 0;
    std::vector<std::string> seen_by_b;
    a.engine->add_connection(
        ends.first,
        [&] {
            wire::ClusterConfig config;
            config.device_name = "a-" + std::to_string(++version);
            return config;
        },
        [](const wire::ClusterConfig&) {});
    b.engine->add_connection(
        ends.second, [] { return wire::ClusterConfig{}; },
        [&](const wire::ClusterConfig& config) { seen_by_b.push_back(config.device_name); });
    REQUIRE(cluster.settle());
    REQUIRE(seen_by_b.size() == 1);

    a.engine->cluster_changed();
    REQUIRE(cluster.run_until([&] { return seen_by_b.size() == 2; }));
    CHECK(seen_by_b.back() == "a-2");
    CHECK(ends.first->is_open());

    // The folder exchange goes on as before.
    write_file(a.path("after.txt"), "still syncing\n");
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("after.txt")); }));
    REQUIRE(cluster.settle());
    CHECK(ends.second->is_open());
}

TEST_CASE("engine reconfig: reconfigure applies a new rescan interval to running folders",
          "[engine][reconfig]") {
    TestCluster cluster;
    Node& a = cluster.add("a");  // polled, rescanned hourly
    REQUIRE(cluster.run_until([&] { return idle(a, kFolderId); }));
    write_file(a.path("before.txt"), "seen only by a rescan\n");

    EngineOptions options;
    options.local_device = a.id;
    options.rescan_interval = std::chrono::milliseconds(50);
    REQUIRE(a.engine->reconfigure(options));
    REQUIRE(cluster.run_until([&] {
        auto record = a.store->get_file(kFolderId, "before.txt");
        return record && *record;
    }));
    // Not just the restart's own scan: later changes are found by the new interval.
    REQUIRE(cluster.run_until([&] { return idle(a, kFolderId); }));
    write_file(a.path("after.txt"), "found by the 50 ms rescan\n");
    CHECK(cluster.run_until(
        [&] {
            auto record = a.store->get_file(kFolderId, "after.txt");
            return record && *record;
        },
        std::chrono::seconds(10)));
}
