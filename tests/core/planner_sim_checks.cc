// The Sim's invariants and the reporting of seeds (planner_sim.hh).
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <set>
#include <stdexcept>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "planner_fixtures.hh"
#include "planner_sim.hh"

namespace ferry::test {

std::vector<std::string> Sim::check_converged() const {
    std::vector<std::string> broken = m_plan_errors;
    std::set<std::string> paths;
    for (const SimDevice& d : m_devices) {
        for (const auto& [path, record] : d.records) paths.insert(path);
    }
    for (const std::string& path : paths) {
        const FileRecord* first = nullptr;
        const SimDevice* first_device = nullptr;
        for (const SimDevice& d : m_devices) {
            const auto it = d.records.find(path);
            // A device that never indexed the path is in step with a tombstone.
            if (it == d.records.end()) {
                if (first && !first->deleted)
                    broken.push_back("not converged: '" + path + "' is missing on " + d.name);
                continue;
            }
            if (!first) {
                first = &it->second;
                first_device = &d;
            } else if (!same_but_sequence(it->second, *first)) {
                broken.push_back("not converged: '" + path + "' is " + describe(*first, m_devices) +
                                 " on " + first_device->name + " but " +
                                 describe(it->second, m_devices) + " on " + d.name);
            }
        }
        if (first && !first->deleted && first_device != &m_devices[0])
            broken.push_back("not converged: '" + path + "' is missing on " + m_devices[0].name);
    }
    return broken;
}

namespace {

// Whether `seen` (a device's records then) holds `path` at `version` or newer.
bool had_seen(const std::map<std::string, VersionVector>& seen, const std::string& path,
              const VersionVector& version) {
    const auto it = seen.find(path);
    if (it == seen.end()) return false;
    const Ordering order = version.compare(it->second);
    return order == Ordering::older || order == Ordering::equal;
}

}  // namespace

bool Sim::buried_entry(const std::string& path, const Made& made) const {
    for (auto it = m_changes_made.upper_bound(path); it != m_changes_made.end(); ++it) {
        if (!beneath(it->first, path)) continue;
        for (const Change& c : it->second)
            if (c.live && !had_seen(made.seen_beneath, it->first, c.version) &&
                !had_seen(c.seen_above, path, made.version))
                return true;
    }
    return false;
}

std::vector<std::string> Sim::check_nothing_lost() {
    std::vector<std::string> broken;
    const Records& final = m_devices[0].records;
    std::set<std::string> expected_copies;
    for (const auto& [key, made] : m_made) {
        const auto& [path, mtime_ns, by] = key;
        const std::string copy = conflict_copy_path(path, mtime_ns, by);
        const auto at_path = final.find(path);
        const bool kept = at_path != final.end() && content_of(at_path->second) == made.content;
        const auto at_copy = final.find(copy);
        const bool copied = at_copy != final.end() && content_of(at_copy->second) == made.content;
        const std::string what = "#" + std::to_string(made.content) + " written at '" + path +
                                 "' by " + name_of(by, m_devices) + " @" +
                                 std::to_string(mtime_ns / seconds(1)) + "s";
        if (!kept && !made.superseded && !copied) broken.push_back("lost write: " + what);
        // A version can be both kept and copied, legitimately: it lost to one
        // whose successor it then beat (a later edit with an earlier mtime,
        // or a delete, which never beats an edit).
        if (copied) {
            expected_copies.insert(copy);
            ++m_copies;
            // Only a version some other change at its path did not see (nor
            // it that change) loses a conflict, or one that stood over a live
            // entry made beneath its path unseen (nor seeing it): that
            // entry's directory stays.
            const auto& others = m_changes_made[path];
            if (std::none_of(others.begin(), others.end(),
                             [&version = made.version](const Change& c) {
                                 return c.version.compare(version) == Ordering::concurrent;
                             }) &&
                !buried_entry(path, made))
                broken.push_back("conflict copy '" + copy + "' of " + what +
                                 ", which nothing concurrent was made against");
        }
        if (!kept && !made.superseded) ++m_lost_conflicts;
    }
    for (const auto& [path, record] : final) {
        if (!is_conflict_copy(path) || record.deleted || expected_copies.contains(path)) continue;
        broken.push_back("unexpected conflict copy '" + path + "': " + describe(record, m_devices));
    }
    for (const std::string& copy : expected_copies) {
        if (!final.contains(copy)) broken.push_back("conflict copy '" + copy + "' missing");
    }
    return broken;
}

std::vector<std::string> Sim::check_tree() const {
    std::vector<std::string> broken;
    for (const SimDevice& d : m_devices) {
        for (const auto& [path, r] : d.records) {
            if (r.deleted) continue;
            for (const std::string& dir : ancestors(path)) {
                const auto it = d.records.find(dir);
                if (it != d.records.end() && !it->second.deleted &&
                    it->second.kind == FileKind::directory)
                    continue;
                broken.push_back(d.name + ": live '" + path + "' beneath '" + dir + "', " +
                                 (it == d.records.end() ? std::string("never indexed")
                                                        : describe(it->second, m_devices)));
                break;
            }
        }
    }
    return broken;
}

std::vector<std::uint64_t> seeds_to_run(std::uint64_t first, std::uint64_t last) {
    const char* asked = std::getenv("FERRY_PLANNER_SEED");
    if (!asked || !*asked) {
        std::vector<std::uint64_t> out;
        for (std::uint64_t seed = first; seed <= last; ++seed) out.push_back(seed);
        return out;
    }
    std::uint64_t seed = 0;
    const std::string_view text(asked);
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seed);
    if (error != std::errc{} || end != text.data() + text.size())
        throw std::invalid_argument("FERRY_PLANNER_SEED='" + std::string(text) +
                                    "' is not a seed number");
    return {seed};
}

bool replaying() {
    const char* asked = std::getenv("FERRY_PLANNER_SEED");
    return asked && *asked;
}

std::string failure_report(std::string_view test, std::uint64_t seed, const Sim& sim,
                           std::span<const std::string> broken) {
    std::string out = "seed " + std::to_string(seed) +
                      " (replay: FERRY_PLANNER_SEED=" + std::to_string(seed) +
                      " build/tests/core/test_core \"" + std::string(test) + "\")\noperations:\n";
    for (std::size_t i = 0; i < sim.history().size(); ++i)
        out += "  " + std::to_string(i + 1) + ". " + sim.history()[i] + "\n";
    out += "broken:\n";
    for (const std::string& line : broken) out += "  - " + line + "\n";
    return out;
}

void report_seed(std::string_view test, std::uint64_t seed, const Sim& sim,
                 std::span<const std::string> broken) {
    if (!broken.empty()) {
        FAIL_CHECK(failure_report(test, seed, sim, broken));
    } else if (replaying()) {
        WARN(failure_report(test, seed, sim, broken));
    }
}

}  // namespace ferry::test
