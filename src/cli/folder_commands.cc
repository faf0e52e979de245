// `ferry folder add|list|remove|override|revert`.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/config_edit.hh"
#include "cli/control.hh"
#include "cli/home_config.hh"
#include "cli/path_within.hh"
#include "crypto/random.hh"

namespace ferry::cli {
namespace {

struct AddOptions {
    std::string path;
    std::string id;
    std::string mode = "send-receive";
};

// A readable random id: two groups of five lower-case letters, "abcde-fghij".
std::string random_folder_id() {
    std::string id;
    for (int i = 0; i < 11; ++i) {
        id.push_back(i == 5 ? '-' : static_cast<char>('a' + random_below(26)));
    }
    return id;
}

// Folder ids appear in "FOLDER-ID:path" arguments and in messages: keep them
// to a safe, visible alphabet (cli/config.hh).
Outcome<void> check_folder_id(const std::string& id) {
    if (auto problem = folder_id_problem(id)) {
        return failed("invalid folder id '" + id + "'", *problem, "choose another id with --id");
    }
    return {};
}

Outcome<std::string> canonical_directory(const std::string& given) {
    std::error_code ec;
    const std::filesystem::path path = std::filesystem::canonical(given, ec);
    if (ec) {
        return failed("cannot add folder " + given, ec.message(),
                      "give the path of an existing directory (create it first)");
    }
    if (!std::filesystem::is_directory(path, ec)) {
        return failed("cannot add folder " + given, "it is not a directory",
                      "give the path of a directory; ferry syncs whole folders");
    }
    return path.string();
}

int run_add(const AddOptions& options) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    auto path = canonical_directory(options.path);
    if (!path) return report(path.error());
    auto mode = parse_folder_mode(options.mode);
    if (!mode) return report(Failure{"invalid mode", mode.error().message});
    const auto& existing = config->parsed.config.folders;

    std::string id = options.id;
    if (id.empty()) {
        do {
            id = random_folder_id();
        } while (existing.count(id) != 0);
    } else if (auto valid = check_folder_id(id); !valid) {
        return report(valid.error());
    }
    const std::string what = "cannot add folder " + *path;
    for (const auto& [other_id, f] : existing) {
        if (other_id == id) {
            return report(Failure{what, "the id '" + id + "' is taken by the folder at " + f.path,
                                  "choose another id with --id"});
        }
        if (f.path == *path) {
            return report(Failure{what, "it is already folder '" + other_id + "'",
                                  "`ferry folder list` shows the folders"});
        }
        if (path_within(*path, f.path)) {
            return report(Failure{what, "it is inside folder '" + other_id + "' (" + f.path + ")",
                                  "folders cannot nest: that folder already syncs it"});
        }
        if (path_within(f.path, *path)) {
            return report(Failure{what, "it contains folder '" + other_id + "' (" + f.path + ")",
                                  "folders cannot overlap: remove that folder first with "
                                  "`ferry folder remove " +
                                      other_id + "`"});
        }
    }
    const std::string name = device->paths.config();
    const std::string key = "folders." + id + ".";
    auto with_path = set_config_key(config->text, name, key + "path", toml_quote(*path));
    if (!with_path) return report(with_path.error());
    auto edited = set_config_key(with_path->text, name, key + "mode",
                                 toml_quote(folder_mode_name(*mode)));
    if (!edited) return report(edited.error());
    auto committed = commit_config(*device, edited->text, edited->parsed.config);
    if (!committed) return report(committed.error());
    std::printf("Added folder %s (%s): %s\n", id.c_str(), folder_mode_name(*mode), path->c_str());
    if (committed->daemon_reloaded) {
        std::printf("The running daemon scans it and syncs it with your other devices.\n");
    } else {
        std::printf("Next: index it with `ferry scan %s`, or start `ferry run` to sync it.\n",
                    id.c_str());
    }
    return kExitOk;
}

int run_list(bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    const auto& folders = config->parsed.config.folders;
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& [id, f] : folders) {
            out.push_back({{"id", id}, {"path", f.path}, {"mode", folder_mode_name(f.mode)}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return kExitOk;
    }
    if (folders.empty()) {
        std::fprintf(stderr, "No folders yet; add one with `ferry folder add PATH`.\n");
        return kExitOk;
    }
    std::size_t id_width = 2;
    for (const auto& [id, f] : folders) id_width = std::max(id_width, id.size());
    std::printf("%-*s  %-12s  %s\n", static_cast<int>(id_width), "ID", "MODE", "PATH");
    for (const auto& [id, f] : folders) {
        std::printf("%-*s  %-12s  %s\n", static_cast<int>(id_width), id.c_str(),
                    folder_mode_name(f.mode), f.path.c_str());
    }
    return kExitOk;
}

int run_remove(const std::string& id) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    const auto folder = config->parsed.config.folders.find(id);
    if (folder == config->parsed.config.folders.end()) {
        return report(Failure{"cannot remove folder '" + id + "'",
                              "there is no folder with that id",
                              "`ferry folder list` shows the folders"});
    }
    const std::string path = folder->second.path;
    auto edited = remove_config_folder(config->text, device->paths.config(), id);
    if (!edited) return report(edited.error());
    auto committed = commit_config(*device, edited->text, edited->parsed.config);
    if (!committed) return report(committed.error());
    std::printf("Removed folder %s; its files in %s are untouched.\n", id.c_str(), path.c_str());
    return kExitOk;
}

// override (send-only) and revert (receive-only): the daemon does them,
// since they send to or pull from the connected devices.
int run_mode_action(const std::string& cmd, const std::string& id) {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    auto done = require_daemon(*paths, {{"cmd", cmd}, {"folder", id}},
                               "cannot " + cmd + " folder '" + id + "'");
    if (!done) return report(done.error());
    if (cmd == "override") {
        std::printf("Folder %s: the other devices now take this device's versions.\n", id.c_str());
    } else {
        std::printf("Folder %s: local changes are being replaced by the other devices' "
                    "versions.\n",
                    id.c_str());
    }
    return kExitOk;
}

}  // namespace

