// The planner's simulation harness (tests only): devices that edit
// concurrently, exchange their indexes and apply their plans in memory, the
// way the engine records a step's target.
//
// Deterministic per seed: every random choice comes from one mt19937_64 and
// every event is logged as one short line (history()), so a failing seed can
// print the operations that led to it. The checks return the invariants
// broken as readable lines instead of asserting, so the caller can add the
// seed and the history to the failure.
//
// Two kinds of edits: flat (a few fixed paths, any kind at any path, as a
// stress of the per-path rules) and tree (nested paths that users change as
// a shell would: mkdir -p, rm -r, mv of files and directories into each
// other, so concurrent moves can form cycles). In tree mode a plan's
// application is followed by what the engine and its scanner do to the
// tree: a directory that must exist for a live entry beneath it (made by
// make_dirs, or kept when its removal found entries) is recorded as a new
// local version. Conflict copies are never moved or deleted by the users.
//
// Not thread-safe: one Sim per test.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "core/planner.hh"

namespace ferry::test {

using Records = std::map<std::string, FileRecord>;

struct SimDevice {
    ShortId id;
    std::string name;  // "d1", "d2", ... in logs
    Records records;
    std::map<ShortId, Records> seen;  // each peer's records as last announced
    std::int64_t next_sequence = 1;
};

struct SimOptions {
    int devices = 2;
    // An edit's mtime is later than the version it edits (clocks roughly
    // right); without, mtimes are random (any skew).
    bool causal_clocks = true;
    bool tree = false;
};

// Whether `path` lies beneath the directory `dir` (at any depth).
bool beneath(std::string_view path, std::string_view dir);
// The directories above `path`, shallowest first.
std::vector<std::string> ancestors(const std::string& path);
// A device's log name ("d1") from its short id.
std::string name_of(ShortId id, std::span<const SimDevice> devices);

// Content id of a live file record made by the sim (0: not a file).
std::uint64_t content_of(const FileRecord& r);

// Stores the records a step leaves, as the engine does: the conflict copy
// first (a new local change of `d`), a rename's source tombstone and moved
// entries, then the target. An error names the step whose preconditions on
// the records do not hold (a copy of what is not a live file, a rename
// from what is gone or holds other content).
std::optional<std::string> apply_step(SimDevice& d, const PathStep& step);

// One line: kind, content or link target, vector, mtime, modified_by.
std::string describe(const FileRecord& r, std::span<const SimDevice> devices);

// "write_file a/b", "rename m3 <- a", ... for logs.
std::string describe(const PathStep& step);

class Sim {
public:
    // Called with a device before a plan is applied, and the plan.
    using PlanObserver = std::function<void(const SimDevice&, std::span<const PathStep>)>;

    Sim(std::uint64_t seed, SimOptions options);

    void random_event();
    // Exchanges and plans until nothing changes; the number of rounds taken
    // (max_rounds if no fixed point was reached).
    int quiesce(int max_rounds);
    // Every device announces to every other, and each plans once, in order.
    void sync_round();

    // Scripted tree edits at device `d` (no-ops where a shell would fail).
    void write(std::size_t d, const std::string& path);
    void make_directory(std::size_t d, const std::string& path);
    void move(std::size_t d, const std::string& from, const std::string& to);

    void set_observer(PlanObserver observer) { m_observer = std::move(observer); }

    // The invariants; each broken one as a line.
    // All devices hold identical records (a missing path = a tombstone), and
    // every step applied fitted the records it was planned against.
    std::vector<std::string> check_converged() const;
    // Every file version made is current at its path, or was superseded by
    // a device that held it, or is kept as its conflict copy (and the
    // copies are exactly those); a copy is kept only of a version truly
    // concurrent with another at its path, and no copy is of a copy.
    std::vector<std::string> check_nothing_lost();
    // Tree mode: no live entry beneath a live file or symlink, and every
    // live entry's parent a live directory.
    std::vector<std::string> check_tree() const;

