// The planner's convergence property: devices that edit concurrently,
// exchange their indexes in any order and apply their plans (in memory, the
// way the engine records a step's target) end with identical records, every
// edit either kept at its path, edited over by a device that held it, or
// kept as exactly one conflict copy.
#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "core/planner.hh"
#include "planner_fixtures.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

using Records = std::map<std::string, FileRecord>;

struct Device {
    ShortId id;
    Records records;
    std::map<ShortId, Records> seen;  // each peer's records as last announced
    std::int64_t next_sequence = 1;
};

// One file version made by a user: where, when and by whom (what its
// conflict copy is named after), and its content.
struct Made {
    std::uint64_t content = 0;
    bool superseded = false;  // a device holding it edited, moved or deleted it
};
using MadeKey = std::tuple<std::string, std::int64_t, ShortId>;

std::uint64_t content_of(const FileRecord& r) {
    if (r.deleted || r.kind != FileKind::file || r.chunks.size() != 1) return 0;
    std::uint64_t id = 0;
    for (std::size_t i = 0; i < 8; ++i) id |= std::uint64_t{r.chunks[0].hash.bytes[i]} << (8 * i);
    return id;
}

MadeKey key_of(const FileRecord& r) {
    return {r.path, r.mtime_ns, r.modified_by};
}

