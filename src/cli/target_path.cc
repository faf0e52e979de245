#include "cli/target_path.hh"

#include <filesystem>

#include "cli/path_within.hh"
#include "core/path_rules.hh"

namespace ferry::cli {
namespace {

Outcome<Target> in_folder(const Folder& folder, std::string relative, const std::string& given) {
    while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
    while (!relative.empty() && relative.back() == '/') relative.pop_back();
    if (relative.empty()) return Target{folder, ""};
    auto normal = normalize_path(relative);
    if (!normal) return failed("cannot look up " + given, normal.error());
    return Target{folder, *normal};
}

}  // namespace

Outcome<Target> resolve(Store& store, const std::string& given) {
    auto folders = store.folders();
    if (!folders) return failed("cannot read the folder list", folders.error());
    if (const auto colon = given.find(':'); colon != std::string::npos && colon > 0) {
        const std::string id = given.substr(0, colon);
        for (const Folder& f : *folders) {
            if (f.id == id) return in_folder(f, given.substr(colon + 1), given);
        }
    }
    std::error_code ec;
    std::string absolute = std::filesystem::absolute(given, ec).lexically_normal().string();
    if (ec) return failed("cannot look up " + given, ec.message());
    while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
    // Resolve symlinks in the directories above, never in the last component:
    // a symlink inside a folder is itself a record.
    const std::filesystem::path as_path(absolute);
    std::string real = absolute;
    if (as_path.has_parent_path() && as_path != as_path.root_path()) {
        const auto parent = std::filesystem::weakly_canonical(as_path.parent_path(), ec);
        if (!ec) real = (parent / as_path.filename()).string();
    }
    for (const Folder& f : *folders) {
        if (path_within(real, f.path)) {
            return in_folder(f, real.size() > f.path.size() ? real.substr(f.path.size()) : "",
                             given);
        }
    }
    return failed(
        "cannot look up " + given, real + " is not inside any folder",
        "`ferry folder list` shows the folders; a path can also be given as FOLDER-ID:PATH");
}

}  // namespace ferry::cli
