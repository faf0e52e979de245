// `ferry run`: the daemon. It composes the parts of one device: the index
// (store), the cluster (trust, joining), the peer manager (listener and
// dialers), the sync engine, and the control socket (cli/control.hh) that
// the other commands use while it runs.
//
// Life: load ferry.toml (cli/home_config.hh; a bad file: exit 1 before
// anything starts or changes), take the home's lock (cli/daemon_lock.hh: one
// daemon per home), bring the index's folders in step with the file, open
// the cluster (issuing device.cert if missing), listen, dial every known
// device's addresses, start the engine, serve the control socket; run until
// SIGINT or SIGTERM, then stop everything and exit 0.
//
// Configuration: ferry.toml with `ferry run`'s flags over it. SIGHUP (or the
// control request "reload") re-reads the file: a bad one is logged with its
// line and the running configuration stays; a good one is applied at once
// (folders, watcher, rescan interval, version retention, log level, rate
// limits), except `listen`, which takes effect at the next start (the
// listeners are not rebound while peers may be connected to them), and
// `relay_forward_seconds` (the relays are not restarted for it). No listen
// address at all: no listener; the device dials out and uses relays only.
//
// Devices learned from a peer's ClusterConfig are dialed; revoked ones are
// forgotten and their connections closed. When this device removes a device,
// serves a join, or learns something new from a ClusterConfig, the engine
// sends a fresh ClusterConfig on every other connection, so the change
// reaches every device without reconnecting. Byte counters and last-seen
// times of each connection are written to the index every few seconds, so
// `ferry devices` shows them with or without the daemon. What all
// connections together send and receive is limited by max_send_rate_kib and
// max_recv_rate_kib (one shared net/rate_limiter.hh each), changeable while
// running (set_rate_limits).
//
// Log: one line per event on stderr and in FERRY_HOME/ferry.log (cli/log.hh).
// Thread rule: the io_context runs on the main thread and owns everything
// here; the engine's disk and hashing work runs on a worker pool.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <nlohmann/json.hpp>

#include "cli/addresses.hh"
#include "cli/control_server.hh"
#include "cli/config.hh"
#include "cli/daemon_lock.hh"
#include "cli/daemon_relays.hh"
#include "cli/home.hh"
#include "cli/log_format.hh"
#include "net/peer_manager.hh"
#include "net/rate_limiter.hh"
#include "sync/cluster.hh"
#include "sync/engine.hh"
#include "sync/versions.hh"

