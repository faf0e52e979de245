// `ferry pause [FOLDER]`, `ferry resume [FOLDER]`: through the running daemon
// (sync/engine.hh Engine::set_paused); every folder when none is named.
#include <cstdio>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/home.hh"

namespace ferry::cli {
namespace {

int run_pause(bool pause, const std::string& id) {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    const std::string cmd = pause ? "pause" : "resume";
    const std::string which = id.empty() ? std::string("every folder") : "folder '" + id + "'";
    auto done = require_daemon(*paths, {{"cmd", cmd}, {"folder", id}}, "cannot " + cmd + " " + which);
    if (!done) return report(done.error());
    for (const auto& folder : (*done)["folders"]) {
        std::printf("%s %s\n", pause ? "paused " : "resumed", folder.get<std::string>().c_str());
    }
    return kExitOk;
}

}  // namespace

void add_pause_commands(CLI::App& app, int& status) {
    auto pause_id = std::make_shared<std::string>();
    CLI::App* pause = app.add_subcommand(
        "pause",
        "Pause a folder (every folder when none is named): it is neither scanned nor synced, "
        "and its files are left alone, until `ferry resume`. Remembered across restarts. Needs "
        "the daemon.");
    pause->add_option("FOLDER-ID", *pause_id, "Pause only this folder");
    pause->callback([pause_id, &status] { status = run_pause(true, *pause_id); });

    auto resume_id = std::make_shared<std::string>();
    CLI::App* resume = app.add_subcommand(
        "resume",
        "Resume a paused folder (every folder when none is named): it is scanned at once and "
        "syncs again. Needs the daemon.");
    resume->add_option("FOLDER-ID", *resume_id, "Resume only this folder");
    resume->callback([resume_id, &status] { status = run_pause(false, *resume_id); });
}

}  // namespace ferry::cli
