#include "sync/engine_steps.hh"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>

#include "core/conflict_copy.hh"
#include "core/path_rules.hh"
#include "sync/write_steps.hh"

namespace ferry::engine_detail {

namespace {

Result<void> changed(const std::string& path) {
    return fail(
        Errc::changed,
        printable_path(path) +
            ": changed on disk since it was last scanned; it is rescanned before sync touches it");
}

// Calls `visit` with the path of each live entry the local index holds
// beneath `dir` (any depth, parents before their entries) until it returns
// false.
Result<void> visit_live_beneath(Store& store, const std::string& folder_id, std::string_view dir,
                                const std::function<Result<bool>(const std::string&)>& visit) {
    std::vector<std::string> pending{std::string(dir)};
    while (!pending.empty()) {
        const std::string parent = std::move(pending.back());
        pending.pop_back();
        auto entries = store.children(folder_id, parent);
        if (!entries) return tl::unexpected(entries.error());
        for (const StoredEntry& entry : *entries) {
            if (entry.deleted) continue;
            const std::string path = join_path(parent, entry.name);
            auto more = visit(path);
            if (!more) return tl::unexpected(more.error());
            if (!*more) return {};
            if (entry.kind == FileKind::directory) pending.push_back(path);
        }
    }
    return {};
}

Result<std::size_t> live_entries_beneath(Store& store, const std::string& folder_id,
                                         std::string_view dir) {
    std::size_t count = 0;
    auto visited = visit_live_beneath(store, folder_id, dir, [&](const std::string&) -> Result<bool> {
        ++count;
        return true;
    });
    if (!visited) return tl::unexpected(visited.error());
    return count;
}

// Whether a path beneath `dir` (any depth) that the local index or a peer
// has a record of has a live global version: the walk goes down every path
// some record says is a directory, until one is live.
Result<bool> live_beneath(Store& store, const std::string& folder_id, std::string_view dir) {
    std::vector<std::string> pending{std::string(dir)};
    while (!pending.empty()) {
        const std::string parent = std::move(pending.back());
        pending.pop_back();
        auto local_entries = store.children(folder_id, parent);
        if (!local_entries) return tl::unexpected(local_entries.error());
        auto names = store.announced_names(folder_id, parent);
        if (!names) return tl::unexpected(names.error());
        for (const StoredEntry& entry : *local_entries) names->push_back(entry.name);
        std::sort(names->begin(), names->end());
        names->erase(std::unique(names->begin(), names->end()), names->end());
        for (const std::string& name : *names) {
            const std::string path = join_path(parent, name);
            auto record = store.get_file(folder_id, path);
            if (!record) return tl::unexpected(record.error());
            auto remotes = remote_versions(store, folder_id, path);
            if (!remotes) return tl::unexpected(remotes.error());
            PathInput input{std::move(*record), std::move(*remotes)};
            if (live_globally(input)) return true;
            const auto directory = [](const FileRecord& r) {
                return r.kind == FileKind::directory;
            };
            if ((input.local && directory(*input.local)) ||
                std::any_of(input.remotes.begin(), input.remotes.end(),
                            [&](const RemoteVersion& r) { return directory(r.record); }))
                pending.push_back(path);
        }
    }
    return false;
}

// A directory a remove step found still holding entries stays when the
// global version of a live entry the index holds beneath it is live (an
// edit beat a concurrent delete of the directory): its record as a new
// local change, so peers make it again; else nullopt.
Result<std::optional<FileUpdate>> kept_directory(Filesystem& fs, Store& store,
                                                 const std::string& folder_id,
                                                 const PlannedStep& planned, ShortId local) {
    if (!planned.local || planned.local->deleted || planned.local->kind != FileKind::directory)
        return std::nullopt;
    bool holds_kept = false;
    auto visited = visit_live_beneath(
        store, folder_id, planned.step.path, [&](const std::string& path) -> Result<bool> {
            auto record = store.get_file(folder_id, path);
            if (!record) return tl::unexpected(record.error());
            auto remotes = remote_versions(store, folder_id, path);
            if (!remotes) return tl::unexpected(remotes.error());
            holds_kept = live_globally(PathInput{*record, std::move(*remotes)});
            return !holds_kept;
        });
    if (!visited) return tl::unexpected(visited.error());
    if (!holds_kept) return std::nullopt;
    auto st = fs.lstat(planned.step.path);
    if (!st) return tl::unexpected(st.error());
    FileRecord kept = *planned.local;
    kept.version = planned.step.target.version;  // the delete's, with the local one merged in
    kept.version.increment(local);
    kept.modified_by = local;
    return applied_record(kept, *st);
}

// A directory's entries moved with it: each gets its mode and mtime, all
// made durable by one flush; their records go to `out`.
Result<void> set_moved_metadata(FolderWriter& writer, const PathStep& step, std::vector<FileUpdate>& out) {
    std::vector<const FileRecord*> targets;
    targets.reserve(step.moved.size());
    for (const MovedEntry& entry : step.moved) targets.push_back(&entry.target);
    auto stats = writer.set_metadata(targets);
    if (!stats) return tl::unexpected(stats.error());
    for (std::size_t i = 0; i < targets.size(); ++i) {
        out.push_back(FileUpdate{step.moved[i].removed, 0});
        out.push_back(applied_record(*targets[i], (*stats)[i]));
    }
    return {};
}

}  // namespace

Result<std::vector<RemoteVersion>> remote_versions(Store& store, const std::string& folder_id,
                                                   const std::string& path) {
    auto announced = store.announced_versions(folder_id, path);
    if (!announced) return tl::unexpected(announced.error());
    std::vector<RemoteVersion> remotes;
    remotes.reserve(announced->size());
    for (AnnouncedRecord& record : *announced)
        remotes.push_back(RemoteVersion{record.device, std::move(record.record)});
    return remotes;
}

PlanContext with_store(PlanContext context, Store& store, const std::string& folder_id,
                       std::optional<Error>& error) {
    context.live_entries_beneath = [&store, folder_id,
                                    &error](std::string_view dir) -> std::optional<std::size_t> {
        auto count = live_entries_beneath(store, folder_id, dir);
        if (count) return *count;
        if (!error) error = count.error();
        return std::nullopt;
    };
    // Remembered: a batch asks again for the same directory (each path is
    // planned alone first), and the walk can be long (a deleted tree).
    auto known = std::make_shared<std::map<std::string, bool, std::less<>>>();
    context.live_beneath = [&store, folder_id, &error, known](std::string_view dir) {
        if (const auto it = known->find(dir); it != known->end()) return it->second;
        auto live = live_beneath(store, folder_id, dir);
        if (!live) {
            if (!error) error = live.error();
            return false;
        }
        known->emplace(dir, *live);
        return *live;
    };
    return context;
}

Result<FileRecord> global_version(Store& store, const std::string& folder_id, std::string_view path,
                                  const std::optional<FileRecord>& local,
                                  const std::vector<RemoteVersion>& remotes, ShortId local_device) {
    std::optional<Error> error;
    const PlanContext context =
        with_store(PlanContext{local_device, FolderMode::send_receive}, store, folder_id, error);
    auto global = ferry::global_version(path, PathInput{local, remotes}, context);
    if (error) return tl::unexpected(*error);
    if (!global)
        return fail(Errc::invalid_argument,
                    printable_path(path) + ": no record to choose a version from");
    return std::move(*global);
}

bool ignored_path(const IgnoreMatcher& ignore, const std::string& path, const FileRecord* local,
                  const std::vector<RemoteVersion>& remotes) {
    if (ignore.empty()) return false;
    bool is_dir = local != nullptr && local->kind == FileKind::directory;
    for (const RemoteVersion& remote : remotes)
        is_dir = is_dir || remote.record.kind == FileKind::directory;
    return ignore.is_ignored(path, is_dir);
}

Result<PlannedBatch> plan_batch(Store& store, const std::string& folder_id,
                                const std::vector<std::string>& paths, const PlanContext& context,
                                const IgnoreMatcher& ignore) {
    // Directory renames and kept directories need the store beyond the
    // batch; the first store failure fails the batch.
    std::optional<Error> index_error;
    const PlanContext with_index = with_store(context, store, folder_id, index_error);
    std::vector<std::pair<std::string, PathInput>> inputs;
    inputs.reserve(paths.size());
    std::map<std::string, std::optional<FileRecord>> locals;
    PlannedBatch batch;
    std::vector<std::string> live_remote;  // paths some peer announces live
    const auto add = [&](const std::string& path) -> Result<void> {
        auto local = store.get_file(folder_id, path);
        if (!local) return tl::unexpected(local.error());
        auto remotes = remote_versions(store, folder_id, path);
        if (!remotes) return tl::unexpected(remotes.error());
        PathInput input;
        input.local = *local;
        input.remotes = std::move(*remotes);
        const bool remote_live =
            std::any_of(input.remotes.begin(), input.remotes.end(),
                        [](const RemoteVersion& r) { return !r.record.deleted; });
        if (ignored_path(ignore, path, input.local ? &*input.local : nullptr, input.remotes))
            return {};
        const PathStep single = plan_path(path, input, with_index);
        // A local delete of a file no peer has is nothing to revert.
        if (single.local_change && !(input.local && input.local->deleted && !remote_live))
            batch.local_changes.push_back(path);
        if (single.needs_override) batch.needs_override.push_back(path);
        if (remote_live) live_remote.push_back(path);
        locals[path] = *local;
        inputs.emplace_back(path, std::move(input));
        return {};
    };
    for (const std::string& path : paths)
        if (auto added = add(path); !added) return tl::unexpected(added.error());
    // A live entry a peer announces beneath a local file or symlink (a peer
    // kept the directory there for it): that path is planned too, though
    // none of its own records changed, so the directory comes back here.
    std::set<std::string> walked;  // directories whose nearest live local ancestor is known
    std::vector<std::string> buried_under;
    for (const std::string& path : live_remote) {
        for (std::string_view dir = parent_path(path); !dir.empty() && walked.emplace(dir).second;
             dir = parent_path(dir)) {
            auto record = store.get_file(folder_id, dir);
            if (!record) return tl::unexpected(record.error());
            if (!*record || (*record)->deleted) continue;
            if ((*record)->kind != FileKind::directory && !locals.contains(std::string(dir)))
                buried_under.emplace_back(dir);
            break;
        }
    }
    for (const std::string& path : buried_under)
        if (auto added = add(path); !added) return tl::unexpected(added.error());
    std::vector<PathStep> steps = plan_paths(inputs, with_index);
    if (index_error) return tl::unexpected(*index_error);
    for (PathStep& step : steps) {
        PlannedStep planned;
        planned.local = locals[step.path];
        if (step.rename_from) planned.from_local = locals[step.rename_from->path];
        planned.step = std::move(step);
        batch.steps.push_back(std::move(planned));
    }
    return batch;
}

FileUpdate applied_record(const FileRecord& target, const FileStat& stat) {
    FileUpdate update{target, target.deleted ? 0 : stat.inode};
    update.record.sequence = Sequence{};
    if (!target.deleted) {
        update.record.mtime_ns = stat.mtime_ns;
        update.record.mode = stat.mode;
    }
    return update;
}

Result<void> prepare_step(FolderWriter& writer, Store& store, const std::string& folder_id,
                          const PlannedStep& planned, ShortId local, FolderMode mode,
                          std::vector<FileUpdate>& out) {
    const PathStep& step = planned.step;
    // A case-only rename's target may find its own source on disk.
    const std::string_view alias_of =
        step.kind == StepKind::rename && step.rename_from ? std::string_view(step.rename_from->path)
                                                          : std::string_view();
    auto same = writer.check_unchanged(step.path, planned.local, alias_of);
    if (!same) return tl::unexpected(same.error());
    if (!*same) return changed(step.path);
    if (step.kind == StepKind::rename && step.rename_from) {
        auto from_same = writer.check_unchanged(step.rename_from->path, planned.from_local);
        if (!from_same) return tl::unexpected(from_same.error());
        if (!*from_same) return changed(step.rename_from->path);
    }
    for (const MovedEntry& entry : step.moved) {
        auto entry_same = writer.check_unchanged(entry.removed.path, entry.from_local);
        if (!entry_same) return tl::unexpected(entry_same.error());
        if (!*entry_same) return changed(entry.removed.path);
    }
    if (!step.conflict_copy || !planned.local || planned.local->deleted) return {};
    auto existing = store.get_file(folder_id, *step.conflict_copy);
    if (!existing) return tl::unexpected(existing.error());
    const auto copy = conflict_copy_record(*planned.local, *step.conflict_copy, *existing, local,
                                           mode == FolderMode::receive_only);
    // The copy there has seen this content: it is replaced as any other.
    if (!copy) return {};
    // Noted before the copy is made: should the step fail, or the daemon
    // die, before the copy's record is stored, the next scan adopts the file
    // at the copy's path as this record (fs/pending_targets.hh). Taken for a
    // new file of this device's, it would be concurrent with every other
    // device's copy of the same losing version: a conflict copy of a
    // conflict copy (simulation seed 241303).
    const FileRecord noted[] = {*copy};
    if (auto ok = store.put_pending_targets(folder_id, noted); !ok)
        return tl::unexpected(ok.error());
    auto kept = writer.keep_conflict_copy(step.path, copy->path);
    if (!kept) return tl::unexpected(kept.error());
    out.push_back(applied_record(*copy, *kept));
    return {};
}

Result<std::vector<FileUpdate>> apply_local_step(FolderWriter& writer, Filesystem& fs, Store& store,
                                                 const std::string& folder_id,
                                                 const PlannedStep& planned, ShortId local,
                                                 FolderMode mode, std::vector<FileUpdate>& copies) {
    const FileRecord& target = planned.step.target;
    // Gone already (deleted or moved away here since the last scan): the
    // removal is done. Were it left for a rescan, a directory above removed
    // meanwhile would hide it from the scan, its live record kept for good.
    if (planned.step.kind == StepKind::remove) {
        auto st = fs.lstat(target.path);
        if (!st && st.error().code == Errc::not_found) return std::vector{FileUpdate{target, 0}};
    }
    if (auto prepared = prepare_step(writer, store, folder_id, planned, local, mode, copies);
        !prepared)
        return tl::unexpected(prepared.error());
    std::vector<FileUpdate> out;
    Result<FileStat> stat = fail(Errc::invalid_argument, "no step");
    switch (planned.step.kind) {
        case StepKind::adopt:
            if (target.deleted) {
                out.push_back(FileUpdate{target, 0});
                return out;
            }
            stat = fs.lstat(target.path);
            break;
        case StepKind::set_metadata: stat = writer.set_metadata(target); break;
        case StepKind::make_directory: stat = writer.make_directory(target); break;
        case StepKind::make_symlink: stat = writer.make_symlink(target); break;
        case StepKind::rename:
            if (!planned.step.rename_from)
                return fail(Errc::invalid_argument,
                            printable_path(target.path) + ": rename step without a source");
            stat = writer.rename(planned.step.rename_from->path, target);
            if (!stat) break;
            out.push_back(FileUpdate{*planned.step.rename_from, 0});
            if (auto moved = set_moved_metadata(writer, planned.step, out); !moved)
                return tl::unexpected(moved.error());
            break;
        case StepKind::remove: {
            auto removed = writer.remove(target.path);
            if (!removed && removed.error().code == Errc::busy) {
                auto kept = kept_directory(fs, store, folder_id, planned, local);
                if (!kept) return tl::unexpected(kept.error());
                if (*kept) {
                    out.push_back(std::move(**kept));
                    return out;
                }
            }
            if (!removed) return tl::unexpected(removed.error());
            out.push_back(FileUpdate{target, 0});
            return out;
        }
        case StepKind::none:
        case StepKind::write_file:
            return fail(Errc::invalid_argument, printable_path(target.path) + ": " +
                                                    step_kind_name(planned.step.kind) +
                                                    " is not a local step");
    }
    if (!stat) return tl::unexpected(stat.error());
    out.push_back(applied_record(target, *stat));
    return out;
}

Result<std::optional<PlannedStep>> revert_step(Store& store, const std::string& folder_id,
                                               const std::string& path,
                                               const std::optional<FileRecord>& local,
                                               const std::vector<RemoteVersion>& remotes,
                                               ShortId local_device) {
    if (!local) return std::nullopt;
    PlannedStep planned;
    planned.local = local;
    PathStep& step = planned.step;
    step.path = path;
    if (remotes.empty()) {  // a local addition: remove it
        if (local->deleted) return std::nullopt;
        step.kind = StepKind::remove;
        step.target = *local;
        step.target.deleted = true;
        step.target.size = 0;
        step.target.chunks.clear();
        step.target.symlink_target.clear();
        return planned;
    }
    auto global = global_version(store, folder_id, path, std::nullopt, remotes, local_device);
    if (!global) return tl::unexpected(global.error());
    FileRecord target = std::move(*global);
    // Newer than the local change, with the global content: every device adopts it.
    target.version = target.version.merged(local->version);
    const bool live_here = !local->deleted;
    if (target.deleted) {
        step.kind = live_here ? StepKind::remove : StepKind::adopt;
    } else if (live_here && same_content(*local, target)) {
        step.kind = StepKind::set_metadata;
    } else if (target.kind == FileKind::directory) {
        step.kind = StepKind::make_directory;
    } else if (target.kind == FileKind::symlink) {
        step.kind = StepKind::make_symlink;
    } else {
        step.kind = StepKind::write_file;
        for (const RemoteVersion& remote : remotes)
            if (same_content(remote.record, target)) step.sources.push_back(remote.device);
    }
    step.target = std::move(target);
    return planned;
}

}  // namespace ferry::engine_detail
