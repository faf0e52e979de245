// `ferry log` and `ferry run --log-level` with real daemons: the daemon's
// events reach FERRY_HOME/ferry.log, `ferry log --follow` shows lines logged
// after it started, and a higher level hides the lesser lines.
#include <csignal>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

std::size_t line_count(const std::string& text) {
    return occurrences(text, "\n");
}

}  // namespace

TEST_CASE("ferry log shows the daemon's events, with or without the daemon", "[cli][log]") {
    TestCluster cluster(1);
    TestDevice& a = cluster[0];
    REQUIRE(a.ferry({"init", "--name", a.name}).status == 0);

    const Run before = a.ferry({"log"});
    CHECK(before.status == 0);
    CHECK(before.out.empty());
    CHECK_THAT(before.err, Catch::Contains("No log yet in " + a.home + "/ferry.log"));

    REQUIRE(a.ferry({"folder", "add", a.folder, "--id", "docs"}).status == 0);
    a.start();
    REQUIRE(a.ferry({"scan"}).status == 0);
    const Run running = a.ferry({"log"});
    INFO(running.err << a.daemon_log());
    CHECK(running.status == 0);
    CHECK_THAT(running.out, Catch::Contains(" INFO device ") && Catch::Contains("listening on") &&
                                Catch::Contains(" INFO scan of every folder requested"));
    // The file holds what stderr shows.
    CHECK_THAT(a.daemon_log(), Catch::Contains(running.out));

    const Run last = a.ferry({"log", "-n", "1"});
    CHECK(last.status == 0);
    CHECK(line_count(last.out) == 1);
    CHECK_THAT(last.out, Catch::Contains("scan of every folder requested"));

    REQUIRE(a.daemon->stop() == 0);
    const Run after = a.ferry({"log", "-n", "2"});
    CHECK(after.status == 0);
    CHECK(line_count(after.out) == 2);
    CHECK_THAT(after.out, Catch::Contains("stopping") && Catch::EndsWith("INFO stopped\n"));

    const Run wrong = a.ferry({"log", "-n", "x"});
    CHECK(wrong.status == 2);
}

TEST_CASE("ferry log --follow shows lines the daemon logs later", "[cli][log]") {
    TestCluster cluster(1);
    cluster.setup();
    TestDevice& a = cluster[0];
    const std::string output = cluster.root() + "/follow.out";
    DaemonProcess follower(a.home, output, {"--follow", "-n", "1"}, "log");

    const bool printed_last = wait_until([&] { return line_count(read_file(output)) >= 1; }, 10s);
    INFO("follow output:\n" << read_file(output));
    REQUIRE(printed_last);
    CHECK(read_file(output).find("scan of every folder requested") == std::string::npos);

    REQUIRE(a.ferry({"scan"}).status == 0);
    const bool followed = wait_until(
        [&] {
            return read_file(output).find("scan of every folder requested") != std::string::npos;
        },
        10s);
    REQUIRE(followed);
    CHECK(follower.stop(10s, SIGINT) == 0);
}

TEST_CASE("ferry run --log-level warn logs no info lines", "[cli][log]") {
    TestCluster cluster(1);
    TestDevice& a = cluster[0];
    REQUIRE(a.ferry({"init", "--name", a.name}).status == 0);

    const Run wrong = a.ferry({"run", "--log-level", "verbose"});
    CHECK(wrong.status == 2);
    CHECK_THAT(wrong.err, Catch::Contains("unknown log level 'verbose'"));

    a.start({"--log-level", "warn"});
    REQUIRE(a.ferry({"scan"}).status == 0);
    REQUIRE(a.daemon->stop() == 0);
    const Run log = a.ferry({"log"});
    CHECK(log.status == 0);
    CHECK(log.out.find(" INFO ") == std::string::npos);
    CHECK(a.daemon_log().find("INFO") == std::string::npos);
    CHECK(a.daemon_log().find("listening on") == std::string::npos);

    // Debug shows what info hides: each control request.
    a.start({"--log-level", "debug"});
    REQUIRE(a.daemon->stop() == 0);
    CHECK_THAT(a.ferry({"log"}).out, Catch::Contains(" DEBUG control request: status") &&
                                         Catch::Contains(" INFO device "));
}

TEST_CASE("on the journal, lines carry priorities; the log file keeps times", "[cli][log]") {
    TestCluster cluster(1);
    TestDevice& a = cluster[0];
    REQUIRE(a.ferry({"init", "--name", a.name}).status == 0);
    // The daemon's stderr is a.log, opened for appending: name it as the
    // journal the way systemd does, for the daemon only.
    write_file(a.log, "");
    struct stat st {};
    REQUIRE(::stat(a.log.c_str(), &st) == 0);
    const std::string stream = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    REQUIRE(::setenv("JOURNAL_STREAM", stream.c_str(), 1) == 0);
    a.start();
    ::unsetenv("JOURNAL_STREAM");
    REQUIRE(a.daemon->stop() == 0);

    const std::string journal = a.daemon_log();
    CHECK_THAT(journal, Catch::StartsWith("<6>device ") && Catch::Contains("\n<6>stopped\n"));
    const Run log = a.ferry({"log"});
    CHECK(log.status == 0);
    CHECK_THAT(log.out, Catch::Contains("Z INFO device ") && Catch::EndsWith("Z INFO stopped\n"));
}

TEST_CASE("a log file that cannot be written is reported once; the daemon runs on", "[cli][log]") {
    TestCluster cluster(1);
    TestDevice& a = cluster[0];
    REQUIRE(a.ferry({"init", "--name", a.name}).status == 0);
    std::filesystem::create_directory(a.home + "/ferry.log");  // cannot be opened for writing

    a.start();
    REQUIRE(a.ferry({"scan"}).status == 0);
    REQUIRE(a.ferry({"scan"}).status == 0);
    CHECK(a.daemon->running());
    REQUIRE(a.daemon->stop() == 0);
    const std::string stderr_text = a.daemon_log();
    INFO(stderr_text);
    CHECK(occurrences(stderr_text, "cannot open the log file " + a.home + "/ferry.log") == 1);
    CHECK(occurrences(stderr_text, "scan of every folder requested") == 2);

    const Run log = a.ferry({"log"});
    CHECK(log.status == 1);
    CHECK_THAT(log.err, Catch::StartsWith("ferry: cannot read the log: ") &&
                            Catch::Contains(a.home + "/ferry.log"));
}
