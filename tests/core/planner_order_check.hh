// The order check of a plan (tests only, issue 7): whether the result of
// applying a plan depends on the order of its steps.
//
// Called with each plan a Sim makes (Sim::set_observer), it applies the
// steps to copies of the device's records, and to a model of its disk that
// does what sync/folder_writer.hh does (parents made as needed, a directory
// with entries refused, files in the way replaced): in the planner's order,
// in random orders that keep the dependencies plan_paths() documents
// (planner_order_check.cc says which and why), and, for the records alone,
// in any order. The outcomes (records, disk, steps that did not fit) must
// agree, and the planner's own order must keep the dependencies. The disk
// is modelled only where the records before and after the plan are trees.
//
// Deterministic per seed; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "planner_sim.hh"

namespace ferry::test {

struct OrderOutcome;

class OrderCheck {
public:
    explicit OrderCheck(std::uint64_t seed) : m_rng(seed ^ 0x9e37'79b9'7f4a'7c15) {}

    void operator()(const SimDevice& d, std::span<const PathStep> steps,
                    std::span<const SimDevice> devices);

    // What differed, one line per plan and order, with both orders.
    const std::vector<std::string>& broken() const { return m_broken; }
    int plans() const { return m_plans; }
    int orders() const { return m_orders; }                // other orders tried
    int not_trees() const { return m_not_trees; }          // plans checked on records only
    int failing_plans() const { return m_failing_plans; }  // with a step that did not fit

private:
    // A random order of the steps in which every (before, after) pair holds;
    // nullopt if there is none.
    std::optional<std::vector<std::size_t>> linear_extension(
        std::size_t n, const std::vector<std::pair<std::size_t, std::size_t>>& deps);
    void compare(const OrderOutcome& expected, const OrderOutcome& got,
                 std::span<const PathStep> steps, std::span<const std::size_t> order,
                 std::span<const SimDevice> devices, const std::string& where);

    std::mt19937_64 m_rng;
    std::vector<std::string> m_broken;
    int m_plans = 0;
    int m_orders = 0;
    int m_not_trees = 0;
    int m_failing_plans = 0;
};

}  // namespace ferry::test
