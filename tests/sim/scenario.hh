// A simulation scenario: the list of steps a seed stands for (what users do
// on which device, and which faults strike), made up front from the seed so
// that a failing scenario can be shrunk by leaving steps out and replayed.
// Steps name no paths: each picks among what its device holds when it runs
// (`pick` modulo the count), so a step stays meaningful when others are
// left out. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::sim {

enum class StepKind : std::uint8_t {
    // What a user does (on a device whose daemon may be down, too).
    create,       // a new file (name from a small pool, so names collide)
    overwrite,    // new content for an existing file
    truncate,     // shorter
    append,       // longer
    insert,       // bytes inserted in the middle
    duplicate,    // a new file with another file's exact content
    edit_shared,  // the same path written on several devices at once
    remove,       // a file or symlink
    remove_tree,  // a directory and everything in it
    rename,       // a file, symlink or directory, to a new or existing name
    mkdir,
    rmdir,  // an empty directory
    chmod,
    symlink,
    // Faults.
    crash,      // the device's daemon dies, and with an even pick2 its power (what was
                // not fsynced is lost); it restarts after `duration_ms`
    partition,  // the devices in `devices` cannot reach the others for `duration_ms`
    cut,        // every connection of the device is cut (messages on the way lost)
    disk_full,  // the device's writes fail with "no space" for `duration_ms`
    deny,       // writes under one directory fail with "permission denied" for `duration_ms`
    skew,       // the device's wall clock jumps by `amount` seconds (signed)
    // Faults of scenarios with a relay (ScenarioOptions::relay).
    relay_restart,  // the relay goes down (its connections cut) and restarts after `duration_ms`
    alone,          // only this device's daemon runs: the others stop (and this one starts)
                    // for alone_ms(step), so devices that are never online together sync
                    // through the relay's mailboxes
};

// Whether and how the devices have a relay (the simulation's --relay).
enum class RelayMode : std::uint8_t {
    none,  // direct connections only
    also,  // direct connections, and a relay for devices not connected directly
    only,  // no direct connections: everything goes through the relay
};

struct Step {
    StepKind kind = StepKind::create;
    int device = 0;
    std::uint32_t pick = 0;   // which existing entry (modulo the count)
    std::uint32_t pick2 = 0;  // a second choice (target name, size, mode...)
    std::uint64_t content = 0;  // seed of new bytes
    std::uint32_t size = 0;     // bytes of new content
    std::uint32_t devices = 0;  // a bit per device (partition, edit_shared)
    std::uint32_t duration_ms = 0;
    std::int32_t amount = 0;    // skew seconds
    std::uint32_t gap_ms = 0;   // virtual time that passes after the step
};

struct ScenarioOptions {
    int devices = 3;
    int steps = 40;
    bool faults = true;
    bool relay = false;  // draws relay faults too (other scenarios stay as they were)
};

// How long an `alone` step keeps the other devices stopped.
inline std::uint32_t alone_ms(const Step& step) { return 5'000 + 3 * step.duration_ms; }

std::vector<Step> make_scenario(std::uint64_t seed, const ScenarioOptions& options);

bool is_fault(StepKind kind);
const char* step_kind_name(StepKind kind);
// One line, for a failure report.
std::string describe(const Step& step);

// 64-bit FNV-1a, for traces.
inline std::uint64_t fnv1a(std::uint64_t hash, const void* data, std::size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    return hash;
}
inline constexpr std::uint64_t kFnvBasis = 0xcbf29ce484222325ULL;
// A content's digest (fast; the same within one build, which is all a run
// compares).
inline std::uint64_t digest(const std::string& bytes) {
    return std::hash<std::string_view>{}(bytes);
}

}  // namespace ferry::sim
