#include "shrink.hh"

namespace ferry::sim {
namespace {

std::vector<Step> select(const std::vector<Step>& steps, const std::vector<std::size_t>& kept) {
    std::vector<Step> out;
    for (std::size_t i : kept) out.push_back(steps[i]);
    return out;
}

}  // namespace

ShrinkRunner simulation_runner(const SimConfig& config, const std::string& invariant) {
    return [config, invariant](const std::vector<Step>& steps) -> std::optional<Violation> {
        for (Violation& v : run_scenario(config, steps).violations)
            if (v.invariant == invariant) return std::move(v);
        return std::nullopt;
    };
}

Shrunk shrink(const ShrinkRunner& run, const std::vector<Step>& steps, const Violation& violation,
              int max_runs) {
    Shrunk best;
    best.violation = violation;
    for (std::size_t i = 0; i < steps.size(); ++i) best.kept.push_back(i);
    auto still_fails = [&](const std::vector<std::size_t>& kept) -> bool {
        ++best.runs;
        auto found = run(select(steps, kept));
        if (!found) return false;
        best.violation = std::move(*found);
        return true;
    };
    for (std::size_t chunk = best.kept.size() / 2; chunk >= 1 && best.runs < max_runs; chunk /= 2) {
        std::size_t at = 0;
        while (at < best.kept.size() && best.runs < max_runs) {
            std::vector<std::size_t> candidate;
            for (std::size_t i = 0; i < best.kept.size(); ++i)
                if (i < at || i >= at + chunk) candidate.push_back(best.kept[i]);
            if (candidate.size() < best.kept.size() && still_fails(candidate))
                best.kept = std::move(candidate);
            else
                at += chunk;
        }
    }
    best.steps = select(steps, best.kept);
    return best;
}

}  // namespace ferry::sim