void add_folder_commands(CLI::App& app, int& status) {
    CLI::App* folder = app.add_subcommand("folder", "Manage the folders this device syncs.");
    folder->require_subcommand(1);

    auto add_options = std::make_shared<AddOptions>();
    CLI::App* add = folder->add_subcommand(
        "add",
        "Add a folder to sync. PATH must be an existing directory; it is stored absolute and "
        "canonical. Folders cannot nest or overlap. Give the id a folder has on your other "
        "devices to join it. A running daemon starts syncing it at once; otherwise nothing is "
        "read until `ferry scan` or `ferry run`.");
    add->add_option("PATH", add_options->path, "The directory to sync")->required();
    add->add_option("--id", add_options->id,
                    "Folder id, the same on every device (default: random, like abcde-fghij)");
    add->add_option("--mode", add_options->mode,
                    "send-receive (default), send-only or receive-only")
        ->check(CLI::IsMember({"send-receive", "send-only", "receive-only"}));
    add->callback([add_options, &status] { status = run_add(*add_options); });

    auto json = std::make_shared<bool>(false);
    CLI::App* list = folder->add_subcommand("list", "List the folders: id, mode and path.");
    list->add_flag("--json", *json, "Print a JSON array of {id, path, mode}");
    list->callback([json, &status] { status = run_list(*json); });

    auto remove_id = std::make_shared<std::string>();
    CLI::App* remove = folder->add_subcommand(
        "remove", "Forget a folder and its index. The files on disk are never touched.");
    remove->add_option("ID", *remove_id, "The folder's id")->required();
    remove->callback([remove_id, &status] { status = run_remove(*remove_id); });

    auto override_id = std::make_shared<std::string>();
    CLI::App* override_cmd = folder->add_subcommand(
        "override",
        "For a send-only folder: make the other devices take this device's versions of every "
        "file where they differ (needs the daemon).");
    override_cmd->add_option("ID", *override_id, "The folder's id")->required();
    override_cmd->callback(
        [override_id, &status] { status = run_mode_action("override", *override_id); });

    auto revert_id = std::make_shared<std::string>();
    CLI::App* revert = folder->add_subcommand(
        "revert",
        "For a receive-only folder: undo the local changes, putting back the other devices' "
        "versions (needs the daemon; replaced files are kept as versions).");
    revert->add_option("ID", *revert_id, "The folder's id")->required();
    revert->callback([revert_id, &status] { status = run_mode_action("revert", *revert_id); });
}

}  // namespace ferry::cli
