// Store-and-forward through a real `ferry-relay` between real `ferry run`
// daemons that are never online together: hand-off both ways, the relay
// killed mid-upload, what the relay's disk holds, a full account, a
// revoked device, and failing over to a second relay.
#include <filesystem>
#include <thread>

#include <catch2/catch.hpp>
// ZSTD_frameHeaderSize is in zstd's "static" API.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "relay_util.hh"

using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

// Two joined devices online with the relay running (no device uses it yet).
struct RelaySetup {
    TestCluster cluster{2};
    RelayProcess relay{cluster.root() + "/relay", cluster.root() + "/relay.log"};
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];

    explicit RelaySetup(const std::vector<std::string>& relay_args = {},
                        const std::string& folder_id = "docs") {
        cluster.setup(folder_id);
        relay.start(relay_args);
    }

    // `ferry relay add` on A with a new account's token; waits until both
    // devices are connected to the relay (B learns of it from A).
    void use_relay(const std::string& quota = "unlimited") {
        const Run add =
            a.ferry({"relay", "add", relay.url(), "--token", relay.add_user("alice", quota)});
        INFO(add.err);
        REQUIRE(add.status == 0);
        const bool connected = wait_until(
            [&] { return relay_connected(a, relay.url()) && relay_connected(b, relay.url()); }, 30s,
            200ms);
        INFO("a:\n" << a.daemon_log() << "\nb:\n" << b.daemon_log() << "\nrelay:\n" << relay.log());
        REQUIRE(connected);
    }

    // Stops `from` once the relay holds what it posted, then starts `to`
    // and waits until both folders are the same.
    void hand_off(TestDevice& from, TestDevice& to, std::uint64_t min_bytes) {
        {
            INFO(from.name << ":\n" << from.daemon_log() << "\nrelay:\n" << relay.log());
            REQUIRE(relay.wait_settled(min_bytes));
        }
        REQUIRE(from.daemon->stop() == 0);
        to.start();
        REQUIRE(cluster.wait_converged());
    }
};

// The zstd frame of `text` at `level` without its frame header (which
// depends on the parameters; the compressed blocks do not).
std::string zstd_body(const std::string& text, int level) {
    std::string frame(ZSTD_compressBound(text.size()), '\0');
    const std::size_t size =
        ZSTD_compress(frame.data(), frame.size(), text.data(), text.size(), level);
    REQUIRE(!ZSTD_isError(size));
    const std::size_t header = ZSTD_frameHeaderSize(frame.data(), size);
    REQUIRE(!ZSTD_isError(header));
    REQUIRE(size > header + 8);
    return frame.substr(header, std::min<std::size_t>(size - header, 48));
}

}  // namespace

TEST_CASE("a device that was offline gets the changes from the relay alone, both ways",
          "[relay][cli][daemon]") {
    RelaySetup s;
    s.use_relay();

    REQUIRE(s.b.daemon->stop() == 0);
    const std::string big = random_bytes(5 << 20, 61);
    write_file(s.a.file("note.txt"), "written while b was away\n");
    write_file(s.a.file("dir/big.bin"), big);
    write_file(s.a.file("gone.txt"), "b deletes this\n");
    s.cluster.scan(0);
    s.hand_off(s.a, s.b, big.size());
    CHECK(read_file(s.b.file("dir/big.bin")) == big);
    CHECK(read_file(s.b.file("note.txt")) == "written while b was away\n");

    const std::string from_b = random_bytes(1 << 20, 62);
    write_file(s.b.file("note.txt"), "changed on b\n");
    write_file(s.b.file("dir/from-b.bin"), from_b);
    REQUIRE(fs::remove(s.b.file("gone.txt")));
    s.cluster.scan(1);
    s.hand_off(s.b, s.a, from_b.size());
    CHECK(read_file(s.a.file("note.txt")) == "changed on b\n");
    CHECK(read_file(s.a.file("dir/from-b.bin")) == from_b);
    CHECK(!fs::exists(s.a.file("gone.txt")));
    CHECK(temporary_files(s.a.folder).empty());
    CHECK(temporary_files(s.b.folder).empty());
}

