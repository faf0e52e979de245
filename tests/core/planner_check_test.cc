// A CanopyCheck-style check of the planner alone (issue 7): random trees
// edited concurrently on several devices (files, directories, symlinks,
// deletes, moves of files and directories into each other, nested paths),
// each plan applied in many orders, planning repeated until a fixed point
// that must come within a bounded number of rounds, and invariants checked
// at the end (planner_sim.hh: identical records, nothing lost, conflict
// copies only of truly concurrent versions and never of a copy).
//
// Every seed is deterministic; a failure prints the seed, the operations
// and the invariant broken. FERRY_PLANNER_SEED=N runs (and shows) seed N
// only.
#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "planner_fixtures.hh"
#include "planner_sim.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

bool beneath(std::string_view path, std::string_view dir) {
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

bool creates(StepKind kind) {
    return kind == StepKind::make_directory || kind == StepKind::make_symlink ||
           kind == StepKind::write_file || kind == StepKind::rename ||
           kind == StepKind::set_metadata;
}

// The paths a step takes something away from on disk.
std::vector<std::string> vacated(const PathStep& step) {
    std::vector<std::string> out;
    if (step.kind == StepKind::remove) out.push_back(step.path);
    if (step.rename_from) out.push_back(step.rename_from->path);
    for (const MovedEntry& entry : step.moved) out.push_back(entry.removed.path);
    if (step.conflict_copy) out.push_back(step.path);
    return out;
}

// The paths a step puts something at on disk.
std::vector<std::string> filled(const PathStep& step) {
    std::vector<std::string> out;
    if (creates(step.kind)) out.push_back(step.path);
    for (const MovedEntry& entry : step.moved) out.push_back(entry.target.path);
    if (step.conflict_copy) out.push_back(*step.conflict_copy);
    return out;
}

// The orders plan_paths() documents as mattering, as pairs (before, after)
// of step indexes. Any two steps not related here touch unrelated paths, or
// the same path only through a record, so their order must not matter.
//  1. A directory made comes before every step that puts something beneath
//     it: an entry needs its directory (made implicitly instead, the
//     directory would have neither the target's mode nor its record).
//  2. A local directory removed, or replaced by a file or symlink, comes
//     after every step that takes something from beneath it or puts
//     something there: only an empty directory can go, and a rename out of
//     it must take its source first, or that data would exist nowhere.
//  3. A rename comes before any other step at the path it renames from
//     (the source must still exist).
std::vector<std::pair<std::size_t, std::size_t>> dependencies(std::span<const PathStep> steps,
                                                              const Records& local) {
    const auto local_directory = [&](const std::string& path) {
        const auto it = local.find(path);
        return it != local.end() && !it->second.deleted && it->second.kind == FileKind::directory;
    };
    std::vector<std::vector<std::string>> vacates;
    std::vector<std::vector<std::string>> fills;
    for (const PathStep& step : steps) {
        vacates.push_back(vacated(step));
        fills.push_back(filled(step));
    }
    const auto any_beneath = [](const std::vector<std::string>& paths, const std::string& dir) {
        return std::any_of(paths.begin(), paths.end(),
                           [&](const std::string& p) { return beneath(p, dir); });
    };
    std::vector<std::pair<std::size_t, std::size_t>> out;
    for (std::size_t x = 0; x < steps.size(); ++x) {
        for (std::size_t y = 0; y < steps.size(); ++y) {
            if (x == y) continue;
            const PathStep& a = steps[x];
            const PathStep& b = steps[y];
            const bool made_dir = a.kind == StepKind::make_directory;
            const bool dir_goes = local_directory(b.path) &&
                                  (b.target.deleted || b.target.kind != FileKind::directory);
            const bool rename_source = a.rename_from && a.rename_from->path == b.path;
            if ((made_dir && any_beneath(fills[y], a.path)) ||
                (dir_goes && (any_beneath(vacates[x], b.path) || any_beneath(fills[x], b.path))) ||
                rename_source)
                out.emplace_back(x, y);
        }
    }
    return out;
}

// A folder on disk: what is at each path.
struct Node {
    FileKind kind = FileKind::file;
    std::uint64_t content = 0;
    std::string link;
    friend bool operator==(const Node&, const Node&) = default;
};
using Disk = std::map<std::string, Node>;

Node node_of(const FileRecord& r) {
    return Node{r.kind, content_of(r), r.symlink_target};
}

// Whether every live record's parent is a live directory record.
bool is_tree(const Records& records) {
    return std::all_of(records.begin(), records.end(), [&](const auto& entry) {
        const auto& [path, r] = entry;
        const std::size_t slash = path.rfind('/');
        if (r.deleted || slash == std::string::npos) return true;
        const auto parent = records.find(path.substr(0, slash));
        return parent != records.end() && !parent->second.deleted &&
               parent->second.kind == FileKind::directory;
    });
}

// The disk that tree-shaped records describe.
Disk disk_of(const Records& records) {
    Disk disk;
    for (const auto& [path, r] : records)
        if (!r.deleted) disk[path] = node_of(r);
    return disk;
}

bool has_entries(const Disk& disk, const std::string& dir) {
    const auto first = disk.lower_bound(dir + "/");
    return first != disk.end() && beneath(first->first, dir);
}

// What the folder writer does to the disk for a step (sync/folder_writer.hh):
// parents made as needed, an empty directory in the way removed, one with
// entries refused (busy), files and symlinks in the way replaced.
class DiskModel {
public:
    explicit DiskModel(Disk disk) : m_disk(std::move(disk)) {}

    std::optional<std::string> apply(const PathStep& step) {
        if (step.conflict_copy) {
            const auto at = m_disk.find(step.path);
            if (at == m_disk.end() || at->second.kind != FileKind::file)
                return "nothing to keep as a conflict copy";
            const Node kept = at->second;
            if (auto e = clear(*step.conflict_copy)) return e;
            m_disk.erase(step.path);
            m_disk[*step.conflict_copy] = kept;
        }
        switch (step.kind) {
            case StepKind::none:
            case StepKind::adopt: return std::nullopt;
            case StepKind::set_metadata: {
                const auto at = m_disk.find(step.path);
                if (at == m_disk.end() || at->second.kind != step.target.kind)
                    return "nothing of that kind to set metadata on";
                return std::nullopt;
            }
            case StepKind::remove: return clear(step.path);
            case StepKind::make_directory:
                if (const auto at = m_disk.find(step.path);
                    at != m_disk.end() && at->second.kind == FileKind::directory)
                    return std::nullopt;
                [[fallthrough]];
            case StepKind::make_symlink:
            case StepKind::write_file: return place(step.path, node_of(step.target));
            case StepKind::rename: return rename(step);
        }
        return "unknown step";
    }

    const Disk& disk() const { return m_disk; }

private:
    std::optional<std::string> clear(const std::string& path) {
        const auto at = m_disk.find(path);
        if (at == m_disk.end()) return std::nullopt;
        if (at->second.kind == FileKind::directory && has_entries(m_disk, path))
            return "directory '" + path + "' still holds entries";
        m_disk.erase(at);
        return std::nullopt;
    }

    std::optional<std::string> make_parents(const std::string& path) {
        for (std::size_t slash = path.find('/'); slash != std::string::npos;
             slash = path.find('/', slash + 1)) {
            const std::string dir = path.substr(0, slash);
            const auto at = m_disk.find(dir);
            if (at == m_disk.end()) {
                m_disk[dir] = Node{FileKind::directory};
            } else if (at->second.kind != FileKind::directory) {
                return "'" + dir + "' above it is not a directory";
            }
        }
        return std::nullopt;
    }

    std::optional<std::string> place(const std::string& path, Node node) {
        if (auto e = make_parents(path)) return e;
        if (auto e = clear(path)) return e;
        m_disk[path] = std::move(node);
        return std::nullopt;
    }

    std::optional<std::string> rename(const PathStep& step) {
        const std::string& from = step.rename_from->path;
        const auto source = m_disk.find(from);
        if (source == m_disk.end() || !(source->second == node_of(step.target)))
            return "the source '" + from + "' is gone or holds other content";
        if (auto e = make_parents(step.path)) return e;
        if (auto e = clear(step.path)) return e;
        Disk moved;
        for (auto it = m_disk.begin(); it != m_disk.end();) {
            if (it->first == from || beneath(it->first, from)) {
                moved[step.path + it->first.substr(from.size())] = it->second;
                it = m_disk.erase(it);
            } else {
                ++it;
            }
        }
        m_disk.merge(moved);
        return std::nullopt;
    }

    Disk m_disk;
};

// What applying a plan in one order leaves.
struct Outcome {
    Records records;
    std::optional<Disk> disk;
    std::set<std::string> errors;  // steps that did not fit the records or the disk
};

Outcome apply_in_order(const SimDevice& before, std::span<const PathStep> steps,
                       std::span<const std::size_t> order, bool with_disk) {
    SimDevice d{before.id, before.name, before.records, {}, before.next_sequence};
    std::optional<DiskModel> disk;
    if (with_disk) disk.emplace(disk_of(before.records));
    Outcome out;
    for (const std::size_t i : order) {
        if (auto e = apply_step(d, steps[i])) out.errors.insert("records: " + *e);
        if (disk) {
            if (auto e = disk->apply(steps[i]))
                out.errors.insert("disk: " + describe(steps[i]) + ": " + *e);
        }
    }
    for (auto& [path, r] : d.records) r.sequence = Sequence{};
    out.records = std::move(d.records);
    if (disk) out.disk = disk->disk();
    return out;
}

std::string describe_order(std::span<const PathStep> steps, std::span<const std::size_t> order) {
    std::string out;
    for (const std::size_t i : order) out += (out.empty() ? "" : "; ") + describe(steps[i]);
    return out;
}

std::string difference(const Outcome& a, const Outcome& b, std::span<const SimDevice> devices) {
    if (a.errors != b.errors) {
        std::string out = "failed steps differ:";
        for (const auto& e : a.errors)
            if (!b.errors.contains(e)) out += " [planner's order only: " + e + "]";
        for (const auto& e : b.errors)
            if (!a.errors.contains(e)) out += " [other order only: " + e + "]";
        return out;
    }
    for (const auto& [path, r] : a.records) {
        const auto other = b.records.find(path);
        if (other == b.records.end() || !(other->second == r))
            return "record '" + path + "' differs: " + describe(r, devices) + " vs " +
                   (other == b.records.end() ? "none" : describe(other->second, devices));
    }
    if (a.records.size() != b.records.size()) return "other paths recorded";
    if (a.disk != b.disk) {
        for (const auto& [path, node] : *a.disk)
            if (!b.disk->contains(path) || !(b.disk->at(path) == node))
                return "disk differs at '" + path + "'";
        return "disk differs: other paths";
    }
    return {};
}

// Checks every plan a Sim makes: the planner's order respects the
// dependencies above, and random orders that respect them (and, for the
// records alone, any order) end where the planner's order does.
class OrderCheck {
public:
    explicit OrderCheck(std::uint64_t seed) : m_rng(seed ^ 0x9e37'79b9'7f4a'7c15) {}

    void operator()(const SimDevice& d, std::span<const PathStep> steps,
                    std::span<const SimDevice> devices) {
        if (steps.empty()) return;
        ++m_plans;
        const auto deps = dependencies(steps, d.records);
        const auto where = [&] { return d.name + " plan " + std::to_string(m_plans) + ": "; };
        std::vector<std::size_t> planned(steps.size());
        std::iota(planned.begin(), planned.end(), std::size_t{0});
        // The records alone: any order at all.
        const Outcome records_only = apply_in_order(d, steps, planned, false);
        for (int i = 0; i < 2; ++i) {
            std::vector<std::size_t> shuffled = planned;
            std::shuffle(shuffled.begin(), shuffled.end(), m_rng);
            compare(records_only, apply_in_order(d, steps, shuffled, false), steps, shuffled,
                    devices, where());
        }
        m_orders += 2;
        // The disk: only where the records before and after are trees. A
        // plan that leaves an entry beneath a file or a deleted directory
        // has no order that could carry it out (Sim::check_tree reports
        // the first; the engine keeps or remakes the directory for the
        // second, as Sim::settle_tree records).
        if (!is_tree(d.records) || !is_tree(records_only.records)) {
            ++m_not_trees;
            return;
        }
        for (const auto& [x, y] : deps) {
            if (x > y)
                m_broken.push_back(where() + "'" + describe(steps[y]) + "' is ordered before '" +
                                   describe(steps[x]) + "', which must come first");
        }
        const Outcome expected = apply_in_order(d, steps, planned, true);
        if (!expected.errors.empty()) ++m_failing_plans;
        for (int i = 0; i < 2; ++i) {
            const auto order = linear_extension(steps.size(), deps);
            if (!order) {
                m_broken.push_back(
                    where() + "its dependencies form a cycle: " + describe_order(steps, planned));
                return;
            }
            compare(expected, apply_in_order(d, steps, *order, true), steps, *order, devices,
                    where());
        }
        m_orders += 2;
    }

    const std::vector<std::string>& broken() const { return m_broken; }
    int plans() const { return m_plans; }
    int orders() const { return m_orders; }
    int not_trees() const { return m_not_trees; }
    int failing_plans() const { return m_failing_plans; }

private:
    // A random order of the steps in which every (before, after) pair holds;
    // nullopt if there is none.
    std::optional<std::vector<std::size_t>> linear_extension(
        std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& deps) {
        std::vector<int> waiting(n, 0);
        for (const auto& [x, y] : deps) ++waiting[y];
        std::vector<std::size_t> ready;
        for (std::size_t i = 0; i < n; ++i)
            if (waiting[i] == 0) ready.push_back(i);
        std::vector<std::size_t> order;
        while (!ready.empty()) {
            const std::size_t pick = m_rng() % ready.size();
            const std::size_t next = ready[pick];
            ready.erase(ready.begin() + static_cast<std::ptrdiff_t>(pick));
            order.push_back(next);
            for (const auto& [x, y] : deps)
                if (x == next && --waiting[y] == 0) ready.push_back(y);
        }
        if (order.size() != n) return std::nullopt;
        return order;
    }

    void compare(const Outcome& expected, const Outcome& got, std::span<const PathStep> steps,
                 std::span<const std::size_t> order, std::span<const SimDevice> devices,
                 const std::string& where) {
        const std::string diff = difference(expected, got, devices);
        if (diff.empty()) return;
        std::vector<std::size_t> planned(steps.size());
        std::iota(planned.begin(), planned.end(), std::size_t{0});
        m_broken.push_back(where + "the result depends on the order: " + diff +
                           "\n      planner's order: " + describe_order(steps, planned) +
                           "\n      other order:     " + describe_order(steps, order));
    }

    std::mt19937_64 m_rng;
    std::vector<std::string> m_broken;
    int m_plans = 0;
    int m_orders = 0;
    int m_not_trees = 0;
    int m_failing_plans = 0;
};

}  // namespace

namespace {

constexpr int kMaxRounds = 12;

// The shape of seed's history (devices, clocks, length), from the seed alone.
struct Shape {
    SimOptions options;
    int events = 0;
};

Shape shape_of(std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Shape shape;
    shape.options.devices = 2 + static_cast<int>(rng() % 3);
    shape.options.causal_clocks = seed % 2 == 0;
    shape.options.tree = true;
    shape.events = 10 + static_cast<int>(rng() % 60);
    return shape;
}

// Runs `events` random tree events, then to a fixed point, every plan
// checked by `order`; the rounds taken.
int run_tree_events(Sim& sim, int events, OrderCheck& order) {
    sim.set_observer([&](const SimDevice& d, std::span<const PathStep> steps) {
        order(d, steps, sim.devices());
    });
    for (int i = 0; i < events; ++i) sim.random_event();
    return sim.quiesce(kMaxRounds);
}

// Every invariant but the tree shape (see the known gap below).
std::vector<std::string> end_checks(Sim& sim, int rounds, const OrderCheck& order) {
    std::vector<std::string> broken = order.broken();
    if (rounds >= kMaxRounds)
        broken.push_back("no fixed point within " + std::to_string(kMaxRounds) + " rounds");
    for (auto& line : sim.check_converged()) broken.push_back(std::move(line));
    for (auto& line : sim.check_nothing_lost()) broken.push_back(std::move(line));
    return broken;
}

}  // namespace

// Checks every invariant but the tree shape: that one has a known gap,
// checked by the [!shouldfail] test below.
TEST_CASE("planner check: random trees, plans in any order, a fixed point, nothing lost",
          "[planner][check]") {
    int plans = 0;
    int orders = 0;
    int not_trees = 0;
    int not_tree_seeds = 0;
    int failing_plans = 0;
    int copies = 0;
    int tree_renames = 0;
    int remade = 0;
    int max_rounds = 0;
    const auto seeds = seeds_to_run(1, 2000);
    for (const std::uint64_t seed : seeds) {
        Sim sim(seed, shape_of(seed).options);
        OrderCheck order(seed);
        const int rounds = run_tree_events(sim, shape_of(seed).events, order);
        report_seed("[planner][check]", seed, sim, end_checks(sim, rounds, order));
        if (!sim.check_tree().empty()) ++not_tree_seeds;
        max_rounds = std::max(max_rounds, rounds);
        plans += order.plans();
        orders += order.orders();
        not_trees += order.not_trees();
        failing_plans += order.failing_plans();
        copies += sim.copies();
        tree_renames += sim.tree_renames();
        remade += sim.remade_directories();
    }
    if (replaying()) return;
    // The histories collided: plans were big enough to order, copies made,
    // trees renamed, directories kept that a concurrent delete had removed.
    WARN("plans " << plans << ", orders " << orders << ", not trees " << not_trees
                  << ", seeds ending in no tree " << not_tree_seeds << ", plans with failing steps "
                  << failing_plans << ", copies " << copies << ", tree renames " << tree_renames
                  << ", remade dirs " << remade << ", max rounds " << max_rounds);
    CHECK(plans > 2000);
    CHECK(copies > 100);
    CHECK(tree_renames > 10);
    CHECK(remade > 10);
}

// Seed 245 found it: d1 held the losing version of a/a/b and planned its
// conflict copy while d4's copy of the same version was announced, so the
// plan wrote the copy's path twice and the record left there depended on
// the order of the steps.
TEST_CASE("planner check: seed 245, a conflict copy made twice in one plan", "[planner][check]") {
    // The history as the check first ran it: 87 events (its shape then).
    Sim sim(245, shape_of(245).options);
    OrderCheck order(245);
    run_tree_events(sim, 87, order);
    CHECK(order.plans() > 10);
    report_seed("planner check: seed 245*", 245, sim, order.broken());
}

// Concurrent moves that would form a cycle: d1 moves a into b while d2
// moves b into a. Each device's move tombstones the directory the other
// moves into, so both trees end beneath deleted directories, which the
// engine makes again; no file may be lost on the way.
TEST_CASE("planner check: concurrent moves that would form a cycle lose nothing",
          "[planner][check]") {
    int cycles = 0;
    for (const std::uint64_t seed : seeds_to_run(1, 150)) {
        std::mt19937_64 rng(seed);
        SimOptions options;
        options.devices = 2 + static_cast<int>(rng() % 2);
        options.causal_clocks = seed % 2 == 0;
        options.tree = true;
        Sim sim(seed, options);
        OrderCheck order(seed);
        sim.set_observer([&](const SimDevice& d, std::span<const PathStep> steps) {
            order(d, steps, sim.devices());
        });
        // A shared tree: a few files, some nested, beneath a and b.
        static const std::vector<std::string> files{"a/f", "a/g", "a/c/h", "b/i", "b/c/j", "b/k"};
        for (const std::string& path : files)
            if (rng() % 3 != 0) sim.write(rng() % options.devices, path);
        sim.make_directory(0, "a");
        sim.make_directory(0, "b");
        const int settled = sim.quiesce(kMaxRounds);
        // The two moves, with the other device's events around them.
        const int before = static_cast<int>(rng() % 4);
        for (int i = 0; i < before; ++i) sim.random_event();
        sim.move(0, "a", "b");
        sim.move(1, "b", "a");
        const auto& history = sim.history();
        const bool crossed =
            std::find(history.begin(), history.end(), "d1 mv a b/a") != history.end() &&
            std::find(history.begin(), history.end(), "d2 mv b a/b") != history.end();
        if (crossed) ++cycles;
        const int after = static_cast<int>(rng() % 6);
        for (int i = 0; i < after; ++i) sim.random_event();
        const int rounds = sim.quiesce(kMaxRounds);
        std::vector<std::string> broken = end_checks(sim, rounds, order);
        if (settled >= kMaxRounds) broken.push_back("the shared tree never settled");
        // The moves themselves never leave an entry beneath a file.
        if (before == 0 && after == 0) {
            for (auto& line : sim.check_tree()) broken.push_back("not a tree: " + line);
        }
        report_seed("planner check: concurrent moves*", seed, sim, broken);
    }
    if (replaying()) return;
    CHECK(cycles > 100);
}

// The known gap (issue 7 report): a directory that still has live entries
// can lose to a concurrent file or symlink at its path (a later mtime: seed
// 1798 of the random check), or be replaced by one made by a device that
// had not seen all its entries.
// Every device then records a live entry beneath a file, which no disk can
// hold: the engine's writes there fail (busy, or "not a directory") on
// every retry. The planner needs a rule for it (say, a directory with live
// entries is never replaced, the file being kept as a conflict copy, as a
// directory whose removal finds live entries is kept); until then this test
// fails, and Catch counts that as expected.
TEST_CASE("planner check: known gap: a directory with entries replaced by a file",
          "[planner][check][!shouldfail]") {
    SECTION("a directory replaced while another device adds an entry") {
        Sim sim(1, SimOptions{2, true, true});
        sim.write(0, "a/x");
        sim.quiesce(kMaxRounds);
        sim.write(0, "a");    // rm -r a, then a file a: newer than the directory
        sim.write(1, "a/y");  // concurrently, unseen by d1
        sim.quiesce(kMaxRounds);
        const auto broken = sim.check_tree();
        CHECK(broken.empty());
        report_seed("planner check: known gap*", 1, sim, broken);
    }
    SECTION("random trees") {
        for (const std::uint64_t seed : seeds_to_run(1, 100)) {
            Sim sim(seed, shape_of(seed).options);
            OrderCheck order(seed);
            run_tree_events(sim, shape_of(seed).events, order);
            CHECK(sim.check_tree().empty());
        }
    }
}
