// Engine::request_scan with a callback: it answers after a scan that started
// after the request, so a change made before it is in the index.
#include <optional>

#include <catch2/catch.hpp>

#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

bool indexed(const Node& node, const std::string& path) {
    auto record = node.store->get_file(kFolderId, path);
    return record && *record && !(*record)->deleted;
}

}  // namespace

TEST_CASE("engine scan: the callback comes once the new file is in the index", "[engine][scan]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    REQUIRE(cluster.run_until([&] { return a.folder_status().state == "idle"; }));

    write_file(a.path("new.txt"), "fresh\n");
    std::optional<std::vector<FolderScan>> scans;
    bool in_index = false;
    a.engine->request_scan(kFolderId, [&](std::vector<FolderScan> done) {
        in_index = indexed(a, "new.txt");
        scans = std::move(done);
    });
    REQUIRE(cluster.run_until([&] { return scans.has_value(); }));
    CHECK(in_index);
    REQUIRE(scans->size() == 1);
    CHECK((*scans)[0].folder_id == kFolderId);
    REQUIRE((*scans)[0].result);
    CHECK((*scans)[0].result->changed >= 1);
    CHECK((*scans)[0].result->files == 1);
}

TEST_CASE("engine scan: a request during a scan waits for a new one", "[engine][scan]") {
    TestCluster cluster;
    Node& a = cluster.add("a");  // its first scan is starting
    REQUIRE(a.folder_status().state == "scanning");
    write_file(a.path("late.txt"), "after the scan began\n");
    std::optional<std::vector<FolderScan>> scans;
    bool in_index = false;
    a.engine->request_scan("", [&](std::vector<FolderScan> done) {
        in_index = indexed(a, "late.txt");
        scans = std::move(done);
    });
    REQUIRE(cluster.run_until([&] { return scans.has_value(); }));
    CHECK(in_index);
    REQUIRE(scans->size() == 1);
    CHECK((*scans)[0].result);
}

TEST_CASE("engine scan: an unknown folder is an error for that folder", "[engine][scan]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    std::optional<std::vector<FolderScan>> scans;
    a.engine->request_scan("nope", [&](std::vector<FolderScan> done) { scans = std::move(done); });
    CHECK(!scans);  // never called from inside request_scan
    REQUIRE(cluster.run_until([&] { return scans.has_value(); }));
    REQUIRE(scans->size() == 1);
    CHECK((*scans)[0].folder_id == "nope");
    REQUIRE(!(*scans)[0].result);
    CHECK((*scans)[0].result.error().code == Errc::not_found);
}

TEST_CASE("engine scan: a stopping engine answers waiting scans with an error", "[engine][scan]") {
    TestCluster cluster;
    Node& a = cluster.add("a");  // its first scan is starting
    std::optional<std::vector<FolderScan>> scans;
    a.engine->request_scan("", [&](std::vector<FolderScan> done) { scans = std::move(done); });
    a.engine->stop();
    REQUIRE(cluster.run_until([&] { return scans.has_value(); }));
    REQUIRE(scans->size() == 1);
    CHECK(!(*scans)[0].result);
}
