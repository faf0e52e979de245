// A real `ferry-relay` (FERRY_RELAY_BIN) for integration tests: its data
// folder under a test's temporary root, `init` once, `run` on 127.0.0.1
// (any port the first time, the same port on every restart, so the URL the
// devices know stays valid), the admin commands run against the same data
// folder, and the stored bytes searched for plaintext. Every wait is
// bounded; only the relay process started here is ever signalled, by pid.
// A failed step fails the test (REQUIRE) with the relay's log attached.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cluster_util.hh"

namespace ferry::test {

std::string ferry_relay_bin();

class RelayProcess {
public:
    // `ferry-relay init --data DATA_DIR`; nothing runs yet.
    RelayProcess(std::string data_dir, std::string log_path);
    ~RelayProcess();  // SIGKILL if still running
    RelayProcess(const RelayProcess&) = delete;
    RelayProcess& operator=(const RelayProcess&) = delete;

    // `ferry-relay run` with `extra_args`; waits for its "url:" line.
    void start(const std::vector<std::string>& extra_args = {});
    int stop(std::chrono::milliseconds timeout = 10s);  // SIGTERM; the exit status
    void kill_hard();                                   // SIGKILL and reap
    bool running();

    const std::string& url() const { return m_url; }
    const std::string& data_dir() const { return m_data_dir; }
    std::string log() const;

    // `ferry-relay ARGS... --data DATA_DIR`, unchecked.
    Run admin(std::vector<std::string> args) const;
    // `user add NAME --quota QUOTA`, checked; the account's token.
    std::string add_user(const std::string& name, const std::string& quota = "unlimited") const;
    // `status --json`, checked.
    nlohmann::json status() const;
    // Waits until the relay stores at least `min_bytes` and its message and
    // byte counts have not moved for `quiet` (the uploads are done).
    bool wait_settled(std::uint64_t min_bytes, std::chrono::milliseconds timeout = 60s,
                      std::chrono::milliseconds quiet = 3s) const;

private:
    std::string m_data_dir;
    std::string m_log_path;
    std::string m_listen = "127.0.0.1:0";
    std::string m_url;
    std::unique_ptr<DaemonProcess> m_process;
};

// `device`'s `ferry relay list --json` entry for `url` (null when absent).
nlohmann::json relay_entry(const TestDevice& device, const std::string& url);
// Whether `device`'s daemon is connected to the relay at `url`.
bool relay_connected(const TestDevice& device, const std::string& url);

// The relative paths of the files under `root` whose names or bytes contain
// `needle` (each file read whole).
std::vector<std::string> files_containing(const std::string& root, const std::string& needle);
// Files under `folder` that are ferry's temporary files (".ferry-tmp.*").
std::vector<std::string> temporary_files(const std::string& folder);

}  // namespace ferry::test
