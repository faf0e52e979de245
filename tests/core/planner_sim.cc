#include "planner_sim.hh"

#include <algorithm>
#include <set>

#include "core/conflict_copy.hh"
#include "core/conflict_name.hh"
#include "planner_fixtures.hh"

namespace ferry::test {
namespace {

void store(SimDevice& d, FileRecord r) {
    r.sequence = Sequence{d.next_sequence++};
    d.records[r.path] = std::move(r);
}

bool live(const Records& records, const std::string& path) {
    const auto it = records.find(path);
    return it != records.end() && !it->second.deleted;
}

std::size_t copy_markers(std::string_view path) {
    std::size_t n = 0;
    for (std::size_t at = path.find("sync-conflict-"); at != std::string_view::npos;
         at = path.find("sync-conflict-", at + 1))
        ++n;
    return n;
}

// The paths tree edits choose from: names a and b, up to three deep.
const std::vector<std::string>& tree_paths() {
    static const std::vector<std::string> paths = [] {
        std::vector<std::string> out{"a", "b"};
        for (std::size_t depth = 1, begin = 0; depth < 3; ++depth) {
            const std::size_t end = out.size();
            for (std::size_t i = begin; i < end; ++i) {
                out.push_back(out[i] + "/a");
                out.push_back(out[i] + "/b");
            }
            begin = end;
        }
        return out;
    }();
    return paths;
}

}  // namespace

bool beneath(std::string_view path, std::string_view dir) {
    return path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/';
}

std::vector<std::string> ancestors(const std::string& path) {
    std::vector<std::string> out;
    for (std::size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1))
        out.push_back(path.substr(0, slash));
    return out;
}

std::string name_of(ShortId id, std::span<const SimDevice> devices) {
    for (const SimDevice& d : devices)
        if (d.id == id) return d.name;
    return std::to_string(id.value);
}

std::uint64_t content_of(const FileRecord& r) {
    if (r.deleted || r.kind != FileKind::file || r.chunks.size() != 1) return 0;
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < 8; ++i) id |= std::uint64_t{r.chunks[0].hash.bytes[i]} << (8 * i);
    return id;
}

std::optional<std::string> apply_step(SimDevice& d, const PathStep& step) {
    const auto error = [&](const std::string& what) { return describe(step) + ": " + what; };
    if (step.conflict_copy) {
        // As the engine keeps it: the local content under the copy's name.
        const auto at = d.records.find(step.path);
        if (at == d.records.end() || content_of(at->second) == 0)
            return error("a conflict copy of what is not a live file");
        const auto there = d.records.find(*step.conflict_copy);
        std::optional<FileRecord> existing;
        if (there != d.records.end()) existing = there->second;
        if (auto copy = conflict_copy_record(at->second, *step.conflict_copy, existing, d.id, false))
            store(d, std::move(*copy));
    }
    if (step.kind == StepKind::rename) {
        if (!step.rename_from) return error("a rename without a source");
        const auto from = d.records.find(step.rename_from->path);
        if (from == d.records.end() || from->second.deleted ||
            from->second.kind != step.target.kind ||
            content_of(from->second) != content_of(step.target))
            return error("the source is gone or holds other content");
        store(d, *step.rename_from);
        // A directory: what is beneath it moves along, as the engine records it.
        for (const MovedEntry& entry : step.moved) {
            const auto old = d.records.find(entry.removed.path);
            if (old == d.records.end() || old->second.deleted ||
                old->second.kind != entry.target.kind ||
                content_of(old->second) != content_of(entry.target) ||
                !beneath(entry.target.path, step.target.path))
                return error("moved entry '" + entry.removed.path + "' is gone or misplaced");
            store(d, entry.removed);
            store(d, entry.target);
        }
    }
    store(d, step.target);
    return std::nullopt;
}

std::string describe(const FileRecord& r, std::span<const SimDevice> devices) {
    std::string out = r.deleted ? "deleted " : "";
    switch (r.kind) {
        case FileKind::file:
            out += "file";
            if (!r.deleted) out += " #" + std::to_string(content_of(r));
            break;
        case FileKind::directory: out += "dir"; break;
        case FileKind::symlink:
            out += "symlink";
            if (!r.deleted) out += " -> " + r.symlink_target;
            break;
    }
    out += " v{";
    for (const auto& entry : r.version.entries()) {
        if (out.back() != '{') out += ",";
        out += name_of(entry.id, devices) + ":" + std::to_string(entry.counter);
    }
    return out + "} by " + name_of(r.modified_by, devices) + " @" +
           std::to_string(r.mtime_ns / seconds(1)) + "s";
}

