// Steps that cannot be applied as planned (found by the cluster simulation):
// a failed rename is tried again whole, not as a copy to its target that
// leaves its source behind (seeds 47 and 121); a removal that finds its path
// gone already is done (seed 857).
#include <atomic>
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

bool has_problem(const Node& node, const std::string& path, const std::string& words) {
    for (const PathProblem& problem : node.folder_status().problems)
        if (problem.path == path && problem.message.find(words) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("engine: a rename that failed is retried as a rename once the fault is gone",
          "[engine][failed-step]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    REQUIRE(b.faults != nullptr);
    std::atomic<bool> deny{false};
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (deny && op == FsOp::rename && path == "old.txt")
            return fail(Errc::permission_denied, "Permission denied");
        return {};
    });
    write_file(a.path("old.txt"), random_bytes(3000, 4));
    cluster.link(a, b);
    REQUIRE(cluster.settle());

    deny = true;
    std::filesystem::rename(a.path("old.txt"), a.path("new.txt"));
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return has_problem(b, "new.txt", "cannot rename"); }));
    CHECK(std::filesystem::exists(b.path("old.txt")));

    // The next scan plans both ends of the rename again, not only its target.
    deny = false;
    REQUIRE(cluster.settle(std::chrono::seconds(10)));
    CHECK_FALSE(std::filesystem::exists(b.path("old.txt")));
    CHECK(read_file(b.path("new.txt")) == read_file(a.path("new.txt")));
}

TEST_CASE("engine: a rename whose target changed under it plans its source again too",
          "[engine][failed-step]") {
    TestCluster cluster;
    cluster.fault_filesystems = true;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    REQUIRE(b.faults != nullptr);
    // b's user edits `target` just as sync checks it before the rename.
    std::atomic<bool> edit{false};
    b.faults->set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::lstat && path == "target" && edit.exchange(false))
            write_file(b.path("target"), "b's edit, longer than before\n");
        return {};
    });
    write_file(a.path("source"), random_bytes(3000, 5));
    write_file(a.path("target"), "old target\n");
    cluster.link(a, b);
    REQUIRE(cluster.settle());

    edit = true;
    std::filesystem::rename(a.path("source"), a.path("target"));
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return !edit; }));

    REQUIRE(cluster.settle(std::chrono::seconds(10)));
    CHECK_FALSE(std::filesystem::exists(b.path("source")));
    CHECK_FALSE(std::filesystem::exists(a.path("source")));
}

TEST_CASE("engine: a removal whose path is gone already is done, under a removed directory too",
          "[engine][failed-step]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    std::filesystem::create_directories(a.path("d/inner"));
    write_file(a.path("d/inner/x"), "x\n");
    cluster.link(a, b);
    REQUIRE(cluster.settle());

    // b's user moves d/inner out (not scanned yet) as a deletes all of d:
    // b removes d/inner/x and d/inner (gone: nothing to do) and d (empty).
    std::filesystem::rename(b.path("d/inner"), b.path("kept"));
    std::filesystem::remove_all(a.path("d"));
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return !std::filesystem::exists(b.path("d")); }));

    // No live record is left beneath the removed d, where no scan looks.
    REQUIRE(cluster.settle(std::chrono::seconds(10)));
    CHECK(read_file(a.path("kept/x")) == "x\n");
    CHECK_FALSE(std::filesystem::exists(a.path("d")));
    CHECK(b.folder_status().problems.empty());
}
