// `ferry conflicts [--json]`: the conflict copies in every folder's index
// (core/conflict_name.hh names them; they sync like any file).
#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/format.hh"
#include "cli/home.hh"
#include "core/conflict_name.hh"

namespace ferry::cli {
namespace {

struct Conflict {
    std::string folder;
    std::string folder_path;
    FileRecord record;
};

Outcome<std::vector<Conflict>> find_conflicts(Store& store) {
    auto folders = store.folders();
    if (!folders) return failed("cannot read the folder list", folders.error());
    std::vector<Conflict> found;
    for (const Folder& folder : *folders) {
        auto walked = store.for_each_file(folder.id, [&](const FileRecord& r) -> Result<void> {
            if (!r.deleted && r.kind == FileKind::file && is_conflict_copy(r.path)) {
                found.push_back({folder.id, folder.path, r});
            }
            return {};
        });
        if (!walked) return failed("cannot read the index of folder " + folder.id, walked.error());
    }
    std::sort(found.begin(), found.end(), [](const Conflict& a, const Conflict& b) {
        return std::tie(a.folder, a.record.path) < std::tie(b.folder, b.record.path);
    });
    return found;
}

int run_conflicts(bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto conflicts = find_conflicts(*device->store);
    if (!conflicts) return report(conflicts.error());
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const Conflict& c : *conflicts) {
            out.push_back({{"folder", c.folder},
                           {"path", c.record.path},
                           {"local_path", c.folder_path + "/" + c.record.path},
                           {"size", c.record.size},
                           {"mtime", iso_time_ns(c.record.mtime_ns)},
                           {"mtime_ns", c.record.mtime_ns}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return kExitOk;
    }
    if (conflicts->empty()) {
        std::printf("No conflict copies.\n");
        return kExitOk;
    }
    for (const Conflict& c : *conflicts) {
        std::printf("%s:%s  %s  %s\n", c.folder.c_str(), c.record.path.c_str(),
                    human_bytes(c.record.size).c_str(),
                    iso_time_ns(c.record.mtime_ns).substr(0, 19).c_str());
    }
    std::printf("%s. Each holds the version that lost a concurrent edit; keep what you need and "
                "delete the copy (the deletion syncs).\n",
                count_of(conflicts->size(), "conflict copy", "conflict copies").c_str());
    return kExitOk;
}

}  // namespace

void add_conflicts_command(CLI::App& app, int& status) {
    auto json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "conflicts",
        "List the conflict copies (name.sync-conflict-YYYYMMDD-HHMMSS-DEVICE.ext) in every "
        "folder, as of the last scan: the losing sides of concurrent edits.");
    cmd->add_flag("--json", *json,
                  "Print a JSON array of {folder, path, local_path, size, mtime, mtime_ns}");
    cmd->callback([json, &status] { status = run_conflicts(*json); });
}

}  // namespace ferry::cli
