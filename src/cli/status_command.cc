// `ferry status`: per folder, what the index holds and how the last scan went.
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/format.hh"
#include "cli/home.hh"

namespace ferry::cli {
namespace {

struct FolderStatus {
    Folder folder;
    FolderStats stats;
};

nlohmann::json status_json(const Device& device, const std::string& name,
                           const std::vector<FolderStatus>& folders) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [folder, stats] : folders) {
        nlohmann::json issues = nlohmann::json::array();
        for (const ScanIssue& issue : stats.issues) {
            issues.push_back({{"path", issue.path}, {"message", issue.message}});
        }
        list.push_back({
            {"id", folder.id},
            {"path", folder.path},
            {"mode", folder_mode_name(folder.mode)},
            {"files", stats.files},
            {"directories", stats.directories},
            {"symlinks", stats.symlinks},
            {"deleted", stats.deleted},
            {"bytes", stats.bytes},
            {"sequence", stats.sequence.value},
            {"last_scan", stats.last_scan_ns == 0
                              ? nlohmann::json(nullptr)
                              : nlohmann::json(iso_time_ns(stats.last_scan_ns))},
            {"last_scan_ns", stats.last_scan_ns},
            {"issues", std::move(issues)},
        });
    }
    return {{"device", {{"id", device.id.to_string()}, {"name", name}}},
            {"folders", std::move(list)}};
}

void print_status(const Device& device, const std::string& name,
                  const std::vector<FolderStatus>& folders) {
    std::printf("device %s (%s)\n", device.id.to_string().c_str(), name.c_str());
    if (folders.empty()) {
        std::printf("\nNo folders yet; add one with `ferry folder add PATH`.\n");
        return;
    }
    for (const auto& [folder, stats] : folders) {
        std::printf("\nfolder %s (%s)\n", folder.id.c_str(), folder_mode_name(folder.mode));
        std::printf("  path       %s\n", folder.path.c_str());
        std::string contents = count_of(stats.files, "file", "files") + ", " +
                               count_of(stats.directories, "directory", "directories");
        if (stats.symlinks != 0) contents += ", " + count_of(stats.symlinks, "symlink", "symlinks");
        contents += ", " + human_bytes(stats.bytes);
        std::printf("  contents   %s\n", contents.c_str());
        if (stats.last_scan_ns == 0) {
            std::printf("  last scan  never scanned — run `ferry scan %s`\n", folder.id.c_str());
            continue;
        }
        std::printf("  last scan  %s, %s\n", iso_time_ns(stats.last_scan_ns).c_str(),
                    stats.issues.empty()
                        ? "no issues"
                        : (count_of(stats.issues.size(), "issue", "issues") + ":").c_str());
        for (const ScanIssue& issue : stats.issues) {
            std::printf("    %s: %s\n", issue.path.c_str(), issue.message.c_str());
        }
    }
}

int run_status(bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    Store& store = *device->store;
    auto name = store.get_setting(kDeviceNameSetting);
    if (!name) return report(Failure{"cannot read the device name", name.error().message});
    auto folders = store.folders();
    if (!folders) return report(Failure{"cannot read the folder list", folders.error().message});
    std::vector<FolderStatus> status;
    for (const Folder& folder : *folders) {
        auto stats = store.folder_stats(folder.id);
        if (!stats) {
            return report(
                Failure{"cannot read the state of folder " + folder.id, stats.error().message});
        }
        status.push_back({folder, std::move(*stats)});
    }
    const std::string device_name = name->value_or("");
    if (json) {
        std::printf("%s\n", status_json(*device, device_name, status).dump(2).c_str());
    } else {
        print_status(*device, device_name, status);
    }
    return kExitOk;
}

}  // namespace

void add_status_command(CLI::App& app, int& status) {
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "status",
        "Show this device and, per folder, its id, path, mode, the indexed files, directories "
        "and bytes, when it was last scanned and what that scan could not index.");
    cmd->add_flag("--json", *json, "Print the status as JSON");
    cmd->callback([json, &status] { status = run_status(*json); });
}

}  // namespace ferry::cli
