// Shrinking a failing scenario: steps are left out, in halves, then
// quarters, down to single steps, while the scenario still breaks the same
// invariant (delta debugging), within a budget of runs.
#pragma once

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

Shrunk shrink(const SimConfig& config, const std::vector<Step>& steps, const Violation& violation,
              int max_runs);

}  // namespace ferry::sim