TEST_CASE("a relay killed during an upload loses nothing once it runs again",
          "[relay][cli][daemon]") {
    // 1 MiB/s stored per account: the upload takes seconds, time to kill it.
    RelaySetup s({"--account-rate", "1048576"});
    s.use_relay();
    REQUIRE(s.b.daemon->stop() == 0);

    const std::string big = random_bytes(6 << 20, 71);
    write_file(s.a.file("large.bin"), big);
    s.cluster.scan(0);
    std::uint64_t stored = 0;
    REQUIRE(wait_until(
        [&] {
            stored = s.relay.status()["stored_bytes"].get<std::uint64_t>();
            return stored >= (1u << 20);
        },
        30s, 50ms));
    s.relay.kill_hard();
    INFO("stored when killed: " << stored);
    REQUIRE(stored < big.size());  // killed mid-upload, not after it
    CHECK(s.relay.status()["running"] == false);

    s.relay.start();
    {
        INFO("a:\n" << s.a.daemon_log());
        REQUIRE(wait_until([&] { return relay_connected(s.a, s.relay.url()); }, 60s, 200ms));
    }
    s.hand_off(s.a, s.b, big.size());
    CHECK(read_file(s.b.file("large.bin")) == big);
    CHECK(temporary_files(s.b.folder).empty());
}

TEST_CASE("the relay's data folder holds no name, content or compressed content of the files",
          "[relay][cli][daemon]") {
    RelaySetup s({}, "QZXFOLDERID");
    s.use_relay();
    REQUIRE(s.b.daemon->stop() == 0);

    const std::string secret = "the launch code is QZXMARKERTEXT-8472, keep it\n";
    std::string compressible;
    while (compressible.size() < 12 * 1024)  // one chunk: under the chunker's minimum
        compressible += "QZXMARKERZIP a very compressible line of text 0123456789\n";
    write_file(s.a.file("QZXMARKERNAME-plan.txt"), secret);
    write_file(s.a.file("notes/compressible.txt"), compressible);
    s.cluster.scan(0);

    const std::vector<std::string> needles = {"QZXMARKERNAME",
                                              "QZXMARKERTEXT",
                                              "QZXMARKERZIP",
                                              "compressible.txt",
                                              "QZXFOLDERID",
                                              compressible.substr(100, 64),
                                              zstd_body(compressible, 1),
                                              zstd_body(compressible, 3),
                                              zstd_body(secret + secret + secret, 1)};
    // The search finds what is there.
    write_file(s.cluster.root() + "/probe/QZXMARKERNAME", zstd_body(compressible, 1));
    CHECK(files_containing(s.cluster.root() + "/probe", "QZXMARKERNAME").size() == 1);
    CHECK(files_containing(s.cluster.root() + "/probe", zstd_body(compressible, 1)).size() == 1);

    const auto search = [&](const char* when) {
        INFO(when);
        for (std::size_t i = 0; i < needles.size(); ++i) {
            INFO("needle " << i);
            CHECK(files_containing(s.relay.data_dir(), needles[i]).empty());
        }
    };
    REQUIRE(s.relay.wait_settled(1));
    CHECK(s.relay.status()["messages"].get<std::uint64_t>() > 0);
    search("while the relay holds the messages");
    s.hand_off(s.a, s.b, 0);
    CHECK(read_file(s.b.file("notes/compressible.txt")) == compressible);
    REQUIRE(s.relay.stop() == 0);
    search("after delivery, the relay stopped");
}

TEST_CASE("a removed device is refused by the relay and gets nothing from it",
          "[relay][cli][daemon]") {
    RelaySetup s;
    s.use_relay();
    const std::string b_id = s.b.id();
    const Run remove = s.a.ferry({"devices", "remove", b_id});
    INFO(remove.out << remove.err);
    REQUIRE(remove.status == 0);

    // The relay learns of the revocation from A and closes B's connection;
    // B's reconnects are refused.
    nlohmann::json entry;
    const bool refused = wait_until(
        [&] {
            entry = relay_entry(s.b, s.relay.url());
            return !entry.is_null() && !entry.value("connected", true) &&
                   entry.value("error", std::string()).find("refused") != std::string::npos;
        },
        30s, 200ms);
    INFO("b's entry: " << entry.dump() << "\nb:\n"
                       << s.b.daemon_log() << "\nrelay:\n"
                       << s.relay.log());
    REQUIRE(refused);
    CHECK_THAT(entry["error"].get<std::string>(), Catch::Contains("revoked"));

    write_file(s.a.file("after-removal.txt"), "not for b\n");
    s.cluster.scan(0);
    // Nothing reaches B, neither directly nor through the relay.
    CHECK_FALSE(wait_until([&] { return fs::exists(s.b.file("after-removal.txt")); }, 10s));
    CHECK_FALSE(relay_connected(s.b, s.relay.url()));
}

