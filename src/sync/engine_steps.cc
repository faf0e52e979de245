#include "sync/engine_steps.hh"

#include <algorithm>
#include <functional>

#include "core/conflict_copy.hh"
#include "core/path_rules.hh"

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
            holds_kept = !global_version(path, *record, *remotes, local).deleted;
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

FileRecord global_version(std::string_view path, const std::optional<FileRecord>& local,
                          const std::vector<RemoteVersion>& remotes, ShortId local_device) {
    std::vector<const FileRecord*> candidates;
    if (local) candidates.push_back(&*local);
    for (const RemoteVersion& remote : remotes) candidates.push_back(&remote.record);
    for (const FileRecord* candidate : candidates) {
        bool dominates = true;
        for (const FileRecord* other : candidates) {
            const Ordering order = candidate->version.compare(other->version);
            if (order != Ordering::equal && order != Ordering::newer) {
                dominates = false;
                break;
            }
        }
        if (dominates) return *candidate;
    }
    // Concurrent versions: the planner's deterministic winner.
    return plan_path(path, PathInput{local, remotes},
                     PlanContext{local_device, FolderMode::send_receive})
        .target;
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
    std::vector<std::pair<std::string, PathInput>> inputs;
    inputs.reserve(paths.size());
    std::map<std::string, std::optional<FileRecord>> locals;
    PlannedBatch batch;
    for (const std::string& path : paths) {
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
            continue;
        const PathStep single = plan_path(path, input, context);
        // A local delete of a file no peer has is nothing to revert.
        if (single.local_change && !(input.local && input.local->deleted && !remote_live))
            batch.local_changes.push_back(path);
        if (single.needs_override) batch.needs_override.push_back(path);
        locals[path] = *local;
        inputs.emplace_back(path, std::move(input));
    }
    // Directory renames need the whole subtree's count; the first store
    // failure fails the batch.
    PlanContext with_index = context;
    std::optional<Error> index_error;
    with_index.live_entries_beneath = [&](std::string_view dir) -> std::optional<std::size_t> {
        auto count = live_entries_beneath(store, folder_id, dir);
        if (count) return *count;
        if (!index_error) index_error = count.error();
        return std::nullopt;
    };
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
    auto kept = writer.keep_conflict_copy(step.path, copy->path);
    if (!kept) return tl::unexpected(kept.error());
    out.push_back(applied_record(*copy, *kept));
    return {};
}

Result<std::vector<FileUpdate>> apply_local_step(FolderWriter& writer, Filesystem& fs, Store& store,
                                                 const std::string& folder_id,
                                                 const PlannedStep& planned, ShortId local,
                                                 FolderMode mode) {
    const FileRecord& target = planned.step.target;
    // Gone already (deleted or moved away here since the last scan): the
    // removal is done. Were it left for a rescan, a directory above removed
    // meanwhile would hide it from the scan, its live record kept for good.
    if (planned.step.kind == StepKind::remove) {
        auto st = fs.lstat(target.path);
        if (!st && st.error().code == Errc::not_found) return std::vector{FileUpdate{target, 0}};
    }
    std::vector<FileUpdate> out;
    if (auto prepared = prepare_step(writer, store, folder_id, planned, local, mode, out); !prepared)
        return tl::unexpected(prepared.error());
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
            // A directory's entries moved with it: each gets its mode and mtime.
            for (const MovedEntry& entry : planned.step.moved) {
                auto moved = writer.set_metadata(entry.target);
                if (!moved) return tl::unexpected(moved.error());
                out.push_back(FileUpdate{entry.removed, 0});
                out.push_back(applied_record(entry.target, *moved));
            }
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

std::optional<PlannedStep> revert_step(const std::string& path,
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
    FileRecord target = global_version(path, std::nullopt, remotes, local_device);
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
