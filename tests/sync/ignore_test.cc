// .ferryignore between devices: an ignored path is neither sent nor
// written, and ignoring a path that was synced never deletes it elsewhere.
#include <filesystem>

#include <catch2/catch.hpp>

#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Like TestCluster::settle(), without asking for equal trees: ignored paths
// differ on purpose.
bool settle_index(TestCluster& cluster) {
    for (auto& node : cluster.nodes) node->engine->request_scan("");
    return cluster.run_until([&] { return cluster.all_in_sync(); });
}

}  // namespace

TEST_CASE("ignore: ignored paths are neither sent nor overwritten", "[engine][ignore]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path(".ferryignore"), "*.log\ncache/\n");
    write_file(a.path("notes.txt"), "synced\n");
    write_file(a.path("a.log"), "a's log\n");
    write_file(a.path("cache/blob"), "a's cache\n");
    // b indexed its own x.log before it had the patterns: a must not take it.
    write_file(a.path("x.log"), "a's x\n");
    write_file(b.path("x.log"), "b's x\n");
    REQUIRE(settle_index(cluster));
    cluster.link(a, b);
    REQUIRE(settle_index(cluster));
    CHECK(read_file(b.path(".ferryignore")) == "*.log\ncache/\n");  // the patterns sync
    CHECK(read_file(b.path("notes.txt")) == "synced\n");
    CHECK(!std::filesystem::exists(b.path("a.log")));
    CHECK(!std::filesystem::exists(b.path("cache")));
    CHECK(read_file(a.path("x.log")) == "a's x\n");
    CHECK(read_file(b.path("x.log")) == "b's x\n");

    // b's own file under an ignored name stays b's.
    write_file(b.path("a.log"), "b's log\n");
    write_file(a.path("a.log"), "a's log, longer now\n");
    REQUIRE(settle_index(cluster));
    CHECK(read_file(b.path("a.log")) == "b's log\n");
    CHECK(read_file(a.path("a.log")) == "a's log, longer now\n");
}

TEST_CASE("ignore: ignoring a synced path keeps it on every device", "[engine][ignore]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("build/out.o"), "object\n");
    write_file(a.path("debug.log"), "log\n");
    cluster.link(a, b);
    REQUIRE(settle_index(cluster));
    REQUIRE(read_file(b.path("build/out.o")) == "object\n");

    write_file(a.path(".ferryignore"), "build/\n*.log\n");
    REQUIRE(settle_index(cluster));
    REQUIRE(std::filesystem::exists(b.path(".ferryignore")));
    // Deleting and editing ignored paths on a goes nowhere.
    std::filesystem::remove_all(a.path("build"));
    write_file(a.path("debug.log"), "log, edited while ignored\n");
    REQUIRE(settle_index(cluster));
    CHECK(read_file(b.path("build/out.o")) == "object\n");
    CHECK(read_file(b.path("debug.log")) == "log\n");

    // Once no longer ignored, what happened meanwhile syncs as usual.
    write_file(a.path(".ferryignore"), "");
    REQUIRE(settle_index(cluster));
    CHECK(read_file(b.path(".ferryignore")).empty());
    CHECK(read_file(b.path("debug.log")) == "log, edited while ignored\n");
    CHECK(!std::filesystem::exists(b.path("build/out.o")));
}