    const std::vector<std::string>& history() const { return m_history; }
    std::span<const SimDevice> devices() const { return m_devices; }
    int copies() const { return m_copies; }
    int lost_conflicts() const { return m_lost_conflicts; }
    int renames() const { return m_renames; }
    int tree_renames() const { return m_tree_renames; }
    int remade_directories() const { return m_remade; }

private:
    // One file version made by a user: where, when and by whom (what its
    // conflict copy is named after), its content and its version.
    struct Made {
        std::uint64_t content = 0;
        VersionVector version;
        bool superseded = false;  // a device holding it edited, moved or deleted it
        std::map<std::string, VersionVector> seen_beneath;  // the maker's records beneath it then
    };
    // Any local change, and the maker's records of the directories above it then.
    struct Change {
        VersionVector version;
        bool live = false;
        std::map<std::string, VersionVector> seen_above;
    };
    using MadeKey = std::tuple<std::string, std::int64_t, ShortId>;

    // Whether a live change was made beneath `path` that the maker of
    // `made` had not seen, by a device that had not seen `made` either.
    bool buried_entry(const std::string& path, const Made& made) const;

    SimDevice& pick();
    void log(std::string line);
    // A new local change at `path` by `d`: the vector after the old one and
    // an mtime unique per edit (copies are named to the second), unrelated
    // to causality unless clocks are causal.
    FileRecord local_change(SimDevice& d, const std::string& path);
    // Stores a local change and remembers it among the changes made at its
    // path (and a file version among those made).
    void store_change(SimDevice& d, FileRecord r);
    void supersede(const SimDevice& d, const std::string& path);
    // Moves the live record at `from` and (`with_entries`) every live entry
    // beneath it but conflict copies, to `to`: a rename on disk, same
    // content and mtime.
    void move_records(SimDevice& d, const std::string& from, const std::string& to,
                      bool with_entries);

    void flat_edit(SimDevice& d);
    void tree_edit(SimDevice& d);
    // mkdir -p of the directories above `path`; false if one is a live file
    // or symlink (nothing made then).
    bool make_parents(SimDevice& d, const std::string& path);
    // rm -r (conflict copies stay); false if a copy beneath keeps it.
    bool remove_tree(SimDevice& d, const std::string& path, bool replacing);
    void write_at(SimDevice& d, const std::string& path, FileKind kind);

    void announce(const SimDevice& from, SimDevice& to) { to.seen[from.id] = from.records; }
    bool plan(SimDevice& d);
    // What the engine's make_dirs, kept directories and the next scan record.
    void settle_tree(SimDevice& d);

    std::mt19937_64 m_rng;
    SimOptions m_options;
    std::vector<SimDevice> m_devices;
    PlanObserver m_observer;
    std::vector<std::string> m_history;
    std::map<MadeKey, Made> m_made;
    std::map<std::string, std::vector<Change>> m_changes_made;  // local changes per path
    std::vector<std::string> m_plan_errors;
    std::uint64_t m_contents = 0;
    int m_edits = 0;
    int m_moves = 0;
    int m_copies = 0;
    int m_lost_conflicts = 0;
    int m_renames = 0;
    int m_tree_renames = 0;
    int m_remade = 0;
};

// The seeds a test runs: [first, last], or only $FERRY_PLANNER_SEED when set.
std::vector<std::uint64_t> seeds_to_run(std::uint64_t first, std::uint64_t last);
// Whether one seed was asked for (then tests print its history even when it passes).
bool replaying();

// A failure report: the seed, how to replay it, the operations and the
// invariants broken.
std::string failure_report(std::string_view test, std::uint64_t seed, const Sim& sim,
                           std::span<const std::string> broken);
// Fails the running Catch test (and goes on) with failure_report() if
// anything is broken; when replaying one seed, shows the report anyway.
void report_seed(std::string_view test, std::uint64_t seed, const Sim& sim,
                 std::span<const std::string> broken);

}  // namespace ferry::test
