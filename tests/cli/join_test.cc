// ferry invite / join / devices / devices remove, and the daemon's life:
// real `ferry run` processes with separate FERRY_HOMEs on 127.0.0.1.
#include <thread>

#include <cstring>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

std::string last_line(const std::string& out) {
    std::string text = out;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return text.substr(text.rfind('\n') == std::string::npos ? 0 : text.rfind('\n') + 1);
}

// Sends raw lines to a daemon's control socket; returns what came back
// before the daemon closed the connection or 5 s passed.
std::string control_exchange(const std::string& home, const std::string& lines) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    const std::string path = home + "/control.sock";
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    REQUIRE(::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::send(fd, lines.data(), lines.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(lines.size()));
    std::string answer;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 5000) <= 0) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        answer.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return answer;
}

void init(const TestDevice& d) {
    const Run run = d.ferry({"init", "--name", d.name});
    INFO(run.err);
    REQUIRE(run.status == 0);
}

}  // namespace

TEST_CASE("a second and a third device join with invites and see each other online",
          "[cli][daemon][join]") {
    TestCluster cluster(3);
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    TestDevice& c = cluster[2];
    init(a);
    init(b);
    init(c);
    CHECK(::access((a.home + "/device.cert").c_str(), F_OK) == 0);

    SECTION("without a daemon, invite needs --address") {
        const Run invite = a.ferry({"invite"});
        CHECK(invite.status == 1);
        CHECK_THAT(invite.err, Catch::Contains("no ferry daemon runs"));
        CHECK_THAT(invite.err, Catch::Contains("--address"));
    }

    a.start();
    struct stat st {};
    REQUIRE(::stat((a.home + "/control.sock").c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);

    // The control protocol: one JSON answer per line; a malformed request
    // gets an error and the connection is closed.
    const std::string answers = control_exchange(
        a.home, "{\"cmd\":\"addresses\"}\n{\"cmd\":\"no-such\"}\nnot json\n{\"cmd\":\"status\"}\n");
    std::vector<nlohmann::json> lines;
    for (std::size_t start = 0, end; (end = answers.find('\n', start)) != std::string::npos;
         start = end + 1) {
        lines.push_back(parse_json(answers.substr(start, end - start)));
    }
    REQUIRE(lines.size() == 3);
    CHECK(lines[0]["ok"] == true);
    CHECK(lines[0]["addresses"].size() >= 1);
    CHECK(lines[1]["ok"] == false);
    CHECK_THAT(lines[1]["error"].get<std::string>(), Catch::Contains("unknown request"));
    CHECK(lines[2]["ok"] == false);

    // The address comes from the daemon; the code is the last line alone.
    const Run invite = a.ferry({"invite", "--expires", "10m"});
    INFO(invite.err);
    REQUIRE(invite.status == 0);
    const std::string code = last_line(invite.out);
    CHECK(code.rfind("ferry1-", 0) == 0);
    CHECK(code.find(' ') == std::string::npos);

    const Run joined = b.ferry({"join", code});
    INFO(joined.err << a.daemon_log());
    REQUIRE(joined.status == 0);
    CHECK_THAT(joined.out, Catch::Contains("Joined"));

    // One-time: the same code fails for the third device.
    const Run reused = c.ferry({"join", code});
    CHECK(reused.status == 1);
    CHECK_THAT(reused.err, Catch::Contains("used"));

    const Run second = a.ferry({"invite"});
    REQUIRE(second.status == 0);
    const Run c_joined = c.ferry({"join", last_line(second.out)});
    INFO(c_joined.err << a.daemon_log());
    REQUIRE(c_joined.status == 0);

    // Joining twice is refused: the device already belongs to a set.
    const Run third = a.ferry({"invite"});
    const Run again = c.ferry({"join", last_line(third.out)});
    CHECK(again.status == 1);

    b.start();
    c.start();
    REQUIRE(cluster.all_online());

    const auto list = b.devices();
    REQUIRE(list.size() == 2);
    for (const auto& d : list) {
        CHECK(d["online"] == true);
        CHECK(d["bytes_in"].get<std::uint64_t>() > 0);
        CHECK(d["bytes_out"].get<std::uint64_t>() > 0);
        CHECK(d["last_seen"].is_string());
        CHECK((d["id"] == a.id() || d["id"] == c.id()));
    }
    const Run human = b.ferry({"devices"});
    REQUIRE(human.status == 0);
    CHECK_THAT(human.out, Catch::Contains("dev0") && Catch::Contains("online"));

    // One daemon per home.
    DaemonProcess second_daemon(b.home, b.log, {"--listen", "127.0.0.1:0"});
    REQUIRE(wait_until([&] { return !second_daemon.running(); }, 20s));
    CHECK(second_daemon.stop() == 1);
    CHECK_THAT(b.daemon_log(), Catch::Contains("another ferry daemon runs"));

    // Stopping is clean, and offline the list still shows what was learned.
    CHECK(c.daemon->stop() == 0);
    CHECK_THAT(c.daemon_log(), Catch::Contains("stopping"));
    const auto offline = c.devices();
    REQUIRE(offline.size() == 2);
    for (const auto& d : offline) {
        CHECK(d["online"] == false);
        CHECK(d["bytes_in"].get<std::uint64_t>() > 0);
    }
}

TEST_CASE("ferry join explains malformed, expired and unreachable codes", "[cli][join]") {
    TestCluster cluster(2);
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    init(a);
    init(b);

    const Run malformed = b.ferry({"join", "ferry1-notacode"});
    CHECK(malformed.status == 1);
    CHECK_THAT(malformed.err, Catch::StartsWith("ferry: invalid join code: "));

    const Run expiring = a.ferry({"invite", "--address", "127.0.0.1:9", "--expires", "1s"});
    REQUIRE(expiring.status == 0);
    std::this_thread::sleep_for(1200ms);  // let it expire
    const Run expired = b.ferry({"join", last_line(expiring.out)});
    CHECK(expired.status == 1);
    CHECK_THAT(expired.err, Catch::Contains("expired"));

    // Nobody listens on the discard port of loopback.
    const Run nowhere = a.ferry({"invite", "--address", "127.0.0.1:9"});
    REQUIRE(nowhere.status == 0);
    const Run unreachable = b.ferry({"join", last_line(nowhere.out)});
    CHECK(unreachable.status == 1);
    CHECK_THAT(unreachable.err, Catch::Contains("cannot reach the inviting device at 127.0.0.1:9"));

    const Run bad_address = a.ferry({"invite", "--address", "localhost"});
    CHECK(bad_address.status == 1);
    const Run bad_expiry = a.ferry({"invite", "--address", "127.0.0.1:9", "--expires", "soon"});
    CHECK(bad_expiry.status == 1);
    CHECK_THAT(bad_expiry.err, Catch::Contains("invalid duration"));
}

TEST_CASE("a removed device is refused by every device", "[cli][daemon][revoke]") {
    TestCluster cluster(3);
    cluster.setup();
    TestDevice& a = cluster[0];
    TestDevice& c = cluster[2];
    const std::string c_id = c.id();
    TestDevice& b = cluster[1];
    const std::size_t a_b_connections = occurrences(a.daemon_log(), "connected to " + b.name);

    const Run removed = a.ferry({"devices", "remove", c_id});
    INFO(removed.err);
    REQUIRE(removed.status == 0);

    // The revocation reaches b through a; both drop c and refuse it.
    const bool dropped = wait_until(
        [&] {
            for (std::size_t i : {0u, 1u}) {
                for (const auto& d : cluster[i].devices()) {
                    if (d["id"] == c_id) return false;
                }
            }
            return true;
        },
        30s, 200ms);
    INFO(a.daemon_log() << cluster[1].daemon_log());
    CHECK(dropped);

    // New data reaches b, never c.
    write_file(a.file("after-removal.txt"), "not for c");
    cluster.scan(0);
    REQUIRE(wait_until([&] { return tree_digest(cluster[1].folder) == tree_digest(a.folder); },
                       30s));
    const Run status = a.ferry({"status", "--wait", "--timeout", "10"});
    CHECK(status.status == 0);
    CHECK(::access(c.file("after-removal.txt").c_str(), F_OK) != 0);
    for (const auto& d : c.devices()) CHECK(d["online"] == false);
    // The revocation travelled in a fresh ClusterConfig: a and b stayed connected.
    CHECK(occurrences(a.daemon_log(), "connected to " + b.name) == a_b_connections);
    CHECK(occurrences(a.daemon_log(), "disconnected from " + b.name) == 0);
    CHECK(occurrences(b.daemon_log(), "disconnected from " + a.name) == 0);
}
