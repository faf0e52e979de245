// `ferry scan`: through the running daemon when there is one (it owns the
// index then; it scans, sends what changed and answers when the scan is
// done), otherwise a one-shot scan of one or all folders here.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include <unistd.h>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/format.hh"
#include "cli/home.hh"
#include "cli/progress_bar.hh"
#include "cli/stop_signal.hh"
#include "fs/posix_filesystem.hh"
#include "fs/scanner.hh"

namespace ferry::cli {
namespace {

struct ScanCommandOptions {
    std::string folder_id;
    bool quiet = false;
};

std::int64_t now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A daemon's scan can wait behind a pull and hash a large tree: wait long
// (an interrupted command leaves the daemon's scan running, harmlessly).
constexpr std::chrono::hours kDaemonScanTimeout{12};

// `seconds` is the hashing time when this process scanned (the daemon's
// answer does not say).
std::string summary(const std::string& folder_id, const ScanResult& r,
                    std::optional<double> seconds) {
    std::string line = folder_id + ": " + count_of(r.files, "file", "files") + ", " +
                       count_of(r.directories, "directory", "directories");
    if (r.symlinks != 0) line += ", " + count_of(r.symlinks, "symlink", "symlinks");
    line += ", " + human_bytes(r.bytes) + "; " + with_commas(r.changed) + " changed";
    if (r.deleted != 0) line += " (" + with_commas(r.deleted) + " deleted)";
    line += ", " + count_of(r.issues.size(), "issue", "issues");
    line += "; hashed " + human_bytes(r.bytes_hashed);
    if (seconds) {
        std::array<char, 32> time{};
        std::snprintf(time.data(), time.size(), "%.2f s", *seconds);
        line += std::string(" in ") + time.data();
    }
    return line;
}

// Prints a finished scan's summary (unless quiet) and its issues; returns
// how many entries could not be indexed.
std::size_t show_scan(const std::string& folder_id, const ScanResult& result,
                      std::optional<double> seconds, const ScanCommandOptions& options) {
    if (!options.quiet) std::printf("%s\n", summary(folder_id, result, seconds).c_str());
    std::fflush(stdout);
    for (const ScanIssue& issue : result.issues) {
        std::fprintf(stderr, "ferry: %s/%s: %s\n", folder_id.c_str(), issue.path.c_str(),
                     issue.message.c_str());
    }
    return result.issues.size();
}

void show_issue_total(std::size_t issues) {
    if (issues != 0) {
        std::fprintf(stderr, "%s could not be indexed; see above\n",
                     count_of(issues, "file", "files").c_str());
    }
}

// The daemon's answer to a scan request (cli/control.hh), shown as the
// one-shot scan shows its own.
int show_daemon_scan(const nlohmann::json& answer, const ScanCommandOptions& options) {
    int status = kExitOk;
    std::size_t issues = 0;
    for (const nlohmann::json& folder : answer.value("folders", nlohmann::json::array())) {
        const std::string id = folder.value("id", std::string());
        if (folder.contains("error")) {
            status =
                report(Failure{"cannot scan folder " + id, folder["error"].get<std::string>()});
            continue;
        }
        ScanResult result;
        result.files = folder.value("files", std::uint64_t{0});
        result.directories = folder.value("directories", std::uint64_t{0});
        result.symlinks = folder.value("symlinks", std::uint64_t{0});
        result.bytes = folder.value("bytes", std::uint64_t{0});
        result.changed = folder.value("changed", std::uint64_t{0});
        result.deleted = folder.value("deleted", std::uint64_t{0});
        result.bytes_hashed = folder.value("bytes_hashed", std::uint64_t{0});
        for (const nlohmann::json& issue : folder.value("issues", nlohmann::json::array())) {
            result.issues.push_back(ScanIssue{issue.value("path", std::string()),
                                              issue.value("message", std::string())});
        }
        issues += show_scan(id, result, std::nullopt, options);
    }
    show_issue_total(issues);
    return status;
}

// Scans one folder; returns the number of entries it could not index, or a
// Failure when the folder itself could not be scanned.
Outcome<std::size_t> scan_one(Device& device, const Folder& folder,
                              const ScanCommandOptions& options, bool show_bar) {
    const std::string what = "cannot scan folder " + folder.id;
    std::error_code ec;
    if (!std::filesystem::is_directory(folder.path, ec)) {
        // Scanning a missing folder would record every file as deleted.
        return failed(what, folder.path + " is missing or not a directory",
                      "mount or restore it; if it moved, `ferry folder remove " + folder.id +
                          "` and add it again");
    }
    PosixFilesystem fs(folder.path);
    std::optional<ProgressBar> bar;
    if (show_bar) bar.emplace(folder.id);

    ScanOptions scan_options;
    scan_options.local_device = device.id.short_id();
    scan_options.cancel = &stop_requested();
    scan_options.now_ns = now_ns();
    if (bar) scan_options.progress = [&bar](const ScanProgress& p) { bar->update(p); };

    const auto start = std::chrono::steady_clock::now();
    auto result = scan_folder(fs, *device.store, folder.id, scan_options);
    const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
    if (bar) bar->clear();
    if (!result) {
        if (stop_requested().load()) {
            return failed(what, "interrupted",
                          "run `ferry scan " + folder.id + "` again to finish");
        }
        return failed(what, result.error());
    }
    return show_scan(folder.id, *result, elapsed.count(), options);
}

int run_scan(const ScanCommandOptions& options) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto daemon = ask_daemon(device->paths, {{"cmd", "scan"}, {"folder", options.folder_id}},
                             kDaemonScanTimeout);
    if (!daemon) return report(daemon.error());
    if (*daemon) return show_daemon_scan(**daemon, options);
    std::vector<Folder> folders;
    if (!options.folder_id.empty()) {
        auto folder = device->store->folder(options.folder_id);
        if (!folder)
            return report(
                Failure{"cannot read folder " + options.folder_id, folder.error().message});
        if (!*folder) {
            return report(Failure{"cannot scan folder " + options.folder_id,
                                  "there is no folder with that id",
                                  "`ferry folder list` shows the folders"});
        }
        folders.push_back(**folder);
    } else {
        auto all = device->store->folders();
        if (!all) return report(Failure{"cannot read the folder list", all.error().message});
        folders = std::move(*all);
        if (folders.empty()) {
            std::fprintf(stderr, "No folders to scan; add one with `ferry folder add PATH`.\n");
            return kExitOk;
        }
    }

