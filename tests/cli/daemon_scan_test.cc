// `ferry scan` through a running daemon: it returns once a scan that began
// after it asked has finished, so what it reports is already in the index.
// And one daemon per home: a second is refused.
#include <filesystem>

#include <catch2/catch.hpp>

#include "cluster_util.hh"

using namespace ferry::test;

TEST_CASE("scan through the daemon returns once the change is in the index",
          "[cli][daemon][scan]") {
    TestCluster cluster(1);
    cluster.setup();
    TestDevice& a = cluster[0];

    // Several rounds: the daemon also rescans every 2 s, so some requests
    // meet a scan already running (which may have passed the new file).
    for (int round = 0; round < 4; ++round) {
        const std::string name = "new-" + std::to_string(round) + ".txt";
        write_file(a.file(name), "round " + std::to_string(round) + "\n");
        const Run scan = a.ferry({"scan"});
        INFO(scan.out << scan.err << a.daemon_log());
        REQUIRE(scan.status == 0);
        CHECK_THAT(scan.out, Catch::Contains("docs: " + std::to_string(round + 1) + " file"));
        const Run ls = a.ferry({"ls", "docs:" + name, "--json"});
        INFO(ls.err);
        CHECK(ls.status == 0);
    }

    const Run one = a.ferry({"scan", "docs", "--quiet"});
    CHECK(one.status == 0);
    CHECK(one.out.empty());

    const Run unknown = a.ferry({"scan", "nope"});
    CHECK(unknown.status == 1);
    CHECK_THAT(unknown.err, Catch::Contains("no folder 'nope'"));

    std::filesystem::remove_all(a.folder);
    const Run gone = a.ferry({"scan"});
    INFO(gone.out << gone.err);
    CHECK(gone.status == 1);
    CHECK_THAT(gone.err, Catch::Contains("cannot scan folder docs"));
}

TEST_CASE("a second daemon for the same home is refused and names the first one's process",
          "[cli][daemon]") {
    TestCluster cluster(1);
    cluster.setup();
    TestDevice& a = cluster[0];
    const Run second = a.ferry({"run", "--listen", "127.0.0.1:0"});
    CHECK(second.status == 1);
    CHECK_THAT(second.err, Catch::Contains("another ferry daemon runs for " + a.home));
    CHECK_THAT(second.err, Catch::Contains("(pid " + std::to_string(a.daemon->pid()) + ")"));
    // The first one is untouched.
    CHECK(a.ferry({"status", "--json"}).status == 0);
}
