// SimCluster's insides, shared by sim_cluster.cc (devices, network, time,
// faults), user_actions.cc (what users do to the disks) and invariants.cc
// (the checks). Not for other users.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "cli/daemon_relays.hh"
#include "core/ignore.hh"
#include "crypto/identity.hh"
#include "fs/fault_filesystem.hh"
#include "fs/memory_filesystem.hh"
#include "net/clock.hh"
#include "net/monotonic_time.hh"
#include "sim_cluster.hh"
#include "store/store.hh"
#include "support/crashable_store.hh"
#include "relay/relay_identity.hh"
#include "relay/relay_server.hh"
#include "relay/relay_service.hh"
#include "sync/cluster.hh"
#include "sync/engine.hh"
#include "../sync/message_pipe.hh"

namespace ferry::sim {

using Clock = MonotonicClock;
using TimePoint = MonotonicClock::time_point;
inline constexpr const char* kFolderId = "shared";

// Whether the last component of `path` is one of ferry's temporary files.
inline bool is_temporary_path(std::string_view path) {
    const auto slash = path.rfind('/');
    return temporary_target(slash == std::string_view::npos ? path : path.substr(slash + 1))
        .has_value();
}

// A device's wall clock: the virtual time from a fixed date, plus its skew.
class SimWallClock final : public ferry::Clock {
public:
    std::int64_t now_ns() const override;
    std::int64_t skew_ns = 0;
};

// What is on a disk, by path (internal paths and temporaries left out unless
// asked for): "f <mode> <digest>", "d <mode>", "l <target>".
using Tree = std::map<std::string, std::string>;

struct Device {
    int index = 0;
    std::string name;
    std::unique_ptr<KeyPair> keys;
    PublicKey key{};
    DeviceId id;
    SimWallClock clock;
    std::unique_ptr<MemoryFilesystem> disk;  // outlives crashes
    std::unique_ptr<test::CrashableDatabase> database;  // outlives crashes: what was committed
    std::unique_ptr<Store> store;                         // one per life
    std::uint64_t setup_commits = 0;  // the simulation's own, before the first start
    IdentityFiles identity;  // with a relay: key and certificate files (the relay needs them)
    // One life of the daemon: made at start, dropped at a crash.
    std::unique_ptr<asio::io_context> io;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<Cluster> cluster;           // with a relay
    std::unique_ptr<cli::DaemonRelays> relays;  // with a relay
    std::uint64_t life = 0;  // counts starts; a disk wrapper of an earlier life fails every call
    bool up = false;
    bool dead = false;  // reached a crash point: its disk and store refuse all, until crash()
    std::uint64_t writing_calls = 0;  // changes and syncs to its disk, all lives
    TimePoint restart_at{};
    TimePoint disk_full_until{};
    TimePoint deny_until{};
    std::string deny_dir;
};

// The relay (SimConfig::relay): its data folder outlives restarts.
struct SimRelay {
    std::string data_dir;
    std::string url;
    std::unique_ptr<relay::RelayIdentity> identity;
    // One life: made at start, dropped at a restart.
    std::unique_ptr<asio::io_context> io;
    std::unique_ptr<relay::RelayService> service;
    std::unique_ptr<relay::RelayServer> server;
    TimePoint restart_at{};
    std::uint64_t dials = 0;
};

struct Link {
    std::shared_ptr<test::PipeEnd> a_end;  // the lower-numbered device's end
    std::shared_ptr<test::PipeEnd> b_end;
    TimePoint retry_at{};            // when a closed link may be made again
    TimePoint partitioned_until{};   // no link before
};

struct SimCluster::Impl {
    explicit Impl(const SimConfig& config);
    ~Impl();

    // sim_cluster.cc
    void start(Device& device);
    // The daemon dies (with a power cut: so does what the disk had not made durable).
    void crash(Device& device, std::chrono::milliseconds down, bool power_cut);
    // From inside a disk call or a commit: the device is dead from here on;
    // the loop finishes the crash once the handler running returns.
    void crash_point_reached(Device& device);
    void apply_fault(const Step& step);
    void run_for(std::chrono::nanoseconds span);
    // Whether the run must stop: past kMaxPollRounds or its wall-time limit
    // (then `livelock` is set and the violation recorded).
    bool exhausted();
    // Moves virtual time on, and has every io_context look at its timers.
    void advance_to(TimePoint when);
    std::size_t poll_all();
    void housekeeping();
    std::optional<TimePoint> next_housekeeping() const;
    Link& link(int a, int b);
    std::function<void(const wire::ClusterConfig&)> remember_config(Device& here, Device& peer);
    void close_link(Link& link, int a, int b);
    std::unique_ptr<Filesystem> disk_for(Device& device);
    bool converged(std::string* why);
    // Each device's folder state, needs and problems, and its relay state: for reports.
    std::string engine_states();
    void mix(const std::string& event);

    // sim_relay.cc (with a relay)
    void setup_relay();       // identities, the account, each store's relay entry
    void start_relay();
    void stop_relay(std::chrono::milliseconds down);
    void start_relays_of(Device& device);  // the device's DaemonRelays, once its engine runs
    void stop_relays_of(Device& device);
    void direct_link_changed(Device& a, Device& b, bool up);
    Result<std::unique_ptr<ByteStream>> dial_relay(Device& device);
    bool relay_settled(std::string* why);

    // user_actions.cc: one user's step on a device's disk (the daemon may
    // be down); records each write and what each change replaced.
    void apply_user_step(const Step& step);

    // invariants.cc
    Tree tree_of(Device& device, bool with_internal);
    std::map<std::string, FileRecord> index_of(Device& device);
    // Where the devices' indexes differ (at most `max`), one line each.
    std::vector<std::string> index_differences(std::size_t max);
    std::vector<Violation> check_final();
    void check_visible_files();
    void check_path(std::string_view path, const Device& device);

    SimConfig config;
    VirtualTime time;
    TimePoint started;
    std::mt19937_64 net_rng;  // latencies, reconnection delays
    asio::io_context net_io;   // messages on their way
    std::string home;          // with a relay: a temporary folder for identities and the relay
    std::unique_ptr<SimRelay> relay;
    std::vector<std::unique_ptr<Device>> devices;
    std::map<std::pair<int, int>, Link> links;
    std::uint64_t trace = 0;
    std::uint64_t disk_changes = 0;  // changes engines made to disks
    std::vector<std::string> recent_changes;  // the latest few, for reports
    std::uint64_t iterations = 0;    // poll rounds, against livelock
    std::chrono::steady_clock::time_point wall_deadline{};  // config.wall_limit from the start
    int steps_run = 0;
    std::uint64_t crashes = 0;
    bool livelock = false;
    std::vector<Violation> violations;  // found along the way

    // The users' writes: content digest -> how many writes of it no later
    // change (made by a user who saw it) has replaced; and what each is.
    std::map<std::uint64_t, int> live_writes;
    std::map<std::uint64_t, std::string> write_origin;
    std::set<std::uint64_t> known_contents;  // every content a user wrote
    std::set<int> writers;                   // devices where users changed content
};

}  // namespace ferry::sim
