// A cluster of 3-5 devices running the real engine (planner, puller, store,
// protocol sessions) in one thread: each device has an in-memory disk
// (fs/memory_filesystem.hh), an in-memory store and its own io_context;
// devices talk over message pipes whose messages take a random while to
// arrive; all time is virtual (net/monotonic_time.hh) and all randomness
// comes from the seed, so a seed replays exactly (the trace says so).
//
// With a relay (SimConfig::relay), a real ferry-relay (service and server,
// relay/) runs on its own io_context and stores under a temporary folder;
// each device runs the daemon's own relay code (cli/daemon_relays.hh: relay
// client, mailboxes, relay links) and reaches the relay over in-memory byte
// pipes, with the real handshake and encryption.
//
// run_step() applies one scenario step (a user's change, or a fault: a
// daemon crash or a power cut, which also loses what was not fsynced
// (MemoryFilesystem::power_cut, a store transaction not committed), a partition, cut
// connections, a full disk, denied writes, a skewed clock, a relay restart,
// one device running alone) and lets the step's virtual time pass. finish() ends the faults, runs to quiescence and
// checks the invariants (invariants.hh), returning what broke.
//
// Thread rule: one thread; it installs the virtual time for its lifetime.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fs/memory_filesystem.hh"
#include "scenario.hh"

namespace ferry::sim {

struct Violation {
    std::string invariant;  // e.g. "convergence", "no lost write"
    std::string detail;
};

// Crash-point mode: one device loses power right after its `after`-th
// writing call to its disk (a change or a sync), or its `after`-th store
// commit, counted from the start (from 1); it restarts a second later.
struct CrashPoint {
    int device = 0;
    bool at_commit = false;
    std::uint64_t after = 0;
};

struct SimConfig {
    std::uint64_t seed = 1;
    int devices = 3;
    std::optional<CrashPoint> crash_point;
    RelayMode relay = RelayMode::none;
    // Real time one run may take (0: no limit). A run past it stops with a
    // "wall time" violation: a livelock whose rounds grow slower would
    // otherwise outlast the bound on rounds by hours. Unlike every other
    // violation it depends on the machine, so it is not replayed or shrunk.
    std::chrono::milliseconds wall_limit{0};
};

inline constexpr const char* kWallTimeInvariant = "wall time";

class SimCluster {
public:
    explicit SimCluster(const SimConfig& config);
    ~SimCluster();
    SimCluster(const SimCluster&) = delete;
    SimCluster& operator=(const SimCluster&) = delete;

    void run_step(const Step& step);
    std::vector<Violation> finish();
    // A digest of everything that happened: steps, virtual times, every
    // change each engine made on its disk, the final trees.
    std::uint64_t trace() const;
    std::uint64_t writing_calls(int device) const;
    std::uint64_t commits(int device) const;
    // A device's disk, for tests that play a bug (a change no user made).
    MemoryFilesystem& disk(int device);

    struct Impl;

private:
    std::unique_ptr<Impl> m_impl;
};

// Runs a scenario from start to finish (the steps `keep` selects, all when
// it is empty) and returns what broke, and the trace.
struct RunOutcome {
    std::vector<Violation> violations;
    std::uint64_t trace = 0;
    // Of the crash point's device (device 0 without one): the writing calls
    // to its disk and the store commits it made, crash points for a next run.
    std::uint64_t writing_calls = 0;
    std::uint64_t commits = 0;
};
RunOutcome run_scenario(const SimConfig& config, const std::vector<Step>& steps);

}  // namespace ferry::sim
