// How the engine makes received files durable: in groups (one
// Filesystem::sync_paths of the data, then the renames, then one of the
// names), never a file's name before its data; a failed flush leaves
// nothing visible and the file comes with the next attempt.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "core/ignore.hh"
#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// The filesystem calls a hook saw, in order (hooks run on worker threads).
class Journal {
public:
    void add(FsOp op, std::string_view path) {
        std::lock_guard lock(m_mutex);
        m_events.emplace_back(op, std::string(path));
    }
    std::vector<std::pair<FsOp, std::string>> events() {
        std::lock_guard lock(m_mutex);
        return m_events;
    }
    std::size_t count_temporaries(FsOp op) {
        std::lock_guard lock(m_mutex);
        std::size_t n = 0;
        for (const auto& [o, path] : m_events) n += o == op && is_internal_path(path);
        return n;
    }

private:
    std::mutex m_mutex;
    std::vector<std::pair<FsOp, std::string>> m_events;
};

// Whether `path` is a temporary file of `name` (.ferry-tmp.NAME.<16 hex>).
bool temporary_of(const std::string& path, const std::string& name) {
    const std::string prefix = ".ferry-tmp." + name + ".";
    return path.size() == prefix.size() + 16 && path.starts_with(prefix);
}

}  // namespace

TEST_CASE("engine: received files are flushed in groups, data before names", "[engine]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    constexpr int kFiles = 40;
    for (int i = 0; i < kFiles; ++i)
        write_file(a.path("f" + std::to_string(i)), random_bytes(1000 + 37 * i, i));
    REQUIRE(b.faults != nullptr);
    Journal journal;
    std::atomic<bool> first{true};  // the first flush holds the next group back
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        journal.add(op, path);
        if (op == FsOp::sync_paths && is_internal_path(path) && first.exchange(false)) {
            // Hold the first group until two more files are finished, so the
            // next group has more than one (bounded: never hangs the test).
            const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (journal.count_temporaries(FsOp::set_mtime) < 3 &&
                   std::chrono::steady_clock::now() < until)
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
        return {};
    });
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    b.faults->set_hook(nullptr);

    CHECK(b.faults->count(FsOp::sync) == 0);      // no fsync of each file
    CHECK(b.faults->count(FsOp::sync_dir) == 0);  // nor of its directory
    const auto events = journal.events();
    for (int i = 0; i < kFiles; ++i) {
        const std::string name = "f" + std::to_string(i);
        INFO(name);
        std::size_t rename_at = events.size();
        for (std::size_t j = 0; j < events.size() && rename_at == events.size(); ++j)
            if (events[j].first == FsOp::rename && temporary_of(events[j].second, name)) rename_at = j;
        REQUIRE(rename_at < events.size());
        const std::string temporary = events[rename_at].second;
        bool data_first = false;
        for (std::size_t j = 0; j < rename_at; ++j)
            data_first = data_first || (events[j] == std::pair(FsOp::sync_paths, temporary));
        CHECK(data_first);
        bool name_after = false;
        for (std::size_t j = rename_at; j < events.size(); ++j)
            name_after = name_after || (events[j] == std::pair(FsOp::sync_paths, name));
        CHECK(name_after);
    }
    // A group: a run of sync_paths of temporaries, one call each.
    std::size_t groups = 0;
    bool in_run = false;
    for (const auto& [op, path] : events) {
        const bool data_sync = op == FsOp::sync_paths && is_internal_path(path);
        if (data_sync && !in_run) ++groups;
        in_run = data_sync;
    }
    CHECK(groups >= 1);
    CHECK(groups < static_cast<std::size_t>(kFiles));
}

TEST_CASE("engine: a failed flush of received data leaves the file invisible, and it comes later",
          "[engine]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("doc"), random_bytes(5000, 9));
    REQUIRE(b.faults != nullptr);
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::sync_paths && temporary_of(std::string(path), "doc"))
            return fail(Errc::io, "syncfs: Input/output error");
        return {};
    });
    cluster.link(a, b);
    for (auto& node : cluster.nodes) node->engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return b.has_problem("doc"); }));
    CHECK_FALSE(std::filesystem::exists(b.path("doc")));
    for (const PathProblem& problem : b.folder_status().problems)
        if (problem.path == "doc")
            CHECK_THAT(problem.message, Catch::Contains("durable") && Catch::Contains("Input/output"));

    b.faults->set_hook(nullptr);
    REQUIRE(cluster.settle());
    CHECK(read_file(b.path("doc")) == read_file(a.path("doc")));
}

