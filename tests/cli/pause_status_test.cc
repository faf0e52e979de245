// `ferry pause` / `ferry resume`, `ferry rescan` and `ferry status --watch`
// against real daemons on loopback.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <catch2/catch.hpp>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

nlohmann::json folder_status(const TestDevice& device) {
    const Run status = device.ferry({"status", "--json"});
    REQUIRE(status.status == 0);
    return parse_json(status.out)["folders"][0];
}

}  // namespace

TEST_CASE("a paused folder is left alone until it is resumed", "[cli][daemon][pause]") {
    TestCluster cluster(2);
    cluster.setup();
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];

    const Run pause = b.ferry({"pause", "docs"});
    INFO(pause.err << b.daemon_log());
    REQUIRE(pause.status == 0);
    CHECK_THAT(pause.out, Catch::Contains("paused  docs"));
    CHECK(folder_status(b)["state"] == "paused");
    const Run shown = b.ferry({"status"});
    CHECK_THAT(shown.out, Catch::Contains("paused (`ferry resume docs` resumes it)"));

    // Neither pulled (b) nor scanned (b's own change is not sent).
    write_file(a.file("from-a.txt"), "a\n");
    write_file(b.file("from-b.txt"), "b\n");
    cluster.scan(0);
    const Run rescan = b.ferry({"rescan", "docs"});
    CHECK(rescan.status == 1);
    CHECK_THAT(rescan.err, Catch::Contains("paused"));
    std::this_thread::sleep_for(3s);  // longer than the test daemons' 2 s rescan
    CHECK_FALSE(std::filesystem::exists(b.file("from-a.txt")));
    CHECK_FALSE(std::filesystem::exists(a.file("from-b.txt")));

    const Run resume = b.ferry({"resume"});  // every folder
    INFO(resume.err);
    REQUIRE(resume.status == 0);
    CHECK_THAT(resume.out, Catch::Contains("resumed docs"));
    REQUIRE(cluster.wait_converged(30s));
    CHECK(std::filesystem::exists(b.file("from-a.txt")));
    CHECK(std::filesystem::exists(a.file("from-b.txt")));

    // A paused folder stays paused across a restart.
    REQUIRE(b.ferry({"pause"}).status == 0);
    CHECK(b.daemon->stop() == 0);
    b.start();
    CHECK(folder_status(b)["state"] == "paused");
    REQUIRE(b.ferry({"resume", "docs"}).status == 0);
    CHECK(folder_status(b)["state"] != "paused");

    const Run unknown = b.ferry({"pause", "nope"});
    CHECK(unknown.status == 1);
    CHECK_THAT(unknown.err, Catch::Contains("no folder 'nope'"));
}

TEST_CASE("pause without a daemon says that it needs one", "[cli][pause]") {
    Sandbox box;
    box.init();
    const Run pause = box.ferry({"pause"});
    CHECK(pause.status == 1);
    CHECK_THAT(pause.err, Catch::Contains("ferry run"));
}

TEST_CASE("status --watch prints a line whenever a state changes", "[cli][daemon][status]") {
    TestCluster cluster(2);
    cluster.setup();
    TestDevice& a = cluster[0];
    const std::string out = cluster.root() + "/watch.out";
    DaemonProcess watch(a.home, out, {"--watch", "--interval", "0.2"}, "status");
    REQUIRE(wait_until([&] { return slurp(out).find("folder docs: in sync") != std::string::npos; },
                       20s));
    REQUIRE(a.ferry({"pause", "docs"}).status == 0);
    REQUIRE(wait_until([&] { return slurp(out).find("folder docs: paused") != std::string::npos; },
                       20s));
    REQUIRE(a.ferry({"resume", "docs"}).status == 0);
    CHECK(watch.stop(10s, SIGINT) == 0);
    INFO(slurp(out));
    CHECK_THAT(slurp(out), Catch::Contains("device dev1"));
    // Not on a terminal: plain lines, no redrawing.
    CHECK(slurp(out).find('\x1b') == std::string::npos);
}
