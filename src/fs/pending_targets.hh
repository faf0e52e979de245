// Settling pending targets (Store::put_pending_targets): what a crash left
// between a sync step's change on disk and the storing of its record.
//
// For each pending target of the folder, the disk is compared with it
// (core/pending_target.hh holds_target: a file is hashed when its size,
// mtime and mode match): when the disk holds it and it is newer than the
// stored record, it is stored as the record sync would have stored (the
// peer's version, not a change made here); otherwise it is dropped (the step
// never got that far, or the path changed since: the scan then records what
// is there as usual). A target whose path cannot be read now is kept for the
// next settling. scan_folder() settles before it looks at the disk, so a
// file sync put in place is never taken for a local edit, even when the peer
// has announced a newer version since (which the scanner's own check of
// announced records cannot recognise).
//
// Thread rule: blocking; call only while nothing writes to the folder (no
// pull runs during a scan).
#pragma once

#include <cstddef>
#include <string_view>

#include "core/error.hh"
#include "fs/file_hasher.hh"
#include "fs/filesystem.hh"
#include "store/store.hh"

namespace ferry {

// Returns how many pending targets were stored as records.
Result<std::size_t> settle_pending_targets(Filesystem& fs, Store& store, std::string_view folder_id,
                                           const HashOptions& hashing = {});

}  // namespace ferry
