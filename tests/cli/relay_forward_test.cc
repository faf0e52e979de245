// Forwarding through a real `ferry-relay` (FERRY_RELAY_BIN) between real
// `ferry run` daemons that cannot reach each other: both run without a
// listener (`--listen none`, as behind a NAT), so the only way they meet
// is a connection the relay joins.
#include <csignal>
#include <cstdlib>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

std::string relay_bin() {
    const char* path = std::getenv("FERRY_RELAY_BIN");
    if (path == nullptr) FAIL("FERRY_RELAY_BIN is not set: run through `meson test`");
    return path;
}

// `ferry-relay ARGS`, checked; its standard output.
std::string relay_command(const std::vector<std::string>& args, const std::string& dir) {
    std::vector<std::string> argv{relay_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    const Run run = run_process(argv, child_environment(dir), dir);
    INFO(run.err);
    REQUIRE(run.status == 0);
    return run.out;
}

// A `ferry-relay run` on 127.0.0.1:0 over `data` (initialised here),
// signalled only by its pid.
class RelayServerProcess {
public:
    RelayServerProcess(std::string data, std::string log) : m_data(std::move(data)), m_log(log) {
        relay_command({"init", "--data", m_data}, "/");
        std::vector<std::string> argv_strings{relay_bin(), "run",      "--data",
                                              m_data,      "--listen", "127.0.0.1:0"};
        std::vector<std::string> env_strings = child_environment(m_data);
        auto argv = pointers(argv_strings);
        auto envp = pointers(env_strings);
        m_pid = ::fork();
        REQUIRE(m_pid >= 0);
        if (m_pid == 0) {
            const int null_fd = ::open("/dev/null", O_RDONLY);
            const int log_fd = ::open(m_log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (null_fd < 0 || log_fd < 0) ::_exit(126);
            ::dup2(null_fd, 0);
            ::dup2(log_fd, 1);
            ::dup2(log_fd, 2);
            ::execve(argv[0], argv.data(), envp.data());
            ::_exit(127);
        }
        const bool up = wait_until(
            [&] {
                const std::string text = read_file(m_log);
                const auto at = text.find("url: ");
                const auto end = text.find('\n', at);
                if (at == std::string::npos || end == std::string::npos) return false;
                m_url = text.substr(at + 5, end - at - 5);
                return true;
            },
            20s);
        INFO(read_file(m_log));
        REQUIRE(up);
    }
    ~RelayServerProcess() {
        ::kill(m_pid, SIGTERM);
        (void)wait_status(m_pid);
    }
    RelayServerProcess(const RelayServerProcess&) = delete;
    RelayServerProcess& operator=(const RelayServerProcess&) = delete;

    const std::string& url() const { return m_url; }
    std::string add_user(const std::string& name) const {
        const std::string out = relay_command({"user", "add", name, "--data", m_data}, "/");
        return out.substr(0, out.find('\n'));
    }
    nlohmann::json status() const {
        return parse_json(relay_command({"status", "--json", "--data", m_data}, "/"));
    }
    std::string log() const { return read_file(m_log); }

private:
    std::string m_data;
    std::string m_log;
    std::string m_url;
    pid_t m_pid = -1;
};

bool relay_connected(const TestDevice& device, const std::string& url) {
    const Run list = device.ferry({"relay", "list", "--json"});
    if (list.status != 0) return false;
    for (const auto& item : parse_json(list.out)) {
        if (item.value("url", "") == url) return item.value("connected", false);
    }
    return false;
}

}  // namespace

TEST_CASE("devices that cannot dial each other connect through the relay and sync",
          "[cli][relay][forward]") {
    TestCluster cluster(2);
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    write_file(a.file("before.txt"), "synced directly\n");
    cluster.setup();
    REQUIRE(cluster.wait_converged());

    RelayServerProcess relay(cluster.root() + "/relay", cluster.root() + "/relay.log");
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
