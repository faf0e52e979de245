// The blocking half of pulling: planning a batch of paths from the store,
// and applying the steps that need no data from peers through the
// FolderWriter.
//
// Every step first checks that the disk still matches the local record it
// was planned against (FolderWriter::check_unchanged); if not it fails with
// Errc::changed and the engine rescans and plans the path again, so a local
// edit is never overwritten. A step returns the records to store: its
// target (with the times and mode the disk now has, so the next scan finds
// it unchanged) and, for a conflict, the kept copy's record
// (core/conflict_copy.hh). A directory rename checks every entry it moves
// the same way and records each at its new path. A remove step whose path
// is gone already is done. A directory to be removed that still holds an
// entry whose global version is live (an edit beat a concurrent delete of
// the directory) is kept, recorded as a new local version, so peers make it
// again. A batch also plans each local file or symlink that a live entry
// planned in it lies beneath, so that the planner keeps the directory there
// (core/planner.hh: a directory with live entries is never replaced by a
// file).
//
// Thread rule: blocking; called on worker threads.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/ignore.hh"
#include "core/planner.hh"
#include "store/store.hh"
#include "sync/engine_impl.hh"
#include "sync/folder_writer.hh"

namespace ferry::engine_detail {

struct PlannedBatch {
    std::vector<PlannedStep> steps;           // in the planner's order
    std::vector<std::string> local_changes;   // receive-only
    std::vector<std::string> needs_override;  // send-only
};

// Each peer's latest record of `path`, as the planner takes them.
Result<std::vector<RemoteVersion>> remote_versions(Store& store, const std::string& folder_id,
                                                   const std::string& path);

// `context` answering from the store what the planner asks beyond a batch
// (PlanContext::live_entries_beneath and live_beneath, the latter
// remembered: use it only while the store does not change); the first store
// failure goes to `error` (which must outlive the context).
PlanContext with_store(PlanContext context, Store& store, const std::string& folder_id,
                       std::optional<Error>& error);

// The global version of a path (core/planner.hh global_version(), a
// directory kept for its live entries included).
Result<FileRecord> global_version(Store& store, const std::string& folder_id, std::string_view path,
                                  const std::optional<FileRecord>& local,
                                  const std::vector<RemoteVersion>& remotes, ShortId local_device);

// Whether `ignore` matches `path`, a directory if any of its records is one.
bool ignored_path(const IgnoreMatcher& ignore, const std::string& path, const FileRecord* local,
                  const std::vector<RemoteVersion>& remotes);

// Plans `paths`, leaving out those `ignore` matches (.ferryignore: an ignored
// path is neither written nor deleted by sync).
Result<PlannedBatch> plan_batch(Store& store, const std::string& folder_id,
                                const std::vector<std::string>& paths, const PlanContext& context,
                                const IgnoreMatcher& ignore);

// The record stored after a step: `target` with what the disk says.
FileUpdate applied_record(const FileRecord& target, const FileStat& stat);

// Checks the disk against planned.local, then keeps the conflict copy if the
// step asks for one (its record, core/conflict_copy.hh, goes to `out`, and
// is noted as a pending target first, so a scan after a failure or crash
// adopts it; none is made when the copy there has seen the losing version
// already).
// `mode`: the folder's.
Result<void> prepare_step(FolderWriter& writer, Store& store, const std::string& folder_id,
                          const PlannedStep& planned, ShortId local, FolderMode mode,
                          std::vector<FileUpdate>& out);

// Every kind but write_file. The record of the conflict copy the step
// keeps goes to `copies`, also when the step fails after making it: the
// copy stays on disk, and its record must be stored at once, not left to a
// pending target that a later step at the copy's path may replace
// (simulation seed 352002).
Result<std::vector<FileUpdate>> apply_local_step(FolderWriter& writer, Filesystem& fs, Store& store,
                                                 const std::string& folder_id,
                                                 const PlannedStep& planned, ShortId local,
                                                 FolderMode mode, std::vector<FileUpdate>& copies);

// The step that puts back the global version of a receive-only local change
// (`ferry folder revert`), or nullopt when there is nothing to put back.
Result<std::optional<PlannedStep>> revert_step(Store& store, const std::string& folder_id,
                                               const std::string& path,
                                               const std::optional<FileRecord>& local,
                                               const std::vector<RemoteVersion>& remotes,
                                               ShortId local_device);

}  // namespace ferry::engine_detail
