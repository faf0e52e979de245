// `ferry status [--json] [--wait [--timeout SECONDS]] [--watch [--interval
// SECONDS]]`: from the running
// daemon (per folder: state, what is still needed, each device's progress,
// problems), or without one, per folder what the index holds and how the
// last scan went.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <thread>

#include <unistd.h>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/format.hh"
#include "cli/home.hh"
#include "cli/status_view.hh"
#include "cli/stop_signal.hh"

namespace ferry::cli {
namespace {

constexpr std::size_t kWatchBarWidth = 20;

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

std::string device_label(const nlohmann::json& d) {
    const std::string name = d["name"].get<std::string>();
    return (name.empty() ? std::string() : name + " ") + "(" +
           d["id"].get<std::string>().substr(0, 7) + ")";
}

// `bar_width` > 0: progress bars (ferry status --watch on a terminal).
void print_live_folder(const nlohmann::json& f, std::size_t bar_width) {
    const std::string id = f["id"].get<std::string>();
    std::printf("\nfolder %s (%s)\n", id.c_str(), f["mode"].get<std::string>().c_str());
    std::printf("  path       %s\n", f["path"].get<std::string>().c_str());
    std::printf("  state      %s\n", folder_state_line(f, bar_width).c_str());
    if (!f["error"].get<std::string>().empty() && f["state"] != "error") {
        std::printf("  error      %s\n", f["error"].get<std::string>().c_str());
    }
    for (const auto& d : f["devices"]) {
        std::printf("  device     %s: %s\n", device_label(d).c_str(),
                    device_progress_line(d, bar_width).c_str());
    }
    if (f["needs_override"].get<bool>()) {
        std::printf("  note       other devices have other versions; `ferry folder override %s` "
                    "makes them take this device's\n",
                    id.c_str());
    }
    if (!f["local_changes"].empty()) {
        std::printf("  local changes, not sent (`ferry folder revert %s` undoes them):\n",
                    id.c_str());
        for (const auto& path : f["local_changes"]) {
            std::printf("    %s\n", path.get<std::string>().c_str());
        }
    }
    if (!f["problems"].empty()) {
        std::printf("  %s:\n", count_of(f["problems"].size(), "problem", "problems").c_str());
        for (const auto& p : f["problems"]) {
            std::printf("    %s: %s\n", p["path"].get<std::string>().c_str(),
                        p["message"].get<std::string>().c_str());
        }
    }
}

void print_live_status(const nlohmann::json& status, std::size_t bar_width = 0) {
    std::printf("device %s (%s)\n", status["device"]["id"].get<std::string>().c_str(),
                status["device"]["name"].get<std::string>().c_str());
    std::string listening;
    for (const auto& a : status["listen"]) listening += " " + a.get<std::string>();
    std::printf("daemon     running, listening on%s; %s\n", listening.c_str(),
                status["in_sync"].get<bool>() ? "in sync" : "not in sync yet");
    for (const auto& r : status.value("relays", nlohmann::json::array())) {
        std::printf("relay      %s: %s\n", r["url"].get<std::string>().c_str(),
                    relay_status_line(r).c_str());
    }
    if (const std::string problem = status.value("relay_problem", std::string()); !problem.empty())
        std::printf("relay      %s; syncing with online devices goes on\n", problem.c_str());
    if (const auto links = status.value("relay_links", 0); links > 0) {
        std::string line = "changes for " +
                           count_of(static_cast<std::uint64_t>(links), "offline device",
                                    "offline devices") +
                           " go through the relay";
        if (const auto pending = status.value("relay_pending_uploads", std::uint64_t{0}); pending > 0)
            line += "; " + count_of(pending, "chunk", "chunks") + " still to upload";
        else if (status.value("relay_sending", std::uint64_t{0}) == 0)
            line += "; all changes are on the relay";
        std::printf("relay      %s\n", line.c_str());
    }
    if (status["folders"].empty()) {
        std::printf("\nNo folders yet; add one with `ferry folder add PATH`.\n");
    }
    for (const auto& f : status["folders"]) print_live_folder(f, bar_width);
}

// Plain lines for --watch when not on a terminal: one per folder and per
// device whose state line changed since the last look.
void print_changed_lines(const nlohmann::json& status, std::map<std::string, std::string>& shown) {
    const std::string now = iso_time_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count())
                                .substr(0, 19) + "Z";
    auto print_if_changed = [&](const std::string& key, const std::string& line) {
        auto& last = shown[key];
        if (last == line) return;
        last = line;
        std::printf("%s %s: %s\n", now.c_str(), key.c_str(), line.c_str());
    };
    for (const auto& f : status["folders"]) {
        const std::string folder = "folder " + f["id"].get<std::string>();
        print_if_changed(folder, folder_state_line(f));
        for (const auto& d : f["devices"])
            print_if_changed(folder + " device " + device_label(d), device_progress_line(d));
    }
    std::fflush(stdout);
}

// --watch: asks the daemon every `interval` and redraws (on a terminal) or
// prints what changed, until SIGINT/SIGTERM (exit 0) or the daemon goes.
int watch_status(const HomePaths& paths, double interval_seconds) {
    stop_on_signals();
    const bool terminal = ::isatty(STDOUT_FILENO) != 0;
    std::map<std::string, std::string> shown;
    const auto interval = std::chrono::milliseconds(static_cast<std::int64_t>(interval_seconds * 1000));
    while (!stop_requested()) {
        auto answer = require_daemon(paths, {{"cmd", "status"}}, "cannot show the status");
        if (!answer) return report(answer.error());
        const nlohmann::json& status = (*answer)["status"];
        if (terminal) {
            std::printf("\x1b[H\x1b[J");  // home, clear: redraw in place
            print_live_status(status, kWatchBarWidth);
            std::printf("\n(redrawn every %g s; Ctrl-C to stop)\n", interval_seconds);
            std::fflush(stdout);
        } else {
            print_changed_lines(status, shown);
        }
        // Sleeps in short steps so that a signal ends the wait soon.
        const auto until = std::chrono::steady_clock::now() + interval;
        while (!stop_requested() && std::chrono::steady_clock::now() < until)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return kExitOk;
}

struct StatusOptions {
    bool json = false;
    bool wait = false;
    double timeout_seconds = 0;  // 0: no limit
    bool watch = false;
    double interval_seconds = 1;
};

// With --wait: asks the daemon to answer once in sync; exit 1 on timeout.
int run_live_status(const HomePaths& paths, const StatusOptions& options,
                    const nlohmann::json& first) {
    nlohmann::json answer = first;
    bool timed_out = false;
    if (options.wait) {
        const auto timeout_ms =
            static_cast<std::int64_t>(std::ceil(options.timeout_seconds * 1000.0));
        // The daemon answers at the timeout; the client allows a little more.
        // (No limit: a year, far from the steady clock's overflow.)
        const auto client_timeout = timeout_ms == 0
                                        ? std::chrono::milliseconds(std::chrono::hours(24 * 365))
                                        : std::chrono::milliseconds(timeout_ms + 10'000);
        auto waited = require_daemon(paths, {{"cmd", "status-wait"}, {"timeout_ms", timeout_ms}},
                                     "cannot wait for sync", client_timeout);
        if (!waited) return report(waited.error());
        answer = std::move(*waited);
        timed_out = !answer["in_sync"].get<bool>();
    }
    const nlohmann::json& status = answer["status"];
    if (options.json) {
        std::printf("%s\n", status.dump(2).c_str());
    } else {
        print_live_status(status);
    }
    if (timed_out) {
        std::fflush(stdout);
        std::array<char, 32> secs{};
        std::snprintf(secs.data(), secs.size(), "%g s", options.timeout_seconds);
        return report(Failure{"not in sync", std::string("still syncing after ") + secs.data(),
                              "see the state above; `ferry status` shows progress"});
    }
    return kExitOk;
}

int run_status(const StatusOptions& options) {
    auto device = open_device();
    if (!device) return report(device.error());
    if (options.watch) return watch_status(device->paths, options.interval_seconds);
    auto live = options.wait ? Outcome<std::optional<nlohmann::json>>(nlohmann::json::object())
                             : ask_daemon(device->paths, {{"cmd", "status"}});
    if (!live) return report(live.error());
    if (*live) return run_live_status(device->paths, options, **live);
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
    if (options.json) {
        std::printf("%s\n", status_json(*device, device_name, status).dump(2).c_str());
    } else {
        print_status(*device, device_name, status);
    }
    return kExitOk;
}

}  // namespace

void add_status_command(CLI::App& app, int& status) {
    auto options = std::make_shared<StatusOptions>();
    CLI::App* cmd = app.add_subcommand(
        "status",
        "Show this device and, per folder: while the daemon runs, its state, the files and "
        "bytes still needed, each device's progress and any problems; without the daemon, the "
        "indexed files, directories and bytes, when it was last scanned and what that scan "
        "could not index.");
    cmd->add_flag("--json", options->json, "Print the status as JSON");
    CLI::Option* wait = cmd->add_flag(
        "--wait", options->wait,
        "Wait until every folder is in sync with every connected device (needs the daemon); "
        "exit status 1 on timeout");
    cmd->add_option("--timeout", options->timeout_seconds,
                    "With --wait: give up after this many seconds (default: no limit)")
        ->needs(wait)
        ->check(CLI::Range(0.001, 1e7));
    CLI::Option* watch = cmd->add_flag(
        "--watch", options->watch,
        "Keep showing the status (needs the daemon): on a terminal redrawn in place with "
        "progress bars, otherwise a plain line whenever a folder's or device's state changes; "
        "until Ctrl-C");
    watch->excludes(wait);
    cmd->add_option("--interval", options->interval_seconds,
                    "With --watch: seconds between looks (default 1)")
        ->needs(watch)
        ->check(CLI::Range(0.1, 3600.0));
    cmd->get_option("--json")->excludes(watch);
    cmd->callback([options, &status] { status = run_status(*options); });
}

}  // namespace ferry::cli
