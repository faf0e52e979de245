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
#include <random>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "planner_order_check.hh"
#include "planner_sim.hh"

using namespace ferry;
using namespace ferry::test;

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
// can lose to a concurrent file or symlink at its path (one with a later
// mtime), or be replaced by one made by a device that had not seen all its
// entries.
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
