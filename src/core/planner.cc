#include "core/planner.hh"

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <tuple>

#include "core/chunk_delta.hh"
#include "core/conflict_name.hh"
#include "core/leb128.hh"

namespace ferry {
namespace {

// The change a record carries: the device that made it and that device's
// counter at the time. Merges keep the winner's dot.
struct Dot {
    ShortId device;
    std::uint64_t counter = 0;
    friend bool operator==(const Dot&, const Dot&) = default;
};

Dot dot_of(const FileRecord& r) {
    return {r.modified_by, r.version.counter(r.modified_by)};
}

bool chunks_less(const std::vector<ChunkRef>& a, const std::vector<ChunkRef>& b) {
    return std::lexicographical_compare(
        a.begin(), a.end(), b.begin(), b.end(), [](const ChunkRef& x, const ChunkRef& y) {
            return std::tie(x.hash, x.size) < std::tie(y.hash, y.size);
        });
}

bool entries_less(const VersionVector& a, const VersionVector& b) {
    return std::lexicographical_compare(a.entries().begin(), a.entries().end(), b.entries().begin(),
                                        b.entries().end(), [](const auto& x, const auto& y) {
                                            return std::tie(x.id, x.counter) <
                                                   std::tie(y.id, y.counter);
                                        });
}

// The deterministic order among concurrent versions: live first, then the
// later mtime, then the higher modified_by; the remaining fields only make
// the order total, so that two different records never tie.
bool loses_to(const FileRecord& a, const FileRecord& b) {
    const auto key = [](const FileRecord& r) {
        return std::tuple(!r.deleted, r.mtime_ns, r.modified_by, r.kind, r.size, r.mode);
    };
    if (key(a) != key(b)) return key(a) < key(b);
    if (a.symlink_target != b.symlink_target) return a.symlink_target < b.symlink_target;
    if (a.chunks != b.chunks) return chunks_less(a.chunks, b.chunks);
    return entries_less(a.version, b.version);
}

bool live_directory(const FileRecord& r) {
    return !r.deleted && r.kind == FileKind::directory;
}

struct Resolution {
    const FileRecord* winner = nullptr;
    bool concurrent = false;      // chosen among versions none of which dominates
    bool local_contends = false;  // the local content was a candidate for winner
};

// A candidate is out of the running when another is newer by version
// vector, or when another has seen its change (its dot) while carrying a
// different one: then that content was edited over, or kept as a conflict
// copy, by whoever held it. The second rule matters for merged vectors,
// which can be concurrent with a version whose content they replaced.
// Should every candidate have seen every other's change (versions with
// equal vectors but different content, as after a device lost its
// database), all undominated ones compete, so every device still agrees.
Resolution resolve(std::span<const FileRecord* const> all, const FileRecord* local) {
    const auto dominated = [&](const FileRecord* r) {
        return std::any_of(all.begin(), all.end(), [&](const FileRecord* c) {
            return c->version.compare(r->version) == Ordering::newer;
        });
    };
    const auto seen_by_another = [&](const FileRecord* r) {
        const Dot dot = dot_of(*r);
        if (dot.counter == 0) return false;  // no dot to see: only dominance counts
        return std::any_of(all.begin(), all.end(), [&](const FileRecord* c) {
            return dot_of(*c) != dot && c->version.counter(dot.device) >= dot.counter;
        });
    };

    std::vector<const FileRecord*> maximal;
    std::copy_if(all.begin(), all.end(), std::back_inserter(maximal),
                 [&](const FileRecord* r) { return !dominated(r); });
    std::vector<const FileRecord*> contenders;
    std::copy_if(maximal.begin(), maximal.end(), std::back_inserter(contenders),
                 [&](const FileRecord* r) { return !seen_by_another(r); });
    if (contenders.empty()) contenders = maximal;

    Resolution out;
    out.winner = *std::max_element(
        contenders.begin(), contenders.end(),
        [](const FileRecord* a, const FileRecord* b) { return loses_to(*a, *b); });
    out.concurrent = std::any_of(maximal.begin(), maximal.end(), [&](const FileRecord* m) {
        return m->version != out.winner->version || !same_content(*m, *out.winner);
    });
    // The local content may run under a peer's record of it, merged further
    // than the local one: then it is still this device's to keep.
    out.local_contends =
        local && std::any_of(contenders.begin(), contenders.end(), [&](const FileRecord* c) {
            return c == local || (dot_of(*c) == dot_of(*local) && same_content(*c, *local));
        });
    return out;
}

StepKind create_step(FileKind kind) {
    switch (kind) {
        case FileKind::directory: return StepKind::make_directory;
        case FileKind::symlink: return StepKind::make_symlink;
        case FileKind::file: break;
    }
    return StepKind::write_file;
}

StepKind step_for(const FileRecord* local, const FileRecord& target) {
    if (!local) return target.deleted ? StepKind::none : create_step(target.kind);
    if (same_record(*local, target)) return StepKind::none;
    if (target.deleted) return local->deleted ? StepKind::adopt : StepKind::remove;
    if (local->deleted || !same_content(*local, target)) return create_step(target.kind);
    return same_metadata(*local, target) ? StepKind::adopt : StepKind::set_metadata;
}

bool live_file(const FileRecord& r) {
    return !r.deleted && r.kind == FileKind::file;
}

// A local change the peers do not have: made here, and no peer announces it
// or anything newer.
bool unsent_local_change(const PathInput& input, ShortId local_device) {
    if (!input.local || input.local->modified_by != local_device) return false;
    return std::none_of(input.remotes.begin(), input.remotes.end(), [&](const RemoteVersion& r) {
        const Ordering order = r.record.version.compare(input.local->version);
        return order == Ordering::equal || order == Ordering::newer;
    });
}

std::vector<const FileRecord*> candidates(const PathInput& input) {
    std::vector<const FileRecord*> all;
    if (input.local) all.push_back(&*input.local);
    for (const RemoteVersion& remote : input.remotes) all.push_back(&remote.record);
    return all;
}

// A live file or symlink that wins at a path where a live directory is a
// candidate too, while some entry beneath the path is live, would bury that
// entry: the directory stays instead, the one that wins among the live
// directory candidates. Its vector does not cover the file's change unless
// this device holds the file (the local vector joins the target's), and
// then the plan keeps the file as a conflict copy: so no device takes the
// directory as newer than a file it never held, and a later change there
// cannot make the file look seen.
const FileRecord* directory_kept(std::string_view path, const FileRecord& winner,
                                 std::span<const FileRecord* const> all,
                                 const PlanContext& context) {
    if (winner.deleted || winner.kind == FileKind::directory || !context.live_beneath)
        return nullptr;
    std::vector<const FileRecord*> directories;
    std::copy_if(all.begin(), all.end(), std::back_inserter(directories),
                 [](const FileRecord* c) { return live_directory(*c); });
    if (directories.empty() || !context.live_beneath(path)) return nullptr;
    return resolve(directories, nullptr).winner;
}

PathStep plan_send_receive(std::string_view path, const PathInput& input,
                           const PlanContext& context) {
    PathStep step;
    step.path = std::string(path);
    const FileRecord* local = input.local ? &*input.local : nullptr;
    const std::vector<const FileRecord*> all = candidates(input);
    if (all.empty()) return step;

    const Resolution global = resolve(all, local);
    const FileRecord* kept = directory_kept(path, *global.winner, all, context);
    FileRecord target = kept ? *kept : *global.winner;
    target.path = step.path;
    target.sequence = Sequence{};
    // Only the local vector joins the winner's: a merge that also covered a
    // third device's losing version would stop that device from keeping it.
    if (local) target.version = local->version.merged(target.version);

    step.kind = step_for(local, target);
    step.conflict = global.concurrent || kept;
    if (step.kind == StepKind::none) {
        step.target = local ? *local : std::move(target);
        return step;
    }
    // A conflict copy that loses a conflict of its own is not copied again
    // (as in Syncthing): replacing it keeps it in the versions area.
    if (global.local_contends && live_file(*local) && !same_content(*local, target) &&
        !is_conflict_copy(path)) {
        step.conflict_copy = conflict_copy_path(path, local->mtime_ns, local->modified_by);
    }
    if (live_file(target)) {
        for (const RemoteVersion& remote : input.remotes) {
            if (same_content(remote.record, target)) step.sources.push_back(remote.device);
        }
        std::sort(step.sources.begin(), step.sources.end());
        step.sources.erase(std::unique(step.sources.begin(), step.sources.end()),
                           step.sources.end());
    }
    step.target = std::move(target);
    return step;
}

std::size_t depth(std::string_view path) {
    return static_cast<std::size_t>(std::count(path.begin(), path.end(), '/'));
}

struct Planned {
    PathStep step;
    const FileRecord* local = nullptr;
    bool dropped = false;  // a removal that became a rename's source
};

// A removed live file whose content a written path needs becomes that
// write's source: one rename, nothing copied or fetched, the data never
// nowhere. The mode may differ (the writer sets the target's).
void pair_renames(std::vector<Planned>& planned) {
    using Key = std::pair<std::array<std::uint8_t, 16>, std::uint64_t>;
    std::map<Key, std::vector<std::size_t>> removed;  // in path order: the pairing is deterministic
    const auto key_of = [](const FileRecord& r) {
        return Key{chunk_list_digest(r.chunks).bytes, r.size};
    };
    for (std::size_t i = 0; i < planned.size(); ++i) {
        const Planned& p = planned[i];
        if (p.step.kind == StepKind::remove && p.local && live_file(*p.local))
            removed[key_of(*p.local)].push_back(i);
    }
    if (removed.empty()) return;
    for (auto& [key, sources] : removed) {
        std::sort(sources.begin(), sources.end(), [&](std::size_t a, std::size_t b) {
            return planned[a].step.path > planned[b].step.path;
        });
    }
    std::vector<std::size_t> writes(planned.size());
    std::iota(writes.begin(), writes.end(), std::size_t{0});
    std::sort(writes.begin(), writes.end(), [&](std::size_t a, std::size_t b) {
        return planned[a].step.path < planned[b].step.path;
    });
    for (const std::size_t w : writes) {
        Planned& p = planned[w];
        // Not over a local directory: its entries must be removed first, and
        // the removals come after the renames.
        if (p.step.kind != StepKind::write_file || (p.local && live_directory(*p.local))) continue;
        const auto found = removed.find(key_of(p.step.target));
        if (found == removed.end() || found->second.empty()) continue;
        Planned& source = planned[found->second.back()];
        found->second.pop_back();
        source.dropped = true;
        p.step.kind = StepKind::rename;
        p.step.rename_from = source.step.target;
    }
}

// A conflict copy whose path the batch also holds: the copy's name comes
// from the losing version, so a device that held that version made the copy
// already. When the step there would fetch the very content being kept, the
// copy brings it instead (a rename, nothing fetched) and that step goes; the
// copy's record and the announced one then merge as concurrent versions of
// one content. Otherwise the copy is here already, or was edited over or
// deleted since by a device that held it, and it is not made again. Either
// way no two steps write one path, so their order cannot matter.
void settle_copy_paths(std::vector<Planned>& planned) {
    std::map<std::string_view, std::size_t> at;
    for (std::size_t i = 0; i < planned.size(); ++i) at.emplace(planned[i].step.path, i);
    for (Planned& p : planned) {
        if (!p.step.conflict_copy) continue;
        const auto found = at.find(*p.step.conflict_copy);
        if (found == at.end()) continue;
        Planned& there = planned[found->second];
        if (there.step.kind == StepKind::write_file && !there.step.conflict_copy &&
            same_content(there.step.target, *p.local)) {
            there.dropped = true;
        } else {
            p.step.conflict_copy.reset();
        }
    }
}

// What a directory rename compares: an entry's path below the directory,
// its kind and content; equal keys, equal entries.
void append_entry_key(std::string& key, std::string_view below, const FileRecord& r) {
    append_leb128(key, below.size());
    key.append(below);
    key.push_back(static_cast<char>(r.kind));
    if (r.kind == FileKind::file) {
        append_leb128(key, r.size);
        const auto digest = chunk_list_digest(r.chunks).bytes;
        key.append(digest.begin(), digest.end());
    } else if (r.kind == FileKind::symlink) {
        append_leb128(key, r.symlink_target.size());
        key.append(r.symlink_target);
    }
}

// The steps beneath the directory at by_path[dir_position]: a range of
// `by_path` (indexes into `planned` in path order, where the paths that
// start with "dir/" are contiguous, though not always right after "dir":
// "dir-x" sorts between).
std::pair<std::size_t, std::size_t> steps_beneath(const std::vector<Planned>& planned,
                                                  const std::vector<std::size_t>& by_path,
                                                  std::size_t dir_position) {
    const std::string prefix = planned[by_path[dir_position]].step.path + "/";
    const auto first = std::lower_bound(
        by_path.begin() + static_cast<std::ptrdiff_t>(dir_position) + 1, by_path.end(), prefix,
        [&](std::size_t i, const std::string& p) { return planned[i].step.path < p; });
    auto last = first;
    while (last != by_path.end() && planned[*last].step.path.starts_with(prefix)) ++last;
    return {static_cast<std::size_t>(first - by_path.begin()),
            static_cast<std::size_t>(last - by_path.begin())};
}

// A removed local directory whose whole subtree reappears, same paths and
// content, beneath a directory made in the batch becomes that directory's
// source: one rename, its entries' steps folded into it. Shallowest
// first, so a moved tree is one rename at its top. The two trees never
// nest: beneath the source are only removals, beneath the target only
// creations of paths with no live local entry.
void pair_directory_renames(std::vector<Planned>& planned, const PlanContext& context) {
    if (!context.live_entries_beneath) return;
    std::vector<std::size_t> by_path(planned.size());
    std::iota(by_path.begin(), by_path.end(), std::size_t{0});
    std::sort(by_path.begin(), by_path.end(), [&](std::size_t a, std::size_t b) {
        return planned[a].step.path < planned[b].step.path;
    });
    // Only record changes (a tombstone adopted) may sit beside the moved entries.
    const auto record_only = [](const Planned& p) {
        return p.step.kind == StepKind::adopt && p.step.target.deleted;
    };
    // The key of the tree beneath by_path[pos] if it can move as a whole
    // (`removing`: every entry a live local one removed; else every entry
    // created where nothing lives locally), untouched by an earlier pairing.
    const auto tree_key = [&](std::size_t pos, bool removing) -> std::optional<std::string> {
        const Planned& top = planned[by_path[pos]];
        const auto [begin, end] = steps_beneath(planned, by_path, pos);
        std::string key;
        for (std::size_t i = begin; i < end; ++i) {
            const Planned& q = planned[by_path[i]];
            if (record_only(q)) continue;
            if (q.dropped) return std::nullopt;
            const bool movable =
                removing ? q.step.kind == StepKind::remove && q.local && !q.local->deleted
                         : (q.step.kind == StepKind::write_file ||
                            q.step.kind == StepKind::make_directory ||
                            q.step.kind == StepKind::make_symlink) &&
                               !q.step.conflict_copy && (!q.local || q.local->deleted);
            if (!movable) return std::nullopt;
            append_entry_key(key, std::string_view(q.step.path).substr(top.step.path.size() + 1),
                             removing ? *q.local : q.step.target);
        }
        return key;
    };
    const auto below = [&](const Planned& top, const Planned& entry) {
        return std::string_view(entry.step.path).substr(top.step.path.size() + 1);
    };
    // Made directories by the key of the tree made beneath them, in path order.
    std::map<std::string, std::vector<std::size_t>> made;
    for (std::size_t pos = 0; pos < by_path.size(); ++pos) {
        const Planned& p = planned[by_path[pos]];
        if (p.step.kind != StepKind::make_directory || p.step.conflict_copy ||
            (p.local && !p.local->deleted))
            continue;
        if (auto key = tree_key(pos, false)) made[*key].push_back(pos);
    }
    if (made.empty()) return;
    for (auto& [key, positions] : made) std::reverse(positions.begin(), positions.end());

    for (std::size_t pos = 0; pos < by_path.size(); ++pos) {
        Planned& source = planned[by_path[pos]];
        if (source.dropped || source.step.kind != StepKind::remove || !source.local ||
            !live_directory(*source.local))
            continue;
        const auto key = tree_key(pos, true);
        if (!key) continue;
        const auto found = made.find(*key);
        if (found == made.end()) continue;
        const auto [begin, end] = steps_beneath(planned, by_path, pos);
        std::map<std::string_view, Planned*> removed;
        for (std::size_t i = begin; i < end; ++i)
            if (Planned& q = planned[by_path[i]]; !record_only(q)) removed[below(source, q)] = &q;
        // Every live entry the index has beneath it goes, or the rename
        // would carry the others along.
        const auto indexed = context.live_entries_beneath(source.step.path);
        if (!indexed || *indexed != removed.size()) continue;
        // The first candidate still as it was (one inside a tree paired
        // before was folded into that tree's rename).
        auto& candidates = found->second;
        while (!candidates.empty() && (planned[by_path[candidates.back()]].dropped ||
                                       tree_key(candidates.back(), false) != key))
            candidates.pop_back();
        if (candidates.empty()) continue;
        const std::size_t target_pos = candidates.back();
        candidates.pop_back();
        Planned& rename = planned[by_path[target_pos]];
        const auto [target_begin, target_end] = steps_beneath(planned, by_path, target_pos);
        for (std::size_t i = target_begin; i < target_end; ++i) {
            Planned& q = planned[by_path[i]];
            if (record_only(q)) continue;
            Planned& from = *removed.at(below(rename, q));
            rename.step.moved.push_back(MovedEntry{*from.local, from.step.target, q.step.target});
            from.dropped = true;
            q.dropped = true;
        }
        source.dropped = true;
        rename.step.kind = StepKind::rename;
        rename.step.rename_from = source.step.target;
    }
}

// Directories first (parents before children), renames while their sources
// exist, then writes; removals last, children before parents; a local
// directory that becomes a file or symlink only once its entries are gone.
int group_of(const Planned& p) {
    switch (p.step.kind) {
        case StepKind::make_directory: return 0;
        case StepKind::rename: return 1;
        case StepKind::remove: return 3;
        default: break;
    }
    return p.local && live_directory(*p.local) && !live_directory(p.step.target) ? 4 : 2;
}

}  // namespace

const char* step_kind_name(StepKind kind) {
    switch (kind) {
        case StepKind::none: return "none";
        case StepKind::adopt: return "adopt";
        case StepKind::set_metadata: return "set_metadata";
        case StepKind::make_directory: return "make_directory";
        case StepKind::make_symlink: return "make_symlink";
        case StepKind::write_file: return "write_file";
        case StepKind::rename: return "rename";
        case StepKind::remove: return "remove";
    }
    return "unknown";
}

PathStep plan_path(std::string_view path, const PathInput& input, const PlanContext& context) {
    if (context.mode == FolderMode::receive_only &&
        unsent_local_change(input, context.local_device)) {
        PathStep step;
        step.path = std::string(path);
        step.target = *input.local;
        step.local_change = true;
        return step;
    }
    PathStep step = plan_send_receive(path, input, context);
    if (context.mode == FolderMode::send_only && step.kind != StepKind::none) {
        step.needs_override = true;
        step.kind = StepKind::none;
        if (input.local) step.target = *input.local;
        step.conflict_copy.reset();
        step.sources.clear();
    }
    return step;
}

std::vector<PathStep> plan_paths(std::span<const std::pair<std::string, PathInput>> inputs,
                                 const PlanContext& context) {
    std::vector<Planned> planned;
    for (const auto& [path, input] : inputs)
        planned.push_back(
            Planned{plan_path(path, input, context), input.local ? &*input.local : nullptr});
    settle_copy_paths(planned);
    std::erase_if(planned,
                  [](const Planned& p) { return p.dropped || p.step.kind == StepKind::none; });
    pair_directory_renames(planned, context);
    std::erase_if(planned, [](const Planned& p) { return p.dropped; });
    pair_renames(planned);
    std::erase_if(planned, [](const Planned& p) { return p.dropped; });

    std::sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
        const int ga = group_of(a);
        const int gb = group_of(b);
        if (ga != gb) return ga < gb;
        const std::size_t da = depth(a.step.path);
        const std::size_t db = depth(b.step.path);
        if (ga == 0 && da != db) return da < db;
        if (ga == 3 && da != db) return da > db;
        return a.step.path < b.step.path;
    });
    std::vector<PathStep> out;
    out.reserve(planned.size());
    for (Planned& p : planned) out.push_back(std::move(p.step));
    return out;
}

std::optional<FileRecord> global_version(std::string_view path, const PathInput& input,
                                         const PlanContext& context) {
    const std::vector<const FileRecord*> all = candidates(input);
    if (all.empty()) return std::nullopt;
    const Resolution global = resolve(all, input.local ? &*input.local : nullptr);
    const FileRecord* kept = directory_kept(path, *global.winner, all, context);
    FileRecord winner = kept ? *kept : *global.winner;
    winner.path = std::string(path);
    return winner;
}

bool live_globally(const PathInput& input) {
    const std::vector<const FileRecord*> all = candidates(input);
    return !all.empty() && !resolve(all, input.local ? &*input.local : nullptr).winner->deleted;
}

FileRecord override_record(const FileRecord& local, std::span<const RemoteVersion> remotes,
                           ShortId local_device) {
    FileRecord out = local;
    for (const RemoteVersion& remote : remotes)
        out.version = out.version.merged(remote.record.version);
    out.version.increment(local_device);
    out.modified_by = local_device;
    return out;
}

}  // namespace ferry
