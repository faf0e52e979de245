// `ferry run`: composition, peers and the daemon's life (cli/daemon.hh).
#include "cli/daemon.hh"

#include <algorithm>
#include <csignal>
#include <thread>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/dispatch.hpp>

#include "cli/commands.hh"
#include "cli/home_config.hh"
#include "cli/log.hh"
#include "fs/posix_filesystem.hh"
#include "fs/watcher.hh"

namespace ferry::cli {
namespace {

constexpr std::chrono::seconds kActivityInterval{2};
// After a stop signal, how long the engine and connections get to finish.
constexpr std::chrono::milliseconds kExitGrace{500};

std::size_t worker_count() {
    return std::clamp<std::size_t>(std::thread::hardware_concurrency(), 2, 8);
}

std::string short_text(const PublicKey& key) {
    return DeviceId::from_public_key(key).to_string().substr(0, 7);
}

std::string rate_limits_text(std::uint64_t send_kib, std::uint64_t recv_kib) {
    const auto rate = [](std::uint64_t kib) {
        return kib == 0 ? std::string("unlimited") : std::to_string(kib) + " KiB/s";
    };
    return "rate limits: sending " + rate(send_kib) + ", receiving " + rate(recv_kib);
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

}  // namespace

Daemon::Daemon(Device device, DaemonLock lock, RunFlags flags, DaemonOptions options)
    : m_device(std::move(device)),
      m_lock(std::move(lock)),
      m_flags(std::move(flags)),
      m_options(std::move(options)),
      m_workers(worker_count()),
      m_signals(m_io, SIGINT, SIGTERM),
      m_hangup(m_io, SIGHUP),
      m_activity_timer(m_io),
      m_exit_timer(m_io),
      m_send_limit(std::make_shared<RateLimiter>(kib_per_second(m_options.max_send_rate_kib))),
      m_receive_limit(
          std::make_shared<RateLimiter>(kib_per_second(m_options.max_recv_rate_kib))) {}

Daemon::~Daemon() {
    // Workers may still post results to the io_context: let them finish
    // before the parts they report to go away.
    m_workers.join();
}

Outcome<void> Daemon::start() {
    Store& store = *m_device.store;
    auto name = device_name(store);
    if (!name) return tl::unexpected(name.error());
    m_name = *name;
    auto cluster = Cluster::open(m_device.paths.identity_files(), store, m_clock, m_name);
    if (!cluster) return failed("cannot load this device's identity", cluster.error());
    m_cluster = std::move(*cluster);

    m_engine = std::make_unique<Engine>(
        m_io, m_workers.get_executor(), store,
        [](const Folder& folder) -> Result<std::unique_ptr<Filesystem>> {
            return std::make_unique<PosixFilesystem>(folder.path);
        },
        m_clock, engine_options());
    start_relays();

    PeerManagerHooks hooks;
    hooks.authorize = [this](const PeerIdentity& peer) { return m_cluster->authorize(peer); };
    hooks.on_connected = [this](std::shared_ptr<Connection> c) { on_connected(std::move(c)); };
    hooks.on_join = [this](std::shared_ptr<Connection> c) { on_join(std::move(c)); };
    PeerManagerOptions peer_options;
    // A joiner's invite proof is checked by the connection against the
    // secret of an invite made on this device.
    peer_options.connection.invite_secret = [this](const InviteId& id) {
        return m_cluster->invite_secret(id);
    };
    peer_options.connection.send_limit = m_send_limit;
    peer_options.connection.receive_limit = m_receive_limit;
    m_peers = std::make_unique<PeerManager>(m_io, m_cluster->device_key(), m_cluster->certificate(),
                                            std::move(hooks), std::move(peer_options));
    for (const std::string& address : m_options.listen) {
        auto bound = m_peers->listen(address);
        if (!bound) {
            return failed("cannot listen on " + address, bound.error(),
                          "choose another address with --listen HOST:PORT or `listen` in " +
                              m_device.paths.config() + " (port 0: any free port)");
        }
        m_listening.push_back(*bound);
        for (auto& own : advertised_addresses(*bound)) {
            if (std::find(m_own_addresses.begin(), m_own_addresses.end(), own) ==
                m_own_addresses.end()) {
                m_own_addresses.push_back(std::move(own));
            }
        }
    }

    if (auto started = m_engine->start(); !started) {
        return failed("cannot start syncing", started.error());
    }
    auto control = ControlServer::start(
        m_io, m_device.paths.control_socket(),
        [this](const nlohmann::json& request) { return handle(request); });
    if (!control) return failed("cannot serve commands", control.error());
    m_control = std::move(*control);

    dial_known_devices();
    m_relays->start();
    m_signals.async_wait([this](std::error_code ec, int signal) {
        if (!ec) shutdown(signal == SIGINT ? "interrupted (SIGINT)" : "terminated (SIGTERM)");
    });
    wait_for_hangup();
    schedule_activity();
    const std::string listening =
        m_listening.empty() ? std::string("not listening (no listen address: it only dials out)")
                            : "listening on " + joined(m_listening) + "; reachable at " +
                                  joined(m_own_addresses);
    log_info("device " + m_device.id.to_string() + " (" + m_name + ") " + listening + "; " +
             rate_limits_text(m_options.max_send_rate_kib, m_options.max_recv_rate_kib));
    return {};
}

void Daemon::set_rate_limits(std::uint64_t send_kib, std::uint64_t recv_kib) {
    asio::dispatch(m_io, [this, send_kib, recv_kib] {
        m_options.max_send_rate_kib = send_kib;
        m_options.max_recv_rate_kib = recv_kib;
        m_send_limit->set_rate(kib_per_second(send_kib));
        m_receive_limit->set_rate(kib_per_second(recv_kib));
        log_info(rate_limits_text(send_kib, recv_kib));
    });
}

void Daemon::run() {
    m_io.run();
    m_workers.join();
    log_info("stopped");
}

void Daemon::dial_known_devices() {
    auto devices = m_device.store->devices();
    if (!devices) {
        log_error("cannot read the known devices: " + devices.error().message);
        return;
    }
    for (const DeviceRecord& device : *devices) {
        if (device.addresses.empty()) continue;
        m_peers->set_addresses(device.key, device.addresses);
    }
}

std::string Daemon::describe_peer(const PublicKey& key) const {
    auto record = m_device.store->device(key);
    const std::string name = record && *record ? (*record)->name : std::string();
    return name.empty() ? short_text(key) : name + " (" + short_text(key) + ")";
}

void Daemon::on_connected(std::shared_ptr<Connection> connection) {
    if (m_stopping) {
        connection->close("shutting down");
        return;
    }
    const PeerIdentity peer = connection->peer();
    const std::string address = connection->peer_address();
    log_info("connected to " + describe_peer(peer.device_key) + " at " + address +
             (connection->initiated_here() ? " (dialed)" : " (accepted)"));
    if (auto noted = m_device.store->note_device_activity(peer.device_key, m_clock.now_ns(), 0, 0);
        !noted) {
        log_warn("cannot record activity: " + noted.error().message);
    }
    m_sessions.push_back({connection, 0, 0, false});
    m_relays->direct_connection(peer.device_key);  // the engine replaces its relay link
    m_engine->add_connection(
        connection, [this] { return describe_cluster(); },
        [this, peer, address, session = connection.get()](const wire::ClusterConfig& config) {
            for (Session& s : m_sessions)
                if (s.connection.get() == session) s.configured = true;
            absorb_config(peer, address, config, true);
        });
}

wire::ClusterConfig Daemon::describe_cluster() const {
    auto config = m_cluster->describe(m_own_addresses);
    if (!config) {
        log_error("cannot describe the cluster: " + config.error().message);
        return wire::ClusterConfig{m_name, {}, {}, {}, {}};
    }
    config->relays = m_relays->entries();
    return std::move(*config);
}

void Daemon::absorb_config(const PeerIdentity& peer, const std::string& address,
                           const wire::ClusterConfig& config, bool remember) {
    // The device's last word, for a relay link to it to start from.
    if (remember) {
        if (auto saved = save_peer_config(*m_device.store, peer.device_id(), config); !saved) {
            log_warn("cannot save the cluster config of " + describe_peer(peer.device_key) +
                     ": " + saved.error().message);
        }
    }
    auto changes = m_cluster->absorb(config, peer, address);
    if (!changes) {
        log_warn("ignored the device list of " + describe_peer(peer.device_key) + ": " +
                 changes.error().message);
        return;
    }
    const bool relays_changed = m_relays->absorb(config.relays);
    if (relays_changed) log_info("the relay list changed: " + std::to_string(m_relays->entries().size()) + " relay(s)");
    apply(*changes);
    if (relays_changed && changes->revoked.empty() && changes->new_or_updated.empty())
        m_engine->cluster_changed();
}

void Daemon::start_relays() {
    DaemonRelaysHooks hooks;
    hooks.directly_connected = [this](const PublicKey& key) {
        return std::any_of(m_sessions.begin(), m_sessions.end(), [&](const Session& s) {
            return s.connection->is_open() && s.connection->peer().device_key == key;
        });
    };
    hooks.add_link = [this](std::shared_ptr<RelayLink> link) {
        const PeerIdentity peer = link->peer();
        m_engine->add_connection(
            std::move(link), [this] { return describe_cluster(); },
            [this, peer](const wire::ClusterConfig& config) {
                absorb_config(peer, "relay", config, false);
            });
    };
    hooks.forwarded = [this](std::unique_ptr<ByteStream> stream, const PublicKey& peer,
                             bool initiator) {
        asio::co_spawn(m_io, connect_forwarded(std::move(stream), peer, initiator),
                       asio::detached);
    };
    DaemonRelaysOptions options;
    options.retry_interval = m_options.relay_retry_interval;
    options.client.connection.send_limit = m_send_limit;
    options.client.connection.receive_limit = m_receive_limit;
    options.forward_interval = m_options.relay_forward_interval;
    m_relays = std::make_unique<DaemonRelays>(m_io, *m_device.store, *m_cluster, std::move(hooks),
                                              std::move(options));
}

asio::awaitable<void> Daemon::connect_forwarded(std::unique_ptr<ByteStream> stream,
                                                PublicKey peer, bool initiator) {
    auto authorize = [this, peer](const PeerIdentity& identity) -> Result<void> {
        if (identity.device_key != peer)
            return fail(Errc::permission_denied, "a forwarded connection from another device");
        return m_cluster->authorize(identity);
    };
    ConnectionOptions options;
    options.send_limit = m_send_limit;
    options.receive_limit = m_receive_limit;
    // (GCC 12: no co_await inside ?:)
    Result<std::shared_ptr<Connection>> connection = fail(Errc::io, "not connected");
    if (initiator) {
        connection = co_await Connection::initiate(std::move(stream), m_cluster->device_key(),
                                                   m_cluster->certificate(), authorize, options);
    } else {
        connection = co_await Connection::accept(std::move(stream), m_cluster->device_key(),
                                                 m_cluster->certificate(), authorize, options);
    }
    if (!connection) {
        log_info("forwarded connection with " + describe_peer(peer) + " failed: " +
                 connection.error().message);
        co_return;
    }
    on_connected(std::move(*connection));
}

void Daemon::on_join(std::shared_ptr<Connection> connection) {
    const std::string address = connection->peer_address();
    log_info("a new device is joining from " + address);
    std::vector<std::string> folder_ids;
    if (auto folders = m_device.store->folders(); folders) {
        for (const Folder& f : *folders) folder_ids.push_back(f.id);
    }
    asio::co_spawn(m_io, m_cluster->serve_join(connection, m_own_addresses, folder_ids),
                   [this, address](std::exception_ptr bug, Result<void> joined) {
                       if (bug) {
                           log_error("join from " + address + " failed: internal error");
                       } else if (!joined) {
                           log_warn("join from " + address + " refused: " +
                                    joined.error().message);
                       } else {
                           log_info("a new device joined from " + address);
                           m_engine->cluster_changed();  // the others learn of it now
                       }
                   });
}

void Daemon::apply(const ClusterChanges& changes) {
    const auto own = m_cluster->device_key().public_key();
    for (const DeviceRecord& device : changes.new_or_updated) {
        if (std::equal(own.begin(), own.end(), device.key.begin())) continue;
        log_info("device " + describe_peer(device.key) + " is known at " +
                 (device.addresses.empty() ? std::string("no address yet")
                                           : joined(device.addresses)));
        if (!device.addresses.empty()) m_peers->set_addresses(device.key, device.addresses);
    }
    for (const PublicKey& key : changes.revoked) {
        log_info("device " + short_text(key) + " was removed; refusing it from now on");
        m_peers->forget(key, "this device was removed from the cluster");
        m_relays->revoked(key);
    }
    // Pass what was learned on to the other connected devices (a device that
    // knows it already finds nothing new, so this ends).
    if (!changes.revoked.empty() || !changes.new_or_updated.empty()) m_engine->cluster_changed();
}

// Adds each connection's new bytes to its device's totals in the index, and
// drops connections that have closed.
void Daemon::note_activity() {
    const std::int64_t now = m_clock.now_ns();
    for (Session& s : m_sessions) {
        const std::uint64_t in = s.connection->bytes_in();
        const std::uint64_t out = s.connection->bytes_out();
        if (auto noted = m_device.store->note_device_activity(
                s.connection->peer().device_key, now, in - s.noted_in, out - s.noted_out);
            !noted) {
            log_warn("cannot record activity: " + noted.error().message);
            continue;
        }
        s.noted_in = in;
        s.noted_out = out;
    }
    std::erase_if(m_sessions, [this](const Session& s) {
        if (s.connection->is_open()) return false;
        log_info("disconnected from " + describe_peer(s.connection->peer().device_key));
        m_relays->direct_disconnection(s.connection->peer().device_key);
        return true;
    });
}

void Daemon::schedule_activity() {
    m_activity_timer.expires_after(kActivityInterval);
    m_activity_timer.async_wait([this](std::error_code ec) {
        if (ec || m_stopping) return;
        note_activity();
        schedule_activity();
    });
}

void Daemon::shutdown(const std::string& why) {
    if (m_stopping) return;
    m_stopping = true;
    log_info(why + "; stopping");
    m_activity_timer.cancel();
    m_signals.cancel();
    m_hangup.cancel();
    note_activity();
    if (m_control) m_control->stop();
    if (m_relays) m_relays->stop();
    if (m_engine) m_engine->stop();
    if (m_peers) m_peers->stop();
    // Closes and cancellations complete on the io_context; then it stops
    // even if some coroutine is still winding down.
    m_exit_timer.expires_after(kExitGrace);
    m_exit_timer.async_wait([this](std::error_code) { m_io.stop(); });
}

int run_daemon(const RunFlags& flags) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    auto lock = DaemonLock::acquire(device->paths);
    if (!lock) return report(lock.error());
    DaemonOptions options = daemon_options(config->parsed.config, flags);
    set_log_level(options.log_level);
    // Only the daemon holding the lock writes the home's log file.
    const LogFileScope log_file(device->paths.log_file());
    auto changes = reconcile_folders(*device->store, config->parsed.config.folders);
    if (!changes) return report(changes.error());
    for (const auto& change : *changes) log_info(change);
    Daemon daemon(std::move(*device), std::move(*lock), flags, std::move(options));
    if (auto started = daemon.start(); !started) return report(started.error());
    daemon.run();
    return kExitOk;
}

void add_run_command(CLI::App& app, int& status) {
    auto flags = std::make_shared<RunFlags>();
    auto listen = std::make_shared<std::string>();
    auto rescan_seconds = std::make_shared<double>(0.0);
    auto watcher = std::make_shared<std::string>();
    CLI::App* run = app.add_subcommand(
        "run",
        "Run the daemon in the foreground: listen for and dial this user's other devices, keep "
        "every folder in sync, and answer the other commands over the control socket "
        "(FERRY_HOME/control.sock). One daemon per FERRY_HOME. Reads FERRY_HOME/ferry.toml "
        "first (man ferry.toml; a bad file: exit 1 with its line); the options below override "
        "it. SIGHUP rereads the file. Stops cleanly on SIGINT or SIGTERM. Logs to stderr (with "
        "journald priorities when stderr is the journal) and to FERRY_HOME/ferry.log, which "
        "`ferry log` shows.");
    run->add_option("--listen", *listen,
                    std::string("HOST:PORT to listen on, instead of ferry.toml's listen (default ") +
                        kDefaultListenAddress + "; port 0 picks a free port), or " + kNoListener +
                        ": no listener (this device only dials out, and reaches devices that "
                        "cannot dial it through a relay)")
        ->type_name("HOST:PORT|" + std::string(kNoListener));
    run->add_option("--watcher", *watcher,
                    "How changes are noticed: inotify (default; a change is scanned within a "
                    "fraction of a second, and each folder is rescanned hourly as a safety net) "
                    "or poll (each folder is rescanned every --rescan seconds)")
        ->check(CLI::IsMember({"inotify", "poll"}));
    run->add_option("--rescan", *rescan_seconds,
                    "Seconds between rescans of a folder that is polled (default: ferry.toml's "
                    "rescan_interval, 60)")
        ->check(CLI::Range(0.1, 86400.0));
    run->add_option_function<std::string>(
           "--log-level",
           [flags](const std::string& text) {
               auto level = parse_log_level(text);
               if (!level) throw CLI::ValidationError("--log-level", level.error().message);
               flags->log_level = *level;
           },
           "Least important events to log: error, warn, info or debug (default: ferry.toml's "
           "log_level, info)")
        ->type_name("LEVEL");
    auto send_rate = std::make_shared<std::uint64_t>(0);
    auto recv_rate = std::make_shared<std::uint64_t>(0);
    run->add_option("--max-send-rate", *send_rate,
                    "Limit what all connections together send to KIB KiB/s, instead of "
                    "ferry.toml's max_send_rate (0: unlimited)")
        ->option_text("KIB")
        ->check(CLI::Range(std::uint64_t{0}, kMaxRateKib));
    run->add_option("--max-recv-rate", *recv_rate,
                    "Limit what all connections together receive to KIB KiB/s, instead of "
                    "ferry.toml's max_recv_rate (0: unlimited); the daemon reads more slowly, so "
                    "TCP slows the senders down")
        ->option_text("KIB")
        ->check(CLI::Range(std::uint64_t{0}, kMaxRateKib));
    run->callback([flags, listen, rescan_seconds, watcher, send_rate, recv_rate, run, &status] {
        if (run->count("--listen") != 0) flags->listen = *listen;
        if (run->count("--watcher") != 0) flags->watch = *watcher == "inotify";
        if (run->count("--rescan") != 0) {
            flags->rescan_interval =
                std::chrono::milliseconds(static_cast<std::int64_t>(*rescan_seconds * 1000));
        }
        if (run->count("--max-send-rate") != 0) flags->max_send_rate_kib = *send_rate;
        if (run->count("--max-recv-rate") != 0) flags->max_recv_rate_kib = *recv_rate;
        status = run_daemon(*flags);
    });
}

}  // namespace ferry::cli
