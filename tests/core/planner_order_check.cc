#include "planner_order_check.hh"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ferry::test {
namespace {

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

}  // namespace

// What applying a plan in one order leaves.
struct OrderOutcome {
    Records records;
    std::optional<Disk> disk;
    std::set<std::string> errors;  // steps that did not fit the records or the disk
};

namespace {

OrderOutcome apply_in_order(const SimDevice& before, std::span<const PathStep> steps,
                            std::span<const std::size_t> order, bool with_disk) {
    SimDevice d{before.id, before.name, before.records, {}, before.next_sequence};
    std::optional<DiskModel> disk;
    if (with_disk) disk.emplace(disk_of(before.records));
    OrderOutcome out;
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

std::string difference(const OrderOutcome& a, const OrderOutcome& b,
                       std::span<const SimDevice> devices) {
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

}  // namespace

void OrderCheck::operator()(const SimDevice& d, std::span<const PathStep> steps,
                            std::span<const SimDevice> devices) {
    if (steps.empty()) return;
    ++m_plans;
    const auto deps = dependencies(steps, d.records);
    const auto where = [&] { return d.name + " plan " + std::to_string(m_plans) + ": "; };
    std::vector<std::size_t> planned(steps.size());
    std::iota(planned.begin(), planned.end(), std::size_t{0});
    // The records alone: any order at all.
    const OrderOutcome records_only = apply_in_order(d, steps, planned, false);
    for (int i = 0; i < 2; ++i) {
        std::vector<std::size_t> shuffled = planned;
        std::shuffle(shuffled.begin(), shuffled.end(), m_rng);
        compare(records_only, apply_in_order(d, steps, shuffled, false), steps, shuffled, devices,
                where());
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
    const OrderOutcome expected = apply_in_order(d, steps, planned, true);
    if (!expected.errors.empty()) ++m_failing_plans;
    for (int i = 0; i < 2; ++i) {
        const auto order = linear_extension(steps.size(), deps);
        if (!order) {
            m_broken.push_back(where() +
                               "its dependencies form a cycle: " + describe_order(steps, planned));
            return;
        }
        compare(expected, apply_in_order(d, steps, *order, true), steps, *order, devices, where());
    }
    m_orders += 2;
}

std::optional<std::vector<std::size_t>> OrderCheck::linear_extension(
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

void OrderCheck::compare(const OrderOutcome& expected, const OrderOutcome& got,
                         std::span<const PathStep> steps, std::span<const std::size_t> order,
                         std::span<const SimDevice> devices, const std::string& where) {
    const std::string diff = difference(expected, got, devices);
    if (diff.empty()) return;
    std::vector<std::size_t> planned(steps.size());
    std::iota(planned.begin(), planned.end(), std::size_t{0});
    m_broken.push_back(where + "the result depends on the order: " + diff +
                       "\n      planner's order: " + describe_order(steps, planned) +
                       "\n      other order:     " + describe_order(steps, order));
}

}  // namespace ferry::test
