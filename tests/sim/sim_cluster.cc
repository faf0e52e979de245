#include "sim_cluster.hh"

#include <algorithm>
#include <array>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "core/path_rules.hh"
#include "sim_impl.hh"

namespace ferry::sim {

using namespace std::chrono_literals;

namespace {

// 2026-01-01T00:00:00Z: where every device's wall clock starts.
constexpr std::int64_t kEpochNs = 1'767'225'600LL * 1'000'000'000;
// Bounds on one run, so a livelocked engine fails instead of spinning.
constexpr std::uint64_t kMaxPollRounds = 3'000'000;
constexpr auto kSettleLimit = 20min;  // virtual: faults over to quiescence
constexpr auto kQuietCheck = 60s;     // virtual: nothing may change after quiescence

bool mutating(FsOp op) {
    switch (op) {
        case FsOp::open_write: case FsOp::open_update: case FsOp::write: case FsOp::make_dir:
        case FsOp::make_symlink: case FsOp::remove: case FsOp::rename: case FsOp::set_mtime:
        case FsOp::set_mode:
            return true;
        default:
            return false;
    }
}

}  // namespace

std::int64_t SimWallClock::now_ns() const {
    return kEpochNs + MonotonicClock::now().time_since_epoch().count() + skew_ns;
}

SimCluster::Impl::Impl(const SimConfig& config_)
    : config(config_),
      time(TimePoint(1h)),
      started(TimePoint(1h)),
      net_rng(config_.seed ^ 0x6e6574),
      wall_deadline(std::chrono::steady_clock::now() + config_.wall_limit) {
    for (int i = 0; i < config.devices; ++i) {
        auto device = std::make_unique<Device>();
        device->index = i;
        device->name = "d" + std::to_string(i);
        std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
        seed[0] = static_cast<std::uint8_t>(i + 1);
        seed[1] = 0x51;
        device->keys = std::make_unique<KeyPair>(KeyPair::from_seed(seed));
        std::copy(device->keys->public_key().begin(), device->keys->public_key().end(),
                  device->key.begin());
        device->id = DeviceId::from_public_key(device->key);
        const SimWallClock* clock = &device->clock;
        device->disk = std::make_unique<MemoryFilesystem>([clock] { return clock->now_ns(); });
        device->database = std::make_unique<test::CrashableDatabase>(device->name);
        auto store = device->database->open();
        if (!store) throw std::runtime_error("sim: store: " + store.error().message);
        device->store = std::move(*store);
        if (auto added = device->store->add_folder(Folder{kFolderId, "/sim/" + device->name,
                                                          FolderMode::send_receive});
            !added)
            throw std::runtime_error("sim: folder: " + added.error().message);
        devices.push_back(std::move(device));
    }
    if (config.relay != RelayMode::none) setup_relay();
    for (auto& device : devices) device->setup_commits = device->database->commits();
    if (config.crash_point && config.crash_point->at_commit) {
        Device& target = *devices.at(static_cast<std::size_t>(config.crash_point->device));
        target.database->crash_after_commits(config.crash_point->after,
                                             [this, &target] { crash_point_reached(target); });
    }
    for (auto& device : devices) start(*device);
}

SimCluster::Impl::~Impl() {
    for (auto& [pair, l] : links) close_link(l, pair.first, pair.second);
    for (auto& device : devices) {
        device->up = false;
        stop_relays_of(*device);
        device->engine.reset();
        device->io.reset();
        device->store.reset();
    }
    if (relay) stop_relay(0ms);
    if (!home.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(home, ignored);
    }
}

void SimCluster::Impl::mix(const std::string& event) {
    trace = fnv1a(trace == 0 ? kFnvBasis : trace, event.data(), event.size());
}

std::unique_ptr<Filesystem> SimCluster::Impl::disk_for(Device& device) {
    auto disk = std::make_unique<FaultInjectingFilesystem>(*device.disk);
    disk->set_hook([this, &device, life = device.life](FsOp op, std::string_view path)
                       -> Result<void> {
        if (!device.up || device.dead || device.life != life)
            return fail(Errc::io, "sim: the device crashed");
        check_path(path, device);
        const bool syncs = op == FsOp::sync || op == FsOp::sync_dir || op == FsOp::sync_paths;
        if (mutating(op) || syncs) {
            ++device.writing_calls;
            const auto& point = config.crash_point;
            if (point && !point->at_commit && point->device == device.index &&
                device.writing_calls == point->after + 1) {
                crash_point_reached(device);
                return fail(Errc::io, "sim: the device crashed");
            }
        }
        if (!mutating(op)) return {};
        // Removing a stale temporary is cleaning up, not a change that syncs.
        if (!(op == FsOp::remove && is_temporary_path(path))) ++disk_changes;
        const std::string change = device.name + " fs " + std::to_string(static_cast<int>(op)) +
                                   " " + std::string(path);
        mix(change);
        if (recent_changes.size() == 8) recent_changes.erase(recent_changes.begin());
        recent_changes.push_back(change);
        const TimePoint now = time.now();
        if (now < device.disk_full_until && op != FsOp::remove && op != FsOp::rename)
            return fail(Errc::no_space, "sim: no space left on device");
        if (now < device.deny_until && is_within(path, device.deny_dir))
            return fail(Errc::permission_denied, "sim: permission denied");
        return {};
    });
    return disk;
}

void SimCluster::Impl::start(Device& device) {
    ++device.life;
    device.up = true;
    device.dead = false;
    if (!device.store) {
        device.database->revive();
        auto store = device.database->open();
        if (!store) {
            violations.push_back({"restart", device.name + ": store: " + store.error().message});
            return;
        }
        device.store = std::move(*store);
    }
    device.io = std::make_unique<asio::io_context>(1);
    EngineOptions options;
    options.local_device = device.id;
    options.rescan_interval = 10s;
    options.request_timeout = 5s;
    options.pull_window_bytes = 256u << 10;
    options.scan_threads = 1;
    options.release_memory_when_quiet = false;
    device.engine = std::make_unique<Engine>(
        *device.io, device.io->get_executor(), *device.store,
        [this, &device](const Folder&) -> Result<std::unique_ptr<Filesystem>> {
            return disk_for(device);
        },
        device.clock, options);
    if (auto started_ok = device.engine->start(); !started_ok)
        violations.push_back({"restart", device.name + ": " + started_ok.error().message});
    if (relay) start_relays_of(device);
    mix(device.name + " start");
}

void SimCluster::Impl::crash(Device& device, std::chrono::milliseconds down, bool power_cut) {
    if (!device.up) return;
    mix(device.name + (power_cut ? " power cut" : " crash"));
    ++crashes;
    device.up = false;  // from here its disk refuses everything
    for (auto& [pair, l] : links)
        if (pair.first == device.index || pair.second == device.index)
            close_link(l, pair.first, pair.second);
    stop_relays_of(device);
    device.engine.reset();
    device.io.reset();     // what the daemon had not done yet is gone
    device.store.reset();  // and the transaction it had open
    if (power_cut) device.disk->power_cut();
    device.restart_at = time.now() + down;
}

void SimCluster::Impl::crash_point_reached(Device& device) {
    if (device.dead) return;
    device.dead = true;
    // Nothing it does from here on may reach its peers.
    for (auto& [pair, l] : links)
        if (pair.first == device.index || pair.second == device.index) {
            if (l.a_end) l.a_end->close("sim: crash point");
            if (l.b_end) l.b_end->close("sim: crash point");
        }
}

Link& SimCluster::Impl::link(int a, int b) { return links[{std::min(a, b), std::max(a, b)}]; }

void SimCluster::Impl::close_link(Link& l, int a, int b) {
    if (!l.a_end) return;
    mix("cut " + std::to_string(a) + "-" + std::to_string(b));
    l.a_end->close("sim: connection cut");
    l.b_end->close("sim: connection cut");
    l.a_end.reset();
    l.b_end.reset();
    direct_link_changed(*devices[a], *devices[b], false);
    // As a peer manager's backoff: a while before the next attempt.
    l.retry_at = time.now() + std::chrono::milliseconds(300 + net_rng() % 1'700);
}

// What a direct connection's peer says of itself: with a relay, kept for a
// later relay link to start from, as the daemon does.
std::function<void(const wire::ClusterConfig&)> SimCluster::Impl::remember_config(Device& here,
                                                                                  Device& peer) {
    if (!relay) return [](const wire::ClusterConfig&) {};
    return [&here, id = peer.id](const wire::ClusterConfig& config) {
        if (here.store) (void)save_peer_config(*here.store, id, config);
    };
}

void SimCluster::Impl::housekeeping() {
    const TimePoint now = time.now();
    for (auto& device : devices)
        if (device->up && device->dead) crash(*device, std::chrono::seconds(1), true);
    for (auto& device : devices)
        if (!device->up && now >= device->restart_at) start(*device);
    if (relay && !relay->server && now >= relay->restart_at) start_relay();
    if (config.relay == RelayMode::only) return;  // no direct connections
    for (int a = 0; a < config.devices; ++a) {
        for (int b = a + 1; b < config.devices; ++b) {
            Link& l = link(a, b);
            if (l.a_end && (!l.a_end->is_open() || !l.b_end->is_open())) close_link(l, a, b);
            if (l.a_end || now < l.retry_at || now < l.partitioned_until) continue;
            Device& da = *devices[a];
            Device& db = *devices[b];
            if (!da.up || !db.up) continue;
            test::PipeOptions options;
            options.transit = net_io.get_executor();
            options.latency = [this] {
                // Mostly a LAN, sometimes a slow path.
                const auto ms = net_rng() % 10 == 0 ? 50 + net_rng() % 400 : net_rng() % 20;
                return std::chrono::milliseconds(ms) + std::chrono::microseconds(net_rng() % 1000);
            };
            auto [end_a, end_b] = test::make_message_pipe(da.io->get_executor(),
                                                          db.io->get_executor(), da.key, db.key,
                                                          std::move(options));
            l.a_end = end_a;
            l.b_end = end_b;
            auto config_fn = [] { return wire::ClusterConfig{}; };
            da.engine->add_connection(end_a, config_fn, remember_config(da, db));
            db.engine->add_connection(end_b, config_fn, remember_config(db, da));
            direct_link_changed(da, db, true);
            mix("link " + std::to_string(a) + "-" + std::to_string(b));
        }
    }
}

std::optional<TimePoint> SimCluster::Impl::next_housekeeping() const {
    const TimePoint now = time.now();
    std::optional<TimePoint> next;
    auto consider = [&](TimePoint t) {
        if (t > now && (!next || t < *next)) next = t;
    };
    for (const auto& device : devices) {
        if (!device->up) consider(device->restart_at);
        consider(device->disk_full_until);
        consider(device->deny_until);
    }
    for (const auto& [pair, l] : links) {
        if (l.a_end) continue;
        consider(l.retry_at);
        consider(l.partitioned_until);
    }
    if (relay && !relay->server) consider(relay->restart_at);
    return next;
}

void SimCluster::Impl::advance_to(TimePoint when) {
    time.advance_to(when);
    for (auto& device : devices)
        if (device->io) time.recheck_if_due(*device->io);
    if (relay && relay->io) time.recheck_if_due(*relay->io);
    time.recheck_if_due(net_io);
}

std::size_t SimCluster::Impl::poll_all() {
    std::size_t ran = 0;
    for (auto& device : devices) {
        if (!device->io) continue;
        device->io->restart();
        ran += device->io->poll();
    }
    if (relay && relay->io) {
        relay->io->restart();
        ran += relay->io->poll();
    }
    net_io.restart();
    ran += net_io.poll();
    return ran;
}

bool SimCluster::Impl::exhausted() {
    if (iterations > kMaxPollRounds) {
        violations.push_back({"termination", "more than " + std::to_string(kMaxPollRounds) +
                                                 " rounds of handlers (livelock)"});
    } else if (config.wall_limit.count() > 0 && iterations % 64 == 0 &&
               std::chrono::steady_clock::now() > wall_deadline) {
        violations.push_back(
            {kWallTimeInvariant,
             "the run took over " + std::to_string(config.wall_limit.count() / 1000) +
                 " s of real time (" + std::to_string(iterations) + " rounds of handlers, " +
                 std::to_string(std::chrono::duration_cast<std::chrono::seconds>(time.now() - started)
                                    .count()) +
                 " s of virtual time): livelock suspected"});
    } else {
        return false;
    }
    livelock = true;
    violations.push_back({"termination", "engines: " + engine_states()});
    return true;
}

void SimCluster::Impl::run_for(std::chrono::nanoseconds span) {
    const TimePoint until = time.now() + span;
    while (!livelock) {
        housekeeping();
        while (poll_all() > 0) {
            ++iterations;
            if (exhausted()) return;
            housekeeping();
        }
        ++iterations;
        if (exhausted()) return;
        std::optional<TimePoint> next = time.next_due();
        if (auto h = next_housekeeping(); h && (!next || *h < *next)) next = h;
        if (!next || *next >= until) {
            advance_to(until);
            housekeeping();
            while (poll_all() > 0 && ++iterations <= kMaxPollRounds) housekeeping();
            return;
        }
        advance_to(*next);
        mix("t " + std::to_string(time.now().time_since_epoch().count()));
    }
}

void SimCluster::Impl::apply_fault(const Step& step) {
    Device& device = *devices[static_cast<std::size_t>(step.device)];
    const auto duration = std::chrono::milliseconds(step.duration_ms);
    switch (step.kind) {
        case StepKind::crash:
            crash(device, duration, step.pick2 % 2 == 0);
            break;
        case StepKind::partition:
            for (int a = 0; a < config.devices; ++a) {
                for (int b = a + 1; b < config.devices; ++b) {
                    const bool a_in = (step.devices >> a) & 1;
                    const bool b_in = (step.devices >> b) & 1;
                    if (a_in == b_in) continue;
                    Link& l = link(a, b);
                    close_link(l, a, b);
                    l.partitioned_until = std::max(l.partitioned_until, time.now() + duration);
                }
            }
            break;
        case StepKind::cut:
            for (auto& [pair, l] : links)
                if (pair.first == step.device || pair.second == step.device)
                    close_link(l, pair.first, pair.second);
            break;
        case StepKind::disk_full:
            device.disk_full_until = time.now() + duration;
            break;
        case StepKind::deny: {
            // A directory the device has, or the whole folder.
            const Tree tree = tree_of(device, false);
            std::vector<std::string> dirs{""};
            for (const auto& [path, what] : tree)
                if (what[0] == 'd') dirs.push_back(path);
            device.deny_dir = dirs[step.pick % dirs.size()];
            device.deny_until = time.now() + duration;
            break;
        }
        case StepKind::skew:
            device.clock.skew_ns += std::int64_t{step.amount} * 1'000'000'000;
            break;
        case StepKind::relay_restart:
            if (relay) stop_relay(duration);
            break;
        case StepKind::alone: {
            const auto period = std::chrono::milliseconds(alone_ms(step));
            for (auto& other : devices)
                if (other.get() != &device) crash(*other, period, false);
            if (!device.up) start(device);
            break;
        }
        default:
            break;
    }
}

std::string SimCluster::Impl::engine_states() {
    std::string out;
    for (auto& device : devices) {
        out += (out.empty() ? "" : "; ") + device->name + ":";
        if (!device->up) {
            out += " down";
            continue;
        }
        for (const FolderStatus& folder : device->engine->status().folders) {
            out += " " + folder.state + ", need " + std::to_string(folder.need_files) + " files";
            for (const PathProblem& problem : folder.problems)
                out += ", problem " + problem.path + ": " + problem.message;
            if (!folder.error.empty()) out += ", error " + folder.error;
        }
        if (device->relays) out += ", relay " + device->relays->status_json().dump();
    }
    return out;
}

bool SimCluster::Impl::converged(std::string* why) {
    for (auto& device : devices) {
        if (!device->up) {
            *why = device->name + " is down";
            return false;
        }
    }
    for (const auto& [pair, l] : links) {
        if (config.relay == RelayMode::only) break;
        if (!l.a_end || !l.a_end->is_open()) {
            *why = "link " + std::to_string(pair.first) + "-" + std::to_string(pair.second) +
                   " is not up";
            return false;
        }
    }
    const Tree first = tree_of(*devices[0], false);
    for (std::size_t i = 1; i < devices.size(); ++i) {
        const Tree other = tree_of(*devices[i], false);
        if (other == first) continue;
        auto a = first.begin();
        auto b = other.begin();
        while (a != first.end() && b != other.end() && *a == *b) ++a, ++b;
        const std::string& path = a == first.end() || (b != other.end() && b->first < a->first)
                                      ? b->first
                                      : a->first;
        const auto entry = [&path](const Tree& tree) {
            auto it = tree.find(path);
            return it == tree.end() ? std::string("nothing") : it->second;
        };
        *why = "trees of d0 and " + devices[i]->name + " differ at " + path + ": " + entry(first) +
               ", " + entry(other);
        return false;
    }
    if (relay && !relay_settled(why)) return false;
    std::string not_in_sync;
    for (auto& device : devices) {
        const EngineStatus status = device->engine->status();
        if (!status.in_sync) {
            std::ostringstream out;
            out << device->name << " not in sync:";
            for (const auto& folder : status.folders) {
                out << " state=" << folder.state << " need_files=" << folder.need_files
                    << " error=" << folder.error;
                for (const auto& problem : folder.problems)
                    out << " [" << problem.path << ": " << problem.message << "]";
                for (const auto& d : folder.devices)
                    out << " {" << d.device.to_string().substr(0, 7) << " connected=" << d.connected
                        << " in_sync=" << d.in_sync << "}";
            }
            not_in_sync += (not_in_sync.empty() ? "" : "; ") + out.str();
        }
    }
    if (!not_in_sync.empty()) {
        *why = not_in_sync;
        return false;
    }
    return true;
}

SimCluster::SimCluster(const SimConfig& config) : m_impl(std::make_unique<Impl>(config)) {
    m_impl->run_for(2s);  // first scans, first connections
}

SimCluster::~SimCluster() = default;

void SimCluster::run_step(const Step& step) {
    Impl& impl = *m_impl;
    if (impl.livelock) return;
    ++impl.steps_run;
    impl.mix(describe(step));
    if (is_fault(step.kind))
        impl.apply_fault(step);
    else
        impl.apply_user_step(step);
    impl.run_for(std::chrono::milliseconds(step.gap_ms));
    impl.check_visible_files();
}

std::vector<Violation> SimCluster::finish() {
    Impl& impl = *m_impl;
    if (impl.livelock) return impl.violations;
    // The faults end: disks work, partitions heal, crashed devices restart.
    for (auto& device : impl.devices) {
        device->disk_full_until = {};
        device->deny_until = {};
        device->restart_at = impl.time.now();
    }
    for (auto& [pair, l] : impl.links) {
        l.partitioned_until = {};
        l.retry_at = std::min(l.retry_at, impl.time.now());
    }
    if (impl.relay) impl.relay->restart_at = impl.time.now();
    // Crashed devices restart; then every device scans as if asked to (a
    // periodic scan leaves a file changed a moment ago for later: a change
    // a user made while the daemon was down would be found only then).
    impl.run_for(1s);
    for (auto& device : impl.devices)
        if (device->up) device->engine->request_scan("");
    // A crash point may fall after quiescence (a periodic rescan commits):
    // then the devices settle again, at most a few times.
    for (int round = 0;; ++round) {
        const TimePoint deadline = impl.time.now() + kSettleLimit;
        std::string why;
        while (!impl.livelock && !impl.converged(&why) && impl.time.now() < deadline)
            impl.run_for(500ms);
        if (impl.livelock) return impl.violations;
        if (!impl.converged(&why)) {
            impl.violations.push_back(
                {"termination",
                 "not converged " +
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::seconds>(kSettleLimit).count()) +
                     " s after the faults ended: " + why});
            // What differs, and what each engine says it is doing, to tell why.
            auto differences = impl.check_final();
            impl.violations.insert(impl.violations.end(), differences.begin(), differences.end());
            impl.violations.push_back({"termination", "engines: " + impl.engine_states()});
            return impl.violations;
        }
        // Quiescent: nothing may change any more (no ping-pong between devices).
        const std::uint64_t changes = impl.disk_changes;
        const std::uint64_t crashes = impl.crashes;
        std::vector<Tree> before;
        for (auto& device : impl.devices) before.push_back(impl.tree_of(*device, false));
        impl.run_for(kQuietCheck);
        if (impl.crashes != crashes && round < 3) continue;
        if (impl.disk_changes != changes) {
            std::string last;
            const auto n =
                std::min<std::uint64_t>(impl.disk_changes - changes, impl.recent_changes.size());
            for (auto i = impl.recent_changes.size() - n; i < impl.recent_changes.size(); ++i)
                last += " [" + impl.recent_changes[i] + "]";
            impl.violations.push_back({"termination", std::to_string(impl.disk_changes - changes) +
                                                          " disk changes after quiescence (ping-pong):" +
                                                          last});
        }
        for (std::size_t i = 0; i < impl.devices.size(); ++i)
            if (impl.tree_of(*impl.devices[i], false) != before[i])
                impl.violations.push_back(
                    {"termination", impl.devices[i]->name + "'s tree changed after quiescence"});
        break;
    }
    auto final_checks = impl.check_final();
    impl.violations.insert(impl.violations.end(), final_checks.begin(), final_checks.end());
    for (auto& device : impl.devices)
        for (const auto& [path, what] : impl.tree_of(*device, true)) impl.mix(path + " " + what);
    return impl.violations;
}

std::uint64_t SimCluster::trace() const { return m_impl->trace; }

std::uint64_t SimCluster::writing_calls(int device) const {
    return m_impl->devices.at(static_cast<std::size_t>(device))->writing_calls;
}

std::uint64_t SimCluster::commits(int device) const {
    const Device& d = *m_impl->devices.at(static_cast<std::size_t>(device));
    return d.database->commits() - d.setup_commits;
}

MemoryFilesystem& SimCluster::disk(int device) {
    return *m_impl->devices.at(static_cast<std::size_t>(device))->disk;
}

RunOutcome run_scenario(const SimConfig& config, const std::vector<Step>& steps) {
    SimCluster cluster(config);
    for (const Step& step : steps) cluster.run_step(step);
    RunOutcome outcome;
    outcome.violations = cluster.finish();
    outcome.trace = cluster.trace();
    const int device = config.crash_point ? config.crash_point->device : 0;
    outcome.writing_calls = cluster.writing_calls(device);
    outcome.commits = cluster.commits(device);
    return outcome;
}

}  // namespace ferry::sim
