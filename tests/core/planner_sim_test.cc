// The planner's convergence property: devices that edit concurrently,
// exchange their indexes in any order and apply their plans (in memory, the
// way the engine records a step's target) end with identical records, every
// edit either kept at its path, edited over by a device that held it, or
// kept as exactly one conflict copy.
#include "planner_sim.hh"

#include <algorithm>
#include <random>

#include <catch2/catch.hpp>

using namespace ferry;
using namespace ferry::test;

TEST_CASE("planner: random histories converge with nothing lost", "[planner][sim]") {
    int copies = 0;
    int lost = 0;
    int renames = 0;
    int tree_renames = 0;
    int max_rounds = 0;
    for (const std::uint64_t seed : seeds_to_run(1, 600)) {
        std::mt19937_64 shape(seed);
        SimOptions options;
        options.devices = 2 + static_cast<int>(shape() % 3);
        options.causal_clocks = seed % 2 == 0;
        Sim sim(seed, options);
        const int events = 20 + static_cast<int>(shape() % 200);
        for (int i = 0; i < events; ++i) sim.random_event();
        const int rounds = sim.quiesce(50);
        std::vector<std::string> broken = sim.check_converged();
        for (std::string& line : sim.check_nothing_lost()) broken.push_back(std::move(line));
        if (rounds == 50) broken.push_back("no fixed point after 50 rounds");
        report_seed("[planner][sim]", seed, sim, broken);
        max_rounds = std::max(max_rounds, rounds);
        copies += sim.copies();
        lost += sim.lost_conflicts();
        renames += sim.renames();
        tree_renames += sim.tree_renames();
    }
    if (replaying()) return;
    // The histories did collide: copies were made and files renamed.
    CHECK(copies > 100);
    CHECK(lost > 0);
    CHECK(renames > 10);
    CHECK(tree_renames > 10);
    CHECK(max_rounds <= 10);
}
