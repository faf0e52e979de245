#include "scenario.hh"

#include <random>
#include <sstream>

namespace ferry::sim {
namespace {

struct Weighted {
    StepKind kind;
    int weight;
};

constexpr Weighted kUserSteps[] = {
    {StepKind::create, 14},   {StepKind::overwrite, 10}, {StepKind::truncate, 3},
    {StepKind::append, 4},    {StepKind::insert, 4},     {StepKind::duplicate, 3},
    {StepKind::edit_shared, 5}, {StepKind::remove, 5},   {StepKind::remove_tree, 2},
    {StepKind::rename, 7},    {StepKind::mkdir, 5},      {StepKind::rmdir, 2},
    {StepKind::chmod, 3},     {StepKind::symlink, 2},
};
constexpr Weighted kFaultSteps[] = {
    {StepKind::crash, 6}, {StepKind::partition, 4}, {StepKind::cut, 4},
    {StepKind::disk_full, 2}, {StepKind::deny, 2},   {StepKind::skew, 2},
};
constexpr Weighted kRelayFaultSteps[] = {
    {StepKind::crash, 6},     {StepKind::partition, 4}, {StepKind::cut, 4},
    {StepKind::disk_full, 2}, {StepKind::deny, 2},      {StepKind::skew, 2},
    {StepKind::relay_restart, 3}, {StepKind::alone, 8},
};

template <std::size_t N>
StepKind choose(std::mt19937_64& rng, const Weighted (&table)[N]) {
    int total = 0;
    for (const auto& w : table) total += w.weight;
    int roll = static_cast<int>(rng() % static_cast<std::uint64_t>(total));
    for (const auto& w : table) {
        if (roll < w.weight) return w.kind;
        roll -= w.weight;
    }
    return table[0].kind;
}

// Mostly small files, some of several chunks.
std::uint32_t content_size(std::mt19937_64& rng) {
    switch (rng() % 10) {
        case 0: return 0;
        case 1: case 2: return static_cast<std::uint32_t>(100'000 + rng() % 300'000);
        default: return static_cast<std::uint32_t>(1 + rng() % 5'000);
    }
}

}  // namespace

std::vector<Step> make_scenario(std::uint64_t seed, const ScenarioOptions& options) {
    std::mt19937_64 rng(seed * 0x9e3779b97f4a7c15ULL + 1);
    std::vector<Step> steps;
    const std::uint32_t all = (1u << options.devices) - 1;
    for (int i = 0; i < options.steps; ++i) {
        Step step;
        const bool fault = options.faults && rng() % 5 == 0;
        step.kind = !fault          ? choose(rng, kUserSteps)
                    : options.relay ? choose(rng, kRelayFaultSteps)
                                    : choose(rng, kFaultSteps);
        step.device = static_cast<int>(rng() % static_cast<std::uint64_t>(options.devices));
        step.pick = static_cast<std::uint32_t>(rng());
        step.pick2 = static_cast<std::uint32_t>(rng());
        step.content = rng();
        step.size = content_size(rng);
        step.devices = static_cast<std::uint32_t>(rng()) & all;
        if (step.devices == 0 || step.devices == all) step.devices = 1u << step.device;
        step.duration_ms = static_cast<std::uint32_t>(200 + rng() % 8'000);
        step.amount = static_cast<std::int32_t>(rng() % 7'201) - 3'600;
        // Often no pause at all, so changes race with syncing.
        step.gap_ms = rng() % 3 == 0 ? 0 : static_cast<std::uint32_t>(rng() % 3'000);
        steps.push_back(step);
    }
    return steps;
}

bool is_fault(StepKind kind) { return kind >= StepKind::crash; }

const char* step_kind_name(StepKind kind) {
    switch (kind) {
        case StepKind::create: return "create";
        case StepKind::overwrite: return "overwrite";
        case StepKind::truncate: return "truncate";
        case StepKind::append: return "append";
        case StepKind::insert: return "insert";
        case StepKind::duplicate: return "duplicate";
        case StepKind::edit_shared: return "edit-shared";
        case StepKind::remove: return "remove";
        case StepKind::remove_tree: return "remove-tree";
        case StepKind::rename: return "rename";
        case StepKind::mkdir: return "mkdir";
        case StepKind::rmdir: return "rmdir";
        case StepKind::chmod: return "chmod";
        case StepKind::symlink: return "symlink";
        case StepKind::crash: return "crash";
        case StepKind::partition: return "partition";
        case StepKind::cut: return "cut";
        case StepKind::disk_full: return "disk-full";
        case StepKind::deny: return "deny";
        case StepKind::skew: return "skew";
        case StepKind::relay_restart: return "relay-restart";
        case StepKind::alone: return "alone";
    }
    return "?";
}

std::string describe(const Step& step) {
    std::ostringstream out;
    out << step_kind_name(step.kind) << " d" << step.device;
    switch (step.kind) {
        case StepKind::crash:
            out << (step.pick2 % 2 == 0 ? " with a power cut" : "") << ", down "
                << step.duration_ms << " ms";
            break;
        case StepKind::partition:
            out << " devices " << step.devices << " apart for " << step.duration_ms << " ms";
            break;
        case StepKind::cut: break;
        case StepKind::disk_full: out << " for " << step.duration_ms << " ms"; break;
        case StepKind::deny:
            out << " pick " << step.pick << " for " << step.duration_ms << " ms";
            break;
        case StepKind::skew: out << " by " << step.amount << " s"; break;
        case StepKind::relay_restart: out << ", relay down " << step.duration_ms << " ms"; break;
        case StepKind::alone: out << " for " << alone_ms(step) << " ms"; break;
        case StepKind::edit_shared:
            out << " with devices " << step.devices << " pick " << step.pick << " size "
                << step.size;
            break;
        default:
            out << " pick " << step.pick << "/" << step.pick2 << " size " << step.size;
            break;
    }
    out << ", then " << step.gap_ms << " ms";
    return out.str();
}

}  // namespace ferry::sim
