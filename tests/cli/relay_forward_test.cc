// Forwarding through a real `ferry-relay` (FERRY_RELAY_BIN) between real
// `ferry run` daemons that cannot reach each other: both run without a
// listener (`--listen none`, as behind a NAT), so the only way they meet
// is a connection the relay joins.
#include <catch2/catch.hpp>

#include "cluster_util.hh"
#include "relay_util.hh"

using namespace ferry::test;

TEST_CASE("devices that cannot dial each other connect through the relay and sync",
          "[cli][relay][forward]") {
    TestCluster cluster(2);
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    write_file(a.file("before.txt"), "synced directly\n");
    cluster.setup();
    REQUIRE(cluster.wait_converged());

    RelayProcess relay(cluster.root() + "/relay", cluster.root() + "/relay.log");
    relay.start();
    const std::string token = relay.add_user("alice");
    const Run added = a.ferry({"relay", "add", relay.url(), "--token", token});
    INFO(added.out << added.err);
    REQUIRE(added.status == 0);
    // B learns the relay from A (gossip), and A's hello bound the token.
    const bool both = wait_until(
        [&] { return relay_connected(a, relay.url()) && relay_connected(b, relay.url()); }, 30s);
    INFO("relay log:\n" << relay.log() << "\nA:\n" << a.daemon_log() << "\nB:\n" << b.daemon_log());
    REQUIRE(both);

    for (TestDevice* d : {&a, &b}) {
        const Run set = d->ferry({"config", "set", "relay_forward_seconds", "1"});
        INFO(set.err);
        REQUIRE(set.status == 0);
        REQUIRE(d->daemon->stop() == 0);
    }
    // Without listeners: neither can dial the other's known addresses.
    a.start({"--listen", "none"});
    b.start({"--listen", "none"});
    for (TestDevice* d : {&a, &b}) {
        const auto status = parse_json(d->ferry({"status", "--json"}).out);
        CHECK(status["listen"].empty());
    }
    INFO("relay log:\n" << relay.log());
    REQUIRE(cluster.all_online(60s));
    // The device with the lower id asked the relay to join them.
    const std::string asked = a.daemon_log() + b.daemon_log();
    CHECK(asked.find("through relay") != std::string::npos);

    // The relay joined them (its status file is written every few seconds).
    const bool forwarding = wait_until(
        [&] {
            const auto status = relay.status();
            return status.contains("server") && status["server"]["forwarding"].get<int>() >= 1;
        },
        20s, 500ms);
    CHECK(forwarding);

    write_file(a.file("after.txt"), "through the relay\n");
    write_file(a.file("big.bin"), random_bytes(3 << 20, 7));
    cluster.scan(0);
    REQUIRE(cluster.wait_converged(90s));
    CHECK(read_file(b.file("after.txt")) == "through the relay\n");
    CHECK(file_digest(b.file("big.bin")) == file_digest(a.file("big.bin")));
}
