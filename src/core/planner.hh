// The planner: from what this device has and what its peers announce, what
// to do for each path (DESIGN.md "Sync rules"; docs/ARCHITECTURE.md).
//
// For one path the candidates are the local record and each peer's latest
// record. The global version is the one that is newer than or equal to all
// others by version vector. When several are concurrent (none dominates),
// every device picks the same winner: a live version beats a tombstone (a
// delete never removes an edit it had not seen), then the later mtime, then
// the higher modified_by short id (then the other fields, so the order is
// total). A candidate whose own change (modified_by and its counter) another
// candidate's vector already includes is out of the running: that content
// was edited over or kept as a conflict copy. The target record is the
// winner's with the LOCAL version vector merged in (no increment): it
// dominates what this device had, so the peers take it, and it does not
// cover a third device's losing version, which that device must still see
// as concurrent in order to keep it. Concurrent versions with the same
// content (kind, chunk list, symlink target) merge without a conflict copy.
// If the local version loses with different content and is a live file, the
// plan keeps it first under conflict_copy_path() (only a device that holds
// the losing content makes the copy, and the name is the same everywhere,
// so copies never multiply). A conflict copy that loses is not copied again:
// the step replaces it, and the writer keeps it in the versions area, so a
// conflict never produces a copy of a copy. Versions with equal vectors but
// different content (made when devices settle a conflict among different
// contenders and reach one merged vector, or after a device lost its
// database) are settled by the same order, so devices agree instead of
// keeping two contents under one version. Records that are the same version
// (same_record(): a live directory's mtime is each disk's own) need no step.
// Every step moves a device's record up (newer vector, or the same vector
// and a winning record), so planning terminates.
//
// A directory with live entries is never replaced by a file or symlink:
// when the winner is one, a live directory is among the candidates and
// some path beneath has a live global version (PlanContext::live_beneath:
// an entry the winner's side did not see deleted, or edited after), the
// winner among the live directory candidates stays instead (a conflict).
// A device that holds the file gets a target whose vector covers it (its
// local vector joins, as always) and keeps the file as a conflict copy, as
// any losing live file; other devices' targets do not cover the file, so
// no device that never held it takes it as seen. A losing symlink is not
// copied (as in any conflict). Once nothing beneath is live, the file wins
// as usual.
//
// plan_paths() plans a batch. A conflict copy whose path is in the batch
// too (a device that held the same losing version made it already) is not
// made again, unless the step there would fetch the content being kept:
// then that step is left out and the copy brings the content. It orders the
// steps so that data never exists nowhere: a local directory removed in the batch becomes the source of a
// rename of a directory made in it when everything beneath the one moves to
// the same place beneath the other with the same content (every live entry
// the local index holds beneath it, as PlanContext::live_entries_beneath
// tells, modes aside): one rename(2) of the directory; directories are made
// shallowest first; a path removed in the batch
// whose local record is a live file with the content (chunk list and size;
// mode aside) of a file to be written becomes the source of a rename
// (nothing copied, nothing fetched); files are written; removals go deepest
// first; a local directory that becomes a file or symlink is replaced last,
// once its entries are gone. The planner only decides: the engine checks
// the disk before each step (a file changed since its scan is rescanned, and
// the path re-planned) and records the target after it (the target's
// sequence is left 0 for the store to assign).
//
// Folder modes: send-only never applies remote changes (every step is
// `none`, but needs_override is set where the global version is not the
// local one); receive-only applies remote changes, except that a path whose
// local version is a local change (modified_by == local device, and no peer
// announces that version or a newer one) is left alone and flagged
// local_change.
//
// Pure: no I/O, clock or threads.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/file_record.hh"
#include "core/folder_mode.hh"
#include "core/types.hh"

namespace ferry {

struct RemoteVersion {
    ShortId device;
    FileRecord record;
};

struct PathInput {
    std::optional<FileRecord> local;     // nullopt: never indexed here
    std::vector<RemoteVersion> remotes;  // each peer's latest record of the path
};

enum class StepKind : std::uint8_t {
    none,            // the local version is the global one (or newer)
    adopt,           // same content as the global version: only the record changes
    set_metadata,    // same content, other permission bits: chmod, then record
    make_directory,
    make_symlink,
    write_file,      // build from chunks (local copies first, then peers) and rename into place
    rename,          // rename `rename_from` (whose local content is the target's) to the path
    remove,          // delete the file, symlink or (empty) directory; record the tombstone
};

const char* step_kind_name(StepKind kind);

// An entry beneath a directory that a directory rename moves with it.
struct MovedEntry {
    FileRecord from_local;  // the local record at the old path (the disk must still match it)
    FileRecord removed;     // the tombstone to record for the old path
    FileRecord target;      // the record for the new path
};

struct PathStep {
    StepKind kind = StepKind::none;
    std::string path;
    FileRecord target;                        // the record to store locally after the step
    std::optional<std::string> conflict_copy; // first keep the local content under this path
    std::vector<ShortId> sources;             // peers whose announced record has the target's content
    // rename only: the path renamed away and the tombstone to record for it.
    std::optional<FileRecord> rename_from;
    // rename of a directory only: every entry beneath it, in path order.
    std::vector<MovedEntry> moved;
    bool conflict = false;        // the global version was chosen among concurrent ones
    bool local_change = false;    // receive-only: a local change left alone
    bool needs_override = false;  // send-only: the global version differs from the local one
};

struct PlanContext {
    ShortId local_device;
    FolderMode mode = FolderMode::send_receive;
    // How many live entries (at any depth) the local index holds beneath a
    // directory, or nullopt when that is not known. Without it no directory
    // is renamed as a whole (its entries move one by one).
    std::function<std::optional<std::size_t>(std::string_view dir)> live_entries_beneath;
    // Whether some path beneath a directory (any depth, in the local index
    // or any peer's) has a live global version (live_globally()). Without
    // it no directory is kept for its entries: every device must set it.
    std::function<bool(std::string_view dir)> live_beneath;
};

// The plan for one path (never `rename`: that pairing needs the batch).
PathStep plan_path(std::string_view path, const PathInput& input, const PlanContext& context);

// Plans every path and orders the steps as described above; steps of kind
// `none` are left out.
std::vector<PathStep> plan_paths(std::span<const std::pair<std::string, PathInput>> inputs,
                                 const PlanContext& context);

// The global version of a path (the winner described above, a directory
// kept for its entries included), without the local vector merged in;
// nullopt when the path has no record at all.
std::optional<FileRecord> global_version(std::string_view path, const PathInput& input,
                                         const PlanContext& context);

// Whether the global version of a path is live. Keeping a directory for its
// entries never changes that, so no context is needed.
bool live_globally(const PathInput& input);

// `ferry folder override` (send-only): the record that makes peers take the
// local version: local content, version = merge of the local and every
// remote version, then incremented for the local device, which becomes
// modified_by.
FileRecord override_record(const FileRecord& local, std::span<const RemoteVersion> remotes,
                           ShortId local_device);

}  // namespace ferry