class Sim {
public:
    // With `causal_clocks`, an edit's mtime is later than the version it
    // edits (clocks roughly right); without, mtimes are random (any skew).
    Sim(std::uint64_t seed, int device_count, bool causal_clocks)
        : m_rng(seed), m_causal_clocks(causal_clocks) {
        for (int i = 0; i < device_count; ++i)
            m_devices.push_back(Device{ShortId{0x1357'9bdf'0246'8ace * std::uint64_t(i + 1)}});
    }

    void random_event() {
        const auto roll = m_rng() % 10;
        if (roll < 3) {
            edit(pick());
        } else if (roll < 8) {
            Device& to = pick();
            Device& from = pick();
            if (&to != &from) announce(from, to);
        } else {
            plan(pick());
        }
    }

    // Exchanges and plans until nothing changes; the number of rounds taken.
    int quiesce(int max_rounds) {
        for (int round = 0; round < max_rounds; ++round) {
            for (Device& to : m_devices) {
                for (Device& from : m_devices) {
                    if (&to != &from) announce(from, to);
                }
            }
            std::vector<Device*> order;
            for (Device& d : m_devices) order.push_back(&d);
            std::shuffle(order.begin(), order.end(), m_rng);
            bool changed = false;
            for (Device* d : order) changed = plan(*d) || changed;
            if (!changed) return round;
        }
        return max_rounds;
    }

    void check_converged() const {
        std::set<std::string> paths;
        for (const Device& d : m_devices) {
            for (const auto& [path, record] : d.records) paths.insert(path);
        }
        for (const std::string& path : paths) {
            std::vector<const FileRecord*> present;
            for (const Device& d : m_devices) {
                if (const auto it = d.records.find(path); it != d.records.end())
                    present.push_back(&it->second);
            }
            CAPTURE(path);
            for (const FileRecord* r : present) CHECK(same_but_sequence(*r, *present[0]));
            // A device that never indexed the path is in step with a tombstone.
            if (present.size() < m_devices.size()) CHECK(present[0]->deleted);
        }
    }

    // Every edit is kept at its path, or was edited over by a device that
    // held it, or is kept as exactly one conflict copy; every copy holds the
    // content its name says.
    void check_nothing_lost() {
        const Records& final = m_devices[0].records;
        std::set<std::string> expected_copies;
        for (const auto& [key, made] : m_made) {
            const auto& [path, mtime_ns, by] = key;
            const std::string copy = conflict_copy_path(path, mtime_ns, by);
            const auto at_path = final.find(path);
            const bool kept = at_path != final.end() && content_of(at_path->second) == made.content;
            const auto at_copy = final.find(copy);
            const bool copied =
                at_copy != final.end() && content_of(at_copy->second) == made.content;
            CAPTURE(path, mtime_ns, by.value, made.content);
            CHECK((kept || made.superseded || copied));
            // A version can be both kept and copied, legitimately: it lost
            // to one whose successor it then beat (a later edit with an
            // earlier mtime, or a delete, which never beats an edit).
            if (copied) expected_copies.insert(copy);
            if (copied) ++m_copies;
            if (!kept && !made.superseded) ++m_lost_conflicts;
        }
        std::set<std::string> copies;
        for (const auto& [path, record] : final) {
            if (is_conflict_copy(path)) copies.insert(path);
        }
        CHECK(copies == expected_copies);
    }

    int copies() const { return m_copies; }
    int lost_conflicts() const { return m_lost_conflicts; }
    int renames() const { return m_renames; }
    int tree_renames() const { return m_tree_renames; }

private:
    Device& pick() { return m_devices[m_rng() % m_devices.size()]; }

    void store(Device& d, FileRecord r) {
        r.sequence = Sequence{d.next_sequence++};
        d.records[r.path] = std::move(r);
    }

    // A user's change at `d`: write, delete, make a directory or symlink, or
    // move a file, on a few paths so that changes collide.
    void edit(Device& d) {
        static const std::vector<std::string> paths{"a", "b", "dir", "dir/c", ".d"};
        const std::string path = paths[m_rng() % paths.size()];
        const auto old = d.records.find(path);
        const bool live = old != d.records.end() && !old->second.deleted;
        FileRecord r;
        if (old != d.records.end()) r.version = old->second.version;
        r.version.increment(d.id);
        r.modified_by = d.id;
        r.path = path;
        // Seconds unique per edit (copy names are to the second), in an order
        // unrelated to causality, as clocks of different devices are.
        std::int64_t mtime_s = 1'000'000 + std::int64_t(m_rng() % 50) * 1000 + ++m_edits;
        if (m_causal_clocks && old != d.records.end() && seconds(mtime_s) <= old->second.mtime_ns)
            mtime_s = old->second.mtime_ns / seconds(1) + m_edits;
        r.mtime_ns = seconds(mtime_s);
        const auto what = m_rng() % 11;
        if (what < 6) {
            r.kind = FileKind::file;
            r.chunks = {content_chunk(++m_contents)};
            r.size = r.chunks[0].size;
            r.mode = m_rng() % 4 == 0 ? 0755 : 0644;
        } else if (what < 7 && live) {
            r.kind = old->second.kind;
            r.deleted = true;
        } else if (what < 8) {
            r.kind = FileKind::directory;
            r.mode = 0755;
        } else if (what < 9) {
            r.kind = FileKind::symlink;
            r.symlink_target = "t" + std::to_string(m_rng() % 3);
        } else if (what < 10) {
            move(d, path);
            return;
        } else {
            move_tree(d, path);
            return;
        }
        supersede(d, path);
        if (content_of(r) != 0) m_made[key_of(r)] = Made{content_of(r)};
        store(d, std::move(r));
    }

    // Moves the live file at `from` to a fresh path (a rename on disk: same
    // content and mtime).
    void move(Device& d, const std::string& from) {
        const auto old = d.records.find(from);
        if (old == d.records.end() || content_of(old->second) == 0) return;
        FileRecord moved = old->second;
        moved.path = "moved" + std::to_string(++m_moves);
        moved.version = VersionVector{};
        moved.version.increment(d.id);
        moved.modified_by = d.id;
        FileRecord gone = old->second;
        gone.deleted = true;
        gone.chunks.clear();
        gone.size = 0;
        gone.version.increment(d.id);
        gone.modified_by = d.id;
        supersede(d, from);
        m_made[key_of(moved)] = Made{content_of(moved)};
        store(d, std::move(moved));
        store(d, std::move(gone));
    }

    // Moves the live directory at `from` and every live entry beneath it to
    // a fresh path.
    void move_tree(Device& d, const std::string& from) {
        const auto top = d.records.find(from);
        if (top == d.records.end() || top->second.deleted || top->second.kind != FileKind::directory)
            return;
        const std::string to = "tree" + std::to_string(++m_moves);
        std::vector<FileRecord> moving;
        // Conflict copies stay (the check finds each under the name it was given).
        for (const auto& [path, r] : d.records)
            if (!r.deleted && !is_conflict_copy(path) &&
                (path == from || path.starts_with(from + "/")))
                moving.push_back(r);
        for (const FileRecord& old : moving) {
            FileRecord moved = old;
            moved.path = to + old.path.substr(from.size());
            moved.version = VersionVector{};
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
            if (content_of(moved) != 0) m_made[key_of(moved)] = Made{content_of(moved)};
            store(d, std::move(moved));
            store(d, std::move(gone));
        }
    }

    void supersede(const Device& d, const std::string& path) {
        const auto old = d.records.find(path);
        if (old == d.records.end() || content_of(old->second) == 0) return;
        if (const auto made = m_made.find(key_of(old->second)); made != m_made.end())
            made->second.superseded = true;
    }

    void announce(const Device& from, Device& to) { to.seen[from.id] = from.records; }

    // Plans every known path and applies the steps as the engine records
    // them; whether anything changed.
    bool plan(Device& d) {
        std::set<std::string> paths;
        for (const auto& [path, r] : d.records) paths.insert(path);
        for (const auto& [peer, records] : d.seen) {
            for (const auto& [path, r] : records) paths.insert(path);
        }
        std::vector<std::pair<std::string, PathInput>> inputs;
        for (const std::string& path : paths) {
            PathInput input;
            if (const auto it = d.records.find(path); it != d.records.end())
                input.local = it->second;
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
        const std::vector<PathStep> steps = plan_paths(inputs, context);
        for (const PathStep& step : steps) apply(d, step);
        return !steps.empty();
    }

    void apply(Device& d, const PathStep& step) {
        if (step.conflict_copy) {
            // As the engine keeps it: the local content under the copy's name,
            // a new local change there.
            FileRecord copy = d.records.at(step.path);
            REQUIRE(content_of(copy) != 0);
            copy.path = *step.conflict_copy;
            const auto existing = d.records.find(copy.path);
            copy.version = existing != d.records.end() ? existing->second.version : VersionVector{};
            copy.version.increment(d.id);
            copy.modified_by = d.id;
            store(d, std::move(copy));
        }
        if (step.kind == StepKind::rename) {
            REQUIRE(step.rename_from);
            const FileRecord& from = d.records.at(step.rename_from->path);
            REQUIRE(!from.deleted);
            REQUIRE(from.kind == step.target.kind);
            REQUIRE(content_of(from) == content_of(step.target));
            store(d, *step.rename_from);
            ++m_renames;
            // A directory: what is beneath it moves along, as the engine records it.
            for (const MovedEntry& entry : step.moved) {
                const FileRecord& old = d.records.at(entry.removed.path);
                REQUIRE(!old.deleted);
                REQUIRE(old.kind == entry.target.kind);
                REQUIRE(content_of(old) == content_of(entry.target));
                REQUIRE(entry.target.path.starts_with(step.target.path + "/"));
                store(d, entry.removed);
                store(d, entry.target);
            }
            if (!step.moved.empty() || step.target.kind == FileKind::directory) ++m_tree_renames;
        }
        store(d, step.target);
    }

    std::mt19937_64 m_rng;
    bool m_causal_clocks;
    std::vector<Device> m_devices;
    std::map<MadeKey, Made> m_made;
    std::uint64_t m_contents = 0;
    int m_edits = 0;
    int m_moves = 0;
    int m_copies = 0;
    int m_lost_conflicts = 0;
    int m_renames = 0;
    int m_tree_renames = 0;
};

}  // namespace

TEST_CASE("planner: random histories converge with nothing lost", "[planner][sim]") {
    int copies = 0;
    int lost = 0;
    int renames = 0;
    int tree_renames = 0;
    int max_rounds = 0;
    for (std::uint64_t seed = 1; seed <= 600; ++seed) {
        CAPTURE(seed);
        std::mt19937_64 shape(seed);
        Sim sim(seed, 2 + static_cast<int>(shape() % 3), seed % 2 == 0);
        const int events = 20 + static_cast<int>(shape() % 200);
        for (int i = 0; i < events; ++i) sim.random_event();
        const int rounds = sim.quiesce(50);
        REQUIRE(rounds < 50);
        max_rounds = std::max(max_rounds, rounds);
        sim.check_converged();
        sim.check_nothing_lost();
        copies += sim.copies();
        lost += sim.lost_conflicts();
        renames += sim.renames();
        tree_renames += sim.tree_renames();
    }
    // The histories did collide: copies were made and files renamed.
    CHECK(copies > 100);
    CHECK(lost > 0);
    CHECK(renames > 10);
    CHECK(tree_renames > 10);
    CHECK(max_rounds <= 10);
}
