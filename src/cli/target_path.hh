// Which folder and folder-relative path a command's PATH argument means
// (`ferry ls`, `ferry versions`, `ferry restore`).
//
// PATH is "FOLDER-ID:relative/path" when the part before the first ':' is a
// folder id; otherwise a path on disk, absolute or relative to the current
// directory, that must lie inside a folder. Symlinks are resolved in the
// directories above the last component, never in the last one (a symlink
// inside a folder is itself a record). Thread rule: main thread.
#pragma once

#include <string>

#include "cli/failure.hh"
#include "store/store.hh"

namespace ferry::cli {

struct Target {
    Folder folder;
    std::string path;  // folder-relative, normalised; "" for the folder root
    std::string shown() const { return folder.id + ":" + path; }
};

Outcome<Target> resolve(Store& store, const std::string& given);

}  // namespace ferry::cli