TEST_CASE("a full relay account holds the upload back until its quota grows",
          "[relay][cli][daemon]") {
    RelaySetup s;
    const Run retry = s.a.ferry({"config", "set", "relay_retry_seconds", "1"});
    INFO(retry.err);
    REQUIRE(retry.status == 0);
    s.use_relay("1MiB");
    REQUIRE(s.b.daemon->stop() == 0);

    const std::string big = random_bytes(3 << 20, 81);
    write_file(s.a.file("small.txt"), "small\n");
    write_file(s.a.file("big.bin"), big);
    s.cluster.scan(0);
    std::string problem;
    const bool full = wait_until(
        [&] {
            const Run status = s.a.ferry({"status", "--json"});
            problem = status.status == 0 ? parse_json(status.out).value("relay_problem", "") : "";
            return !problem.empty();
        },
        60s, 200ms);
    INFO("a:\n" << s.a.daemon_log());
    REQUIRE(full);
    CHECK_THAT(problem, Catch::StartsWith("relay full: the account on " + s.relay.url()) &&
                            Catch::Contains("of its 1.0 MB quota") &&
                            Catch::Contains("tried again every 1 s") &&
                            Catch::Contains("ferry-relay user quota"));
    CHECK(occurrences(problem, "relay full") == 1);
    const auto account = parse_json(s.relay.admin({"user", "list", "--json"}).out).at(0);
    CHECK(account["used_bytes"].get<std::uint64_t>() <= (1u << 20));
    // Still full after a few retries; A keeps its files as they are.
    std::this_thread::sleep_for(3s);
    CHECK(parse_json(s.a.ferry({"status", "--json"}).out)["relay_problem"] == problem);
    CHECK(read_file(s.a.file("big.bin")) == big);

    const Run quota = s.relay.admin({"user", "quota", "alice", "100MiB"});
    INFO(quota.err);
    REQUIRE(quota.status == 0);
    CHECK(wait_until(
        [&] {
            return parse_json(s.a.ferry({"status", "--json"}).out)["relay_problem"] == "";
        },
        30s, 200ms));
    s.hand_off(s.a, s.b, big.size());
    CHECK(read_file(s.b.file("big.bin")) == big);
    CHECK(read_file(s.b.file("small.txt")) == "small\n");
}

TEST_CASE("with two relays, a device fails over to the one still running",
          "[relay][cli][daemon]") {
    RelaySetup s;
    s.use_relay();
    RelayProcess second(s.cluster.root() + "/relay2", s.cluster.root() + "/relay2.log");
    second.start();
    const Run add =
        s.a.ferry({"relay", "add", second.url(), "--token", second.add_user("alice")});
    INFO(add.err);
    REQUIRE(add.status == 0);
    REQUIRE(wait_until(
        [&] { return relay_connected(s.a, second.url()) && relay_connected(s.b, second.url()); },
        30s, 200ms));

    // B goes offline, then the first relay dies: A's changes go through the second.
    REQUIRE(s.b.daemon->stop() == 0);
    s.relay.kill_hard();
    REQUIRE(wait_until([&] { return !relay_connected(s.a, s.relay.url()); }, 30s, 200ms));
    const std::string data = random_bytes(2 << 20, 81);
    write_file(s.a.file("after-failover.bin"), data);
    s.cluster.scan(0);
    {
        INFO("a:\n" << s.a.daemon_log() << "\nrelay 2:\n" << second.log());
        REQUIRE(second.wait_settled(data.size()));
    }
    REQUIRE(s.a.daemon->stop() == 0);
    s.b.start();
    {
        INFO("b:\n" << s.b.daemon_log());
        REQUIRE(wait_until([&] { return fs::exists(s.b.file("after-failover.bin")) &&
                                        read_file(s.b.file("after-failover.bin")) == data; },
                           60s, 200ms));
    }
    const auto entry = relay_entry(s.b, s.relay.url());
    CHECK(entry.value("connected", true) == false);  // B knows both, reaches one
}
