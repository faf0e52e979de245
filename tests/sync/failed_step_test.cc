// Steps that fail are tried again, whole: a rename that failed on the
// receiving device must not be planned again as a copy to its target that
// leaves its source behind (found by the cluster simulation, seeds 47 and
// 121).
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