namespace ferry::cli {

// What the daemon runs with: ferry.toml's settings with the command line's
// flags over them.
struct DaemonOptions {
    std::vector<std::string> listen{kDefaultListenAddress};
    std::chrono::milliseconds rescan_interval{60'000};  // folders not watched
    bool watch = true;  // inotify; false: every folder is polled
    std::int64_t version_retention_ns = kDefaultVersionRetentionNs;
    LogLevel log_level = LogLevel::info;
    std::uint64_t max_send_rate_kib = 0;  // 0: unlimited
    std::uint64_t max_recv_rate_kib = 0;  // 0: unlimited
    std::chrono::milliseconds relay_forward_interval{30'000};
    std::chrono::milliseconds relay_retry_interval{30'000};  // an upload a full relay refused
    friend bool operator==(const DaemonOptions&, const DaemonOptions&) = default;
};

// The flags `ferry run` was given; each one given wins over ferry.toml, at
// start and on every reload.
struct RunFlags {
    std::optional<std::string> listen;  // kNoListener: none
    std::optional<bool> watch;
    std::optional<std::chrono::milliseconds> rescan_interval;
    std::optional<LogLevel> log_level;
    std::optional<std::uint64_t> max_send_rate_kib, max_recv_rate_kib;
};

DaemonOptions daemon_options(const Config& config, const RunFlags& flags);

// Runs the daemon in the foreground; returns the exit status.
int run_daemon(const RunFlags& flags);

class Daemon {
public:
    Daemon(Device device, DaemonLock lock, RunFlags flags, DaemonOptions options);
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    Outcome<void> start();
    void run();  // until a stop signal
    // New traffic limits (KiB/s, 0: unlimited) for all connections together;
    // they apply from each connection's next frame slice, also to transfers
    // under way. Any thread (it is carried out on the io thread).
    void set_rate_limits(std::uint64_t send_kib, std::uint64_t recv_kib);

private:
    // Peers (daemon.cc).
    void on_connected(std::shared_ptr<Connection> connection);
    void on_join(std::shared_ptr<Connection> connection);
    // What every connection (direct, forwarded or relayed) is told, and what
    // a device's ClusterConfig brings: absorbed, and with `remember` saved for
    // a relay link to start from (a link saves what its mailbox brings
    // itself; the config it starts with is not the device's word).
    wire::ClusterConfig describe_cluster() const;
    void absorb_config(const PeerIdentity& peer, const std::string& address,
                       const wire::ClusterConfig& config, bool remember);
    void start_relays();
    // Runs the device handshake on a stream the relay joined with `peer`'s.
    asio::awaitable<void> connect_forwarded(std::unique_ptr<ByteStream> stream, PublicKey peer,
                                            bool initiator);
    void apply(const ClusterChanges& changes);
    void dial_known_devices();
    std::string describe_peer(const PublicKey& key) const;
    void note_activity();
    void schedule_activity();
    void shutdown(const std::string& why);

    // Configuration (daemon_config.cc).
    EngineOptions engine_options() const;
    // Re-reads ferry.toml and applies it; returns the keys that take effect
    // only at the next start. A bad file changes nothing; a failure is logged.
    Outcome<std::vector<std::string>> reload_config();
    Outcome<std::vector<std::string>> apply_config_file();  // reload_config without the log
    void wait_for_hangup();

    // Control requests (daemon_control.cc).
    asio::awaitable<nlohmann::json> handle(const nlohmann::json& request);
    asio::awaitable<nlohmann::json> wait_in_sync(std::chrono::milliseconds timeout);
    nlohmann::json status_json() const;
    nlohmann::json devices_json();
    nlohmann::json remove_device(const std::string& id);
    // A control error when `id` names no folder.
    std::optional<nlohmann::json> unknown_folder(const std::string& id) const;
    // Scans (every folder when `id` is empty) and answers when done.
    asio::awaitable<nlohmann::json> scan(const std::string& id);
    // override / revert of one folder.
    nlohmann::json folder_action(const nlohmann::json& request);
    // pause / resume of one folder, or of every folder when `id` is empty.
    nlohmann::json set_paused(const std::string& id, bool paused);

    struct Session {
        std::shared_ptr<Connection> connection;
        std::uint64_t noted_in = 0;
        std::uint64_t noted_out = 0;
        // Its ClusterConfig came: the peer accepted us. Until then a device
        // that removed this one may still refuse the connection.
        bool configured = false;
    };

    Device m_device;
    DaemonLock m_lock;
    RunFlags m_flags;
    DaemonOptions m_options;
    std::string m_name;
    SystemClock m_clock;
    asio::io_context m_io;
    asio::thread_pool m_workers;
    asio::signal_set m_signals;
    asio::signal_set m_hangup;
    asio::steady_timer m_activity_timer;
    asio::steady_timer m_exit_timer;
    std::unique_ptr<Cluster> m_cluster;
    std::unique_ptr<Engine> m_engine;
    // Shared by every connection (net/rate_limiter.hh).
    std::shared_ptr<RateLimiter> m_send_limit;
    std::shared_ptr<RateLimiter> m_receive_limit;
    std::unique_ptr<PeerManager> m_peers;
    std::unique_ptr<ControlServer> m_control;
    std::unique_ptr<DaemonRelays> m_relays;
    std::vector<std::string> m_listening;      // bound addresses
    std::vector<std::string> m_own_addresses;  // what peers and joiners should dial
    std::vector<Session> m_sessions;
    bool m_stopping = false;
};

}  // namespace ferry::cli
