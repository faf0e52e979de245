// Several ferry devices on one machine for integration tests: each with its
// own FERRY_HOME and folder under one temporary root, each running its own
// `ferry run --listen 127.0.0.1:0` process. Every wait is bounded; only the
// daemons started here are ever signalled, by their pid.
#pragma once

#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

#include "cli_test_util.hh"

namespace ferry::test {

using namespace std::chrono_literals;

// Polls `done` every `step` until it is true or `timeout` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step = 100ms);

// A running `ferry run`, or another long-running command (stdout and
// stderr appended to `log_path`).
class DaemonProcess {
public:
    // `command`: another long-running command instead (status --watch, ...).
    DaemonProcess(const std::string& home, const std::string& log_path,
                  const std::vector<std::string>& extra_args, const std::string& command = "run");
    // Any program: argv[0] is its path, `env` its whole environment.
    DaemonProcess(std::vector<std::string> argv, std::vector<std::string> env,
                  const std::string& log_path);
    ~DaemonProcess();  // SIGKILL if still running
    DaemonProcess(const DaemonProcess&) = delete;
    DaemonProcess& operator=(const DaemonProcess&) = delete;

    pid_t pid() const { return m_pid; }
    bool running();
    // `signal`, then waits up to `timeout`; returns the exit status (-1: still
    // running, then killed).
    int stop(std::chrono::milliseconds timeout = 20s, int signal = SIGTERM);
    void kill_hard();  // SIGKILL and reap

private:
    pid_t m_pid = -1;
    int m_status = -1;
};

struct TestDevice {
    std::string name;
    std::string home;
    std::string folder;  // the synced directory
    std::string log;     // the daemon's log file
    std::unique_ptr<DaemonProcess> daemon;

    Run ferry(const std::vector<std::string>& args) const;
    std::string file(const std::string& relative) const { return folder + "/" + relative; }
    // Starts `ferry run` (--listen 127.0.0.1:0 unless `extra_args` has a
    // --listen) and waits until its control socket answers.
    void start(const std::vector<std::string>& extra_args = {});
    nlohmann::json devices() const;  // `ferry devices --json`, checked
    std::string id() const;
    std::string daemon_log() const;
};

class TestCluster {
public:
    // Creates `count` devices (homes and empty folders); nothing runs yet.
    explicit TestCluster(int count);
    ~TestCluster();

    TestDevice& operator[](std::size_t i) { return m_devices[i]; }
    std::size_t size() const { return m_devices.size(); }
    const std::string& root() const { return m_root; }

    // Initialises every device, joins devices 1.. to device 0 with an invite
    // each, adds the folder `folder_id` everywhere (modes[i], default
    // send-receive), starts every daemon and waits until each sees every
    // other one online.
    void setup(const std::string& folder_id = "docs", std::vector<std::string> modes = {});
    // Waits until every device's folder has the same tree (tree_digest).
    bool wait_converged(std::chrono::milliseconds timeout = 60s);
    // `ferry scan` on device i (through its daemon).
    void scan(std::size_t i);
    // Bytes on the wire between device i and the others, as its daemon counts them.
    std::uint64_t traffic(std::size_t i);
    bool all_online(std::chrono::milliseconds timeout = 30s);

private:
    std::string m_root;
    std::vector<TestDevice> m_devices;
};

// A digest per entry of a folder, by relative path: "kind mode size hash"
// (symlinks: their target); `.ferry/` and ferry's temporary files left out.
std::map<std::string, std::string> tree_digest(const std::string& folder);
// The digest of one file's content (BLAKE2b through libsodium, hex).
std::string file_digest(const std::string& path);

}  // namespace ferry::test
