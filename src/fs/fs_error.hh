// How filesystem implementations turn an errno into an Error: the code and
// the message "ROOT/PATH: <what failed>: <reason>". Internal to src/fs;
// MemoryFilesystem uses the same errno values so both report alike.
#pragma once

#include <string_view>

#include "core/error.hh"

namespace ferry {

Errc errc_from_errno(int err);

// ELOOP (and EXDEV from RESOLVE_BENEATH) mean a symlink was in the way.
Error fs_error(std::string_view root, std::string_view path, std::string_view what, int err);

}  // namespace ferry
