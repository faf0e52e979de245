// Pending targets (Store::put_pending_targets): which records a sync step
// puts on disk, and whether what the disk holds is such a record, so that a
// change sync made but a crash kept from being recorded is recognised as
// that record rather than taken for a local edit. Pure functions.
#pragma once

#include <vector>

#include "core/file_record.hh"
#include "core/planner.hh"

namespace ferry {

// The records `step` stores for paths it changes on disk, noted before it
// runs: its target, and for a rename the source's tombstone and every moved
// entry's tombstone and new record. None for an adopt (the disk already
// holds the content) or no step.
std::vector<FileRecord> step_targets(const PathStep& step);

// Whether `disk` (a record made from what is at target.path: a tombstone when
// nothing is there) is `target` as sync writes it: the same content, and
// for a live entry the mode sync gives (safe_mode; a symlink's is not
// compared) and a file's mtime.
bool holds_target(const FileRecord& disk, const FileRecord& target);

}  // namespace ferry
