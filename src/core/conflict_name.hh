// Conflict copies: the name under which the losing version of a file is kept.
//
// "dir/report.txt" whose losing version was modified at mtime T by device S
// is kept as "dir/report.sync-conflict-YYYYMMDD-HHMMSS-SSSSSSS.txt": the
// time is T in UTC, SSSSSSS the first 7 characters of S's shown device id
// (base32 of the short id's top 35 bits, upper case). Every device derives
// the same name from the same losing version, so copies never multiply. The
// extension is the part after the last '.' of the last component (not for
// names starting with '.', which keep the suffix at the end). The result is
// shortened, never inside a UTF-8 sequence, to fit kMaxNameBytes (and
// kMaxPathBytes when the directory leaves room): the stem gives way first,
// then the extension.
//
// Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/types.hh"

namespace ferry {

std::string conflict_copy_path(std::string_view path, std::int64_t mtime_ns, ShortId modified_by);

// Whether the last component of `path` is a conflict copy's name.
bool is_conflict_copy(std::string_view path);

}  // namespace ferry
