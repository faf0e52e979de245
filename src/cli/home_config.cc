// ferry.toml in FERRY_HOME (cli/home_config.hh).
#include "cli/home_config.hh"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <sys/stat.h>

#include "cli/config_edit.hh"
#include "cli/control.hh"
#include "crypto/key_file.hh"

namespace ferry::cli {
namespace {

// The file's text; nullopt when there is none.
Outcome<std::optional<std::string>> read_config_text(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0) {
        if (errno == ENOENT) return std::nullopt;
        return failed("cannot read " + path, std::strerror(errno));
    }
    if (!S_ISREG(info.st_mode)) {
        return failed("cannot read " + path, "it is not a regular file",
                      "move it away; ferry writes a new one");
    }
    if (static_cast<std::uint64_t>(info.st_size) > kMaxConfigBytes) {
        return failed("invalid configuration",
                      path + " is larger than " + std::to_string(kMaxConfigBytes) + " bytes",
                      "a configuration file is a few lines; is this the right file?");
    }
    std::ifstream in(path, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad() || !in.is_open()) return failed("cannot read " + path, std::strerror(errno));
    return text;
}

std::string describe(const std::string& id, const FolderConfig& folder) {
    return "folder " + id + " (" + folder.path + ", " + folder_mode_name(folder.mode) + ")";
}

}  // namespace

Outcome<ConfigFile> load_home_config(const HomePaths& paths, Store& store) {
    const std::string path = paths.config();
    auto text = read_config_text(path);
    if (!text) return tl::unexpected(text.error());
    if (!*text) {
        auto folders = store.folders();
        if (!folders) return failed("cannot read the folder list", folders.error());
        std::map<std::string, FolderConfig> listed;
        for (const Folder& f : *folders) listed[f.id] = FolderConfig{f.path, f.mode};
        *text = initial_config_text(listed);
        if (auto saved = save_home_config(paths, **text); !saved) return tl::unexpected(saved.error());
    }
    auto parsed = parse_config(**text, path);
    if (!parsed) {
        Failure failure = parsed.error();
        failure.hint = "fix " + path + "; " + failure.hint;
        return tl::unexpected(std::move(failure));
    }
    return ConfigFile{std::move(**text), std::move(*parsed)};
}

Outcome<void> save_home_config(const HomePaths& paths, const std::string& text) {
    if (auto written = write_file_atomically(paths.config(), text); !written) {
        return failed("cannot write the configuration", written.error(),
                      "check that " + paths.home + " is writable");
    }
    return {};
}

Outcome<Committed> commit_config(Device& device, const std::string& text, const Config& config) {
    if (auto saved = save_home_config(device.paths, text); !saved) return tl::unexpected(saved.error());
    if (auto reconciled = reconcile_folders(*device.store, config.folders); !reconciled) {
        return tl::unexpected(reconciled.error());
    }
    auto reloaded = ask_daemon(device.paths, {{"cmd", "reload"}});
    if (!reloaded) return tl::unexpected(reloaded.error());
    if (!*reloaded) return Committed{};
    return Committed{true, (*reloaded)->value("at_next_start", std::vector<std::string>())};
}

Outcome<std::vector<std::string>> reconcile_folders(
    Store& store, const std::map<std::string, FolderConfig>& folders) {
    const std::string what = "cannot bring the index in step with ferry.toml";
    auto indexed = store.folders();
    if (!indexed) return failed(what, indexed.error());
    std::vector<std::string> changes;
    // Removals first, so that a path can move from one id to another.
    std::map<std::string, FolderConfig> kept;
    std::set<std::string> moved;
    for (const Folder& f : *indexed) {
        const auto wanted = folders.find(f.id);
        if (wanted != folders.end() && wanted->second.path == f.path) {
            kept[f.id] = FolderConfig{f.path, f.mode};
            continue;
        }
        if (auto removed = store.remove_folder(f.id); !removed) return failed(what, removed.error());
        if (wanted == folders.end()) {
            changes.push_back("removed " + describe(f.id, {f.path, f.mode}) +
                              "; its files are untouched");
        } else {
            moved.insert(f.id);
        }
    }
    for (const auto& [id, folder] : folders) {
        const auto old = kept.find(id);
        if (old == kept.end()) {
            if (auto added = store.add_folder(Folder{id, folder.path, folder.mode}); !added) {
                return failed(what, added.error());
            }
            changes.push_back(moved.count(id) != 0
                                  ? "moved " + describe(id, folder) + "; its index starts afresh"
                                  : "added " + describe(id, folder));
        } else if (old->second.mode != folder.mode) {
            if (auto set = store.set_folder_mode(id, folder.mode); !set) return failed(what, set.error());
            changes.push_back("changed " + describe(id, folder));
        }
    }
    return changes;
}

}  // namespace ferry::cli