    stop_on_signals();
    const bool show_bar = !options.quiet && ::isatty(STDERR_FILENO) != 0;
    int status = kExitOk;
    std::size_t issues = 0;
    for (const Folder& folder : folders) {
        if (stop_requested().load()) break;
        auto scanned = scan_one(*device, folder, options, show_bar);
        if (scanned) {
            issues += *scanned;
        } else {
            status = report(scanned.error());
        }
    }
    show_issue_total(issues);
    return status;
}

}  // namespace

void add_scan_command(CLI::App& app, int& status) {
    auto options = std::make_shared<ScanCommandOptions>();
    CLI::App* scan = app.add_subcommand(
        "scan",
        "(Also `ferry rescan`.) Scan one folder (or all) now and bring the index in line with the disk (through the "
        "daemon when it runs, which then sends the changes; either way the command returns "
        "when the scan is done): new and changed "
        "files are chunked and hashed, unchanged ones cost one stat, vanished ones are recorded "
        "as deleted. Files that cannot be indexed are reported and skipped; the exit status is "
        "still 0. Exit status 1 when a folder could not be scanned.");
    scan->alias("rescan");
    scan->add_option("FOLDER-ID", options->folder_id, "Scan only this folder");
    scan->add_flag("--quiet,-q", options->quiet,
                   "No progress bar and no summary; problems are still printed");
    scan->callback([options, &status] { status = run_scan(*options); });
}

}  // namespace ferry::cli
