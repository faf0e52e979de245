// Shrinking a failing scenario: steps are left out, in halves, then
// quarters, down to single steps, while the scenario still breaks the same
// invariant (delta debugging), within a budget of runs.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "sim_cluster.hh"

namespace ferry::sim {

struct Shrunk {
    std::vector<Step> steps;
    std::vector<std::size_t> kept;  // indexes into the original steps
    Violation violation;            // as the shrunk scenario breaks it
    int runs = 0;
};

// Runs some of the steps; returns the violation of the same invariant they
// still cause, if any.
using ShrinkRunner = std::function<std::optional<Violation>(const std::vector<Step>&)>;

Shrunk shrink(const ShrinkRunner& run, const std::vector<Step>& steps, const Violation& violation,
              int max_runs);
// The runner for a cluster simulation.
ShrinkRunner simulation_runner(const SimConfig& config, const std::string& invariant);

}  // namespace ferry::sim