// The crash of issue 7: the receiver renamed a file into place, then died
// before storing its record; meanwhile the sender changed the file again.
// The restarted receiver must take the file it had put in place for the
// sender's version it wrote (its pending target), not for its own edit,
// which would conflict with the sender's newer version.
TEST_CASE("engine: a file renamed into place but not recorded before a crash is no local edit "
          "after a restart, though the sender changed it since",
          "[engine][crash]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    const std::string first = random_bytes(70'000, 21);
    write_file(a.path("doc"), first);
    REQUIRE(b.faults != nullptr);
    // The flush of the new name fails: the file is in place, its record is
    // never stored (as when the daemon is killed at that moment).
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::sync_paths && path == "doc") return fail(Errc::io, "killed");
        return {};
    });
    cluster.link(a, b);
    for (auto& node : cluster.nodes) node->engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return b.has_problem("doc"); }));
    REQUIRE(read_file(b.path("doc")) == first);
    auto unrecorded = b.store->get_file(kFolderId, "doc");
    REQUIRE(unrecorded);
    CHECK_FALSE(unrecorded->has_value());
    auto pending = b.store->pending_targets(kFolderId);
    REQUIRE(pending);
    REQUIRE(pending->size() == 1);
    CHECK((*pending)[0].path == "doc");

    // The sender changes the file; the receiver had its announcement before
    // it died (so the disk matches no version a peer announces now).
    b.engine->stop();
    write_file(a.path("doc"), random_bytes(80'000, 22));
    bool scanned = false;
    a.engine->request_scan(kFolderId, [&](const auto&) { scanned = true; });
    REQUIRE(cluster.run_until([&] { return scanned; }));
    auto second = a.store->get_file(kFolderId, "doc");
    REQUIRE(second);
    REQUIRE(second->has_value());
    auto a_index = a.store->index_id(kFolderId);
    REQUIRE(a_index);
    REQUIRE(b.store->put_announced(kFolderId, a.id.short_id(), std::vector<FileRecord>{**second},
                                   PeerIndexState{*a_index, (*second)->sequence}));

    cluster.restart(b);
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    for (const auto& [path, what] : tree_of(b.root())) CHECK_FALSE(is_conflict_copy(path));
    CHECK(read_file(b.path("doc")) == read_file(a.path("doc")));
    auto recorded = b.store->get_file(kFolderId, "doc");
    REQUIRE(recorded);
    REQUIRE(recorded->has_value());
    CHECK((*recorded)->version == (*second)->version);
    CHECK((*recorded)->version.counter(b.id.short_id()) == 0);
    CHECK(b.store->pending_targets(kFolderId)->empty());
}

TEST_CASE("engine: a received file that replaces one is flushed with the version kept of it",
          "[engine]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("doc"), random_bytes(3000, 1));
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    REQUIRE(b.faults != nullptr);
    Journal journal;
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        journal.add(op, path);
        return {};
    });
    write_file(a.path("doc"), random_bytes(4000, 2));
    REQUIRE(cluster.settle());
    b.faults->set_hook(nullptr);

    // The old doc was renamed into the versions area, and a flush after it
    // covered the version (the group's flush, shared: no fsync of the
    // versions directory of its own).
    const auto events = journal.events();
    std::size_t kept_at = events.size();
    for (std::size_t j = 0; j < events.size() && kept_at == events.size(); ++j)
        if (events[j] == std::pair(FsOp::rename, std::string("doc"))) kept_at = j;
    REQUIRE(kept_at < events.size());
    bool version_flushed = false;
    for (std::size_t j = kept_at; j < events.size(); ++j)
        version_flushed = version_flushed || (events[j].first == FsOp::sync_paths &&
                                              events[j].second.starts_with(".ferry/versions/doc~"));
    CHECK(version_flushed);
    const bool own_fsync = std::find(events.begin(), events.end(),
                                     std::pair(FsOp::sync_dir, std::string(".ferry/versions"))) != events.end();
    CHECK_FALSE(own_fsync);
}
