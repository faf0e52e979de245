// `ferry versions PATH` and `ferry restore PATH [--at TIME]`: the old copies
// sync kept in a folder's .ferry/versions/ (sync/versions.hh).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/format.hh"
#include "cli/parse_time.hh"
#include "cli/target_path.hh"
#include "fs/posix_filesystem.hh"
#include "net/clock.hh"
#include "sync/versions.hh"

namespace ferry::cli {
namespace {

struct Listed {
    Target target;
    std::vector<StoredVersion> versions;
};

Outcome<Listed> list_versions(Device& device, const std::string& given) {
    auto target = resolve(*device.store, given);
    if (!target) return tl::unexpected(target.error());
    if (target->path.empty()) {
        return failed("cannot list versions of " + given, "it is a folder's root",
                      "give a file inside the folder");
    }
    PosixFilesystem fs(target->folder.path);
    Versions versions(fs);
    auto listed = versions.list(target->path);
    if (!listed) return failed("cannot list versions of " + target->shown(), listed.error());
    return Listed{std::move(*target), std::move(*listed)};
}

int run_versions(const std::string& given, bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto listed = list_versions(*device, given);
    if (!listed) return report(listed.error());
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const StoredVersion& v : listed->versions) {
            out.push_back({{"kept", iso_time_ns(v.kept_ns)},
                           {"kept_ns", v.kept_ns},
                           {"size", v.size},
                           {"version_path", v.version_path}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return kExitOk;
    }
    if (listed->versions.empty()) {
        std::printf("No kept versions of %s.\n", listed->target.shown().c_str());
        return kExitOk;
    }
    std::printf("%-19s  %10s  %s\n", "KEPT (UTC)", "SIZE", "COPY");
    for (const StoredVersion& v : listed->versions) {
        std::printf("%-19s  %10s  %s\n", iso_time_ns(v.kept_ns).substr(0, 19).c_str(),
                    human_bytes(v.size).c_str(), v.version_path.c_str());
    }
    return kExitOk;
}

int run_restore(const std::string& given, const std::string& at) {
    auto device = open_device();
    if (!device) return report(device.error());
    std::optional<std::int64_t> at_ns;
    if (!at.empty()) {
        auto parsed = parse_time_ns(at);
        if (!parsed) return report(parsed.error());
        // Names have second precision: a version kept during that second counts.
        at_ns = *parsed + 999'999'999;
    }
    auto listed = list_versions(*device, given);
    if (!listed) return report(listed.error());
    const std::string what = "cannot restore " + listed->target.shown();
    const StoredVersion* chosen = nullptr;
    for (const StoredVersion& v : listed->versions) {  // oldest first: keep the last fitting
        if (!at_ns || v.kept_ns <= *at_ns) chosen = &v;
    }
    if (chosen == nullptr) {
        return report(Failure{what,
                              listed->versions.empty() ? "no version of it was kept"
                                                       : "no version was kept at or before " + at,
                              "`ferry versions " + given + "` lists the kept versions"});
    }
    PosixFilesystem fs(listed->target.folder.path);
    Versions versions(fs);
    const SystemClock clock;
    if (auto restored = versions.restore(chosen->version_path, listed->target.path, clock.now_ns());
        !restored) {
        return report(Failure{what, restored.error().message});
    }
    std::printf("Restored %s from the version kept at %s UTC.\n", listed->target.shown().c_str(),
                iso_time_ns(chosen->kept_ns).substr(0, 19).c_str());
    // A new local change: the daemon's scan picks it up and sends it.
    auto scanned = ask_daemon(device->paths, {{"cmd", "scan"}, {"folder", listed->target.folder.id}});
    if (!scanned) return report(scanned.error());
    if (!*scanned) {
        std::printf("It syncs once `ferry run` scans it (or run `ferry scan %s`).\n",
                    listed->target.folder.id.c_str());
    }
    return kExitOk;
}

}  // namespace

void add_versions_commands(CLI::App& app, int& status) {
    struct Options {
        std::string path;
        std::string at;
        bool json = false;
    };
    auto options = std::make_shared<Options>();
    CLI::App* versions = app.add_subcommand(
        "versions",
        "List the kept versions of a file: copies that sync replaced or deleted, kept in the "
        "folder's .ferry/versions/ (version_retention days in ferry.toml, default 30). PATH is "
        "a path on disk or FOLDER-ID:PATH.");
    versions->add_option("PATH", options->path, "The file")->required();
    versions->add_flag("--json", options->json,
                       "Print a JSON array of {kept, kept_ns, size, version_path}");
    versions->callback([options, &status] { status = run_versions(options->path, options->json); });

    CLI::App* restore = app.add_subcommand(
        "restore",
        "Bring back a kept version of a file (the newest, or the newest kept at or before "
        "--at) as a new local change, which then syncs to the other devices. What the file "
        "holds now is kept as a version first.");
    restore->add_option("PATH", options->path, "The file")->required();
    restore->add_option("--at", options->at,
                        "UTC time: 2026-11-25T16:20:01Z, 2026-11-25 16:20:01 or 2026-11-25");
    restore->callback([options, &status] { status = run_restore(options->path, options->at); });
}

}  // namespace ferry::cli