std::string describe(const PathStep& step) {
    std::string out = std::string(step_kind_name(step.kind)) + " " + step.path;
    if (step.rename_from) out += " <- " + step.rename_from->path;
    if (!step.moved.empty()) out += " (+" + std::to_string(step.moved.size()) + " entries)";
    if (step.conflict_copy) out += " (copy " + *step.conflict_copy + ")";
    return out;
}

Sim::Sim(std::uint64_t seed, SimOptions options) : m_rng(seed), m_options(options) {
    for (int i = 0; i < options.devices; ++i) {
        m_devices.push_back(SimDevice{ShortId{0x1357'9bdf'0246'8ace * std::uint64_t(i + 1)},
                                      "d" + std::to_string(i + 1)});
    }
}

SimDevice& Sim::pick() {
    return m_devices[m_rng() % m_devices.size()];
}

void Sim::log(std::string line) {
    m_history.push_back(std::move(line));
}

void Sim::random_event() {
    const auto roll = m_rng() % 10;
    if (roll < 3) {
        SimDevice& d = pick();
        if (m_options.tree) {
            tree_edit(d);
        } else {
            flat_edit(d);
        }
    } else if (roll < 8) {
        SimDevice& to = pick();
        SimDevice& from = pick();
        if (&to != &from) {
            log(to.name + " <- " + from.name);
            announce(from, to);
        }
    } else {
        plan(pick());
    }
}

void Sim::sync_round() {
    for (SimDevice& to : m_devices) {
        for (SimDevice& from : m_devices) {
            if (&to != &from) announce(from, to);
        }
    }
    for (SimDevice& d : m_devices) plan(d);
}

int Sim::quiesce(int max_rounds) {
    for (int round = 0; round < max_rounds; ++round) {
        log("all <- all (round " + std::to_string(round + 1) + ")");
        for (SimDevice& to : m_devices) {
            for (SimDevice& from : m_devices) {
                if (&to != &from) announce(from, to);
            }
        }
        std::vector<SimDevice*> order;
        for (SimDevice& d : m_devices) order.push_back(&d);
        std::shuffle(order.begin(), order.end(), m_rng);
        bool changed = false;
        for (SimDevice* d : order) changed = plan(*d) || changed;
        if (!changed) return round;
    }
    return max_rounds;
}

FileRecord Sim::local_change(SimDevice& d, const std::string& path) {
    const auto old = d.records.find(path);
    FileRecord r;
    if (old != d.records.end()) r.version = old->second.version;
    r.version.increment(d.id);
    r.modified_by = d.id;
    r.path = path;
    // Seconds unique per edit (copy names are to the second), in an order
    // unrelated to causality, as clocks of different devices are.
    std::int64_t mtime_s = 1'000'000 + std::int64_t(m_rng() % 50) * 1000 + ++m_edits;
    if (m_options.causal_clocks && old != d.records.end() &&
        seconds(mtime_s) <= old->second.mtime_ns)
        mtime_s = old->second.mtime_ns / seconds(1) + m_edits;
    r.mtime_ns = seconds(mtime_s);
    return r;
}

void Sim::store_change(SimDevice& d, FileRecord r) {
    Change change{r.version, !r.deleted, {}};
    for (const std::string& dir : ancestors(r.path))
        if (const auto it = d.records.find(dir); it != d.records.end())
            change.seen_above[dir] = it->second.version;
    m_changes_made[r.path].push_back(std::move(change));
    if (content_of(r) != 0) {
        Made made{content_of(r), r.version, false, {}};
        for (const auto& [path, record] : d.records)
            if (beneath(path, r.path)) made.seen_beneath[path] = record.version;
        m_made[{r.path, r.mtime_ns, r.modified_by}] = std::move(made);
    }
    store(d, std::move(r));
}

void Sim::supersede(const SimDevice& d, const std::string& path) {
    const auto old = d.records.find(path);
    if (old == d.records.end() || content_of(old->second) == 0) return;
    if (const auto made =
            m_made.find({old->second.path, old->second.mtime_ns, old->second.modified_by});
        made != m_made.end())
        made->second.superseded = true;
}

void Sim::move_records(SimDevice& d, const std::string& from, const std::string& to,
                       bool with_entries) {
    std::vector<FileRecord> moving;
    for (const auto& [path, r] : d.records) {
        if (!r.deleted && !is_conflict_copy(path) &&
            (path == from || (with_entries && beneath(path, from))))
            moving.push_back(r);
    }
    log(d.name + " mv " + from + " " + to);
    for (const FileRecord& old : moving) {
        FileRecord moved = old;
        moved.path = to + old.path.substr(from.size());
        const auto existing = d.records.find(moved.path);
        moved.version = existing != d.records.end() ? existing->second.version : VersionVector{};
        moved.version.increment(d.id);
        moved.modified_by = d.id;
        FileRecord gone = old;
        gone.deleted = true;
        gone.chunks.clear();
        gone.size = 0;
        gone.symlink_target.clear();
        gone.version.increment(d.id);
        gone.modified_by = d.id;
        supersede(d, old.path);
        store_change(d, std::move(moved));
        store_change(d, std::move(gone));
    }
}

// A user's change at `d` on a few fixed paths, so that changes collide:
// write, delete, make a directory or symlink, or move a file or directory
// to a fresh name.
void Sim::flat_edit(SimDevice& d) {
    static const std::vector<std::string> paths{"a", "b", "dir", "dir/c", ".d"};
    const std::string path = paths[m_rng() % paths.size()];
    const auto old = d.records.find(path);
    const bool was_live = old != d.records.end() && !old->second.deleted;
    FileRecord r = local_change(d, path);
    const auto what = m_rng() % 11;
    if (what < 6) {
        r.kind = FileKind::file;
        r.chunks = {content_chunk(++m_contents)};
        r.size = r.chunks[0].size;
        r.mode = m_rng() % 4 == 0 ? 0755 : 0644;
    } else if (what < 7 && was_live) {
        r.kind = old->second.kind;
        r.deleted = true;
    } else if (what < 8) {
        r.kind = FileKind::directory;
        r.mode = 0755;
    } else if (what < 9) {
        r.kind = FileKind::symlink;
        r.symlink_target = "t" + std::to_string(m_rng() % 3);
    } else if (what < 10) {
        if (content_of(old != d.records.end() ? old->second : FileRecord{}) != 0)
            move_records(d, path, "moved" + std::to_string(++m_moves), false);
        return;
    } else {
        if (was_live && old->second.kind == FileKind::directory)
            move_records(d, path, "tree" + std::to_string(++m_moves), true);
        return;
    }
    log(d.name + " edit " + path + ": " + describe(r, m_devices));
    supersede(d, path);
    store_change(d, std::move(r));
}

bool Sim::make_parents(SimDevice& d, const std::string& path) {
    const std::vector<std::string> above = ancestors(path);
    for (const std::string& dir : above) {
        const auto it = d.records.find(dir);
        if (it != d.records.end() && !it->second.deleted && it->second.kind != FileKind::directory)
            return false;
    }
    for (const std::string& dir : above) {
        if (live(d.records, dir)) continue;
        FileRecord r = local_change(d, dir);
        r.kind = FileKind::directory;
        r.mode = 0755;
        log(d.name + " mkdir " + dir);
        store_change(d, std::move(r));
    }
    return true;
}

bool Sim::remove_tree(SimDevice& d, const std::string& path, bool replacing) {
    std::vector<std::string> doomed;
    for (const auto& [p, r] : d.records) {
        if (r.deleted || !beneath(p, path)) continue;
        if (is_conflict_copy(p)) return false;
        doomed.push_back(p);
    }
    if (!replacing) doomed.push_back(path);
    log(d.name + (replacing ? " rm -r " + path + "/*" : " rm -r " + path));
    for (const std::string& p : doomed) {
        FileRecord r = local_change(d, p);
        r.kind = d.records.at(p).kind;
        r.deleted = true;
        supersede(d, p);
        store_change(d, std::move(r));
    }
    return true;
}

void Sim::write_at(SimDevice& d, const std::string& path, FileKind kind) {
    const auto old = d.records.find(path);
    const bool was_dir =
        old != d.records.end() && !old->second.deleted && old->second.kind == FileKind::directory;
    if (was_dir && kind == FileKind::directory) return;
    if (!make_parents(d, path)) return;
    if (was_dir && !remove_tree(d, path, true)) return;
    FileRecord r = local_change(d, path);
    r.kind = kind;
    switch (kind) {
        case FileKind::file:
            r.chunks = {content_chunk(++m_contents)};
            r.size = r.chunks[0].size;
            r.mode = m_rng() % 4 == 0 ? 0755 : 0644;
            break;
        case FileKind::directory: r.mode = 0755; break;
        case FileKind::symlink:
            r.mode = 0777;
            r.symlink_target = "t" + std::to_string(m_rng() % 3);
            break;
    }
    log(d.name + " edit " + path + ": " + describe(r, m_devices));
    supersede(d, path);
    store_change(d, std::move(r));
}

void Sim::write(std::size_t d, const std::string& path) {
    write_at(m_devices.at(d), path, FileKind::file);
}

void Sim::make_directory(std::size_t d, const std::string& path) {
    write_at(m_devices.at(d), path, FileKind::directory);
}

// mv as a shell does it: into `to` when it is a live directory; refused
// onto a live entry, into itself, or when a conflict copy would stay behind.
void Sim::move(std::size_t index, const std::string& from, const std::string& to_path) {
    SimDevice& d = m_devices.at(index);
    if (!live(d.records, from) || is_conflict_copy(from)) return;
    std::string to = to_path;
    if (live(d.records, to) && d.records.at(to).kind == FileKind::directory)
        to += "/" + from.substr(from.rfind('/') + 1);
    if (to == from || beneath(to, from) || live(d.records, to)) return;
    for (const auto& [p, r] : d.records)
        if (!r.deleted && beneath(p, from) && is_conflict_copy(p)) return;
    if (!make_parents(d, to)) return;
    move_records(d, from, to, true);
}

void Sim::tree_edit(SimDevice& d) {
    const std::vector<std::string>& paths = tree_paths();
    const std::string path = paths[m_rng() % paths.size()];
    const std::size_t index = static_cast<std::size_t>(&d - m_devices.data());
    const auto what = m_rng() % 20;
    if (what < 7) {
        write_at(d, path, FileKind::file);
    } else if (what < 9) {
        write_at(d, path, FileKind::directory);
    } else if (what < 11) {
        write_at(d, path, FileKind::symlink);
    } else if (what < 14) {
        if (live(d.records, path) && !is_conflict_copy(path)) remove_tree(d, path, false);
    } else if (what < 16) {
        move(index, path, "m" + std::to_string(++m_moves));
    } else {
        move(index, path, paths[m_rng() % paths.size()]);
    }
}

bool Sim::plan(SimDevice& d) {
    std::set<std::string> paths;
    for (const auto& [path, r] : d.records) paths.insert(path);
    for (const auto& [peer, records] : d.seen) {
        for (const auto& [path, r] : records) paths.insert(path);
    }
    std::vector<std::pair<std::string, PathInput>> inputs;
    for (const std::string& path : paths) {
        PathInput input;
        if (const auto it = d.records.find(path); it != d.records.end()) input.local = it->second;
        for (const auto& [peer, records] : d.seen) {
            if (const auto it = records.find(path); it != records.end())
                input.remotes.push_back({peer, it->second});
        }
        inputs.emplace_back(path, std::move(input));
    }
    PlanContext context{d.id, FolderMode::send_receive};
    context.live_entries_beneath = [&d](std::string_view dir) -> std::optional<std::size_t> {
        const std::string prefix = std::string(dir) + "/";
        return std::count_if(d.records.begin(), d.records.end(), [&](const auto& entry) {
            return !entry.second.deleted && entry.first.starts_with(prefix);
        });
    };
    // Tree mode, as the engine asks its store: every record this device has
    // or was announced beneath the directory. (Flat edits make no trees: a
    // file there may stand over a live entry, which no disk would hold.)
    if (m_options.tree)
        context.live_beneath = [&inputs](std::string_view dir) {
            return std::any_of(inputs.begin(), inputs.end(), [&](const auto& entry) {
                return beneath(entry.first, dir) && live_globally(entry.second);
            });
        };
    const std::vector<PathStep> steps = plan_paths(inputs, context);
    if (!steps.empty()) {
        std::string line = d.name + " plan:";
        for (std::size_t i = 0; i < steps.size() && i < 6; ++i)
            line += (i ? ", " : " ") + describe(steps[i]);
        if (steps.size() > 6) line += ", ... (" + std::to_string(steps.size()) + " steps)";
        log(std::move(line));
    }
    if (m_observer) m_observer(d, steps);
    for (const PathStep& step : steps) {
        if (step.conflict_copy && copy_markers(*step.conflict_copy) > 1)
            m_plan_errors.push_back(d.name + " " + describe(step) + ": a conflict copy of a copy");
        if (auto error = apply_step(d, step)) m_plan_errors.push_back(d.name + " " + *error);
        if (step.kind == StepKind::rename) {
            ++m_renames;
            if (!step.moved.empty() || step.target.kind == FileKind::directory) ++m_tree_renames;
        }
    }
    const int remade = m_remade;
    if (m_options.tree) settle_tree(d);
    return !steps.empty() || remade != m_remade;
}

void Sim::settle_tree(SimDevice& d) {
    std::set<std::string> missing;  // in path order: parents first
    for (const auto& [path, r] : d.records) {
        if (r.deleted) continue;
        for (const std::string& dir : ancestors(path)) {
            const auto it = d.records.find(dir);
            if (it == d.records.end() || it->second.deleted) missing.insert(dir);
        }
    }
    for (const std::string& dir : missing) {
        FileRecord r = local_change(d, dir);
        r.kind = FileKind::directory;
        r.mode = 0755;
        log(d.name + " scan: directory " + dir + " made again");
        store_change(d, std::move(r));
        ++m_remade;
    }
}

}  // namespace ferry::test
