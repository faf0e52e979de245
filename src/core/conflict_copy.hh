// The record a conflict copy is kept under (its name: core/conflict_name.hh).
//
// The copy carries the losing version's vector and writer, so every device
// that keeps the same losing version makes the same record; and two versions
// of one writer that one copy name stands for (saved within the same second)
// give ordered records, the later winning, where records of their own would
// be concurrent and make a conflict copy of the conflict copy.
//
// Pure.
#pragma once

#include <optional>
#include <string_view>

#include "core/file_record.hh"
#include "core/types.hh"

namespace ferry {

// The record for keeping `losing` (a live file) at `copy_path`, where the
// local index holds `existing`. nullopt when `existing` has seen the losing
// version already (it is a copy of it or of a later version of the same
// writer's, or was deleted since): no copy is made then. The copy is a new
// version of this device's (incremented for `local`, modified by it) when
// `existing` is concurrent with the losing version, and when `local_change`
// asks for it (receive-only folders, whose own changes are not sent).
std::optional<FileRecord> conflict_copy_record(const FileRecord& losing, std::string_view copy_path,
                                               const std::optional<FileRecord>& existing,
                                               ShortId local, bool local_change);

}  // namespace ferry
