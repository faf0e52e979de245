// The `ferry` command: parses the command line (CLI11) and runs a subcommand.
// Exit statuses (cli/failure.hh, man/ferry.1): 0 success, 1 failure, 2 usage
// error, 3 not initialised.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hh"
#include "cli/failure.hh"

namespace {

// The deepest subcommand the user named, to point at its --help.
std::string command_path(const CLI::App* app) {
    std::string path = app->get_name();
    for (const CLI::App* current = app; current != nullptr;) {
        const auto chosen = current->get_subcommands();
        current = chosen.empty() ? nullptr : chosen.front();
        if (current != nullptr) path += " " + current->get_name();
    }
    return path;
}

std::string usage_failure(const CLI::App* app, const CLI::Error& error) {
    return "ferry: usage error: " + std::string(error.what()) + "\nhint: run `" +
           command_path(app) + " --help` for usage\n";
}

}  // namespace

int main(int argc, char** argv) {
    using namespace ferry::cli;
    CLI::App app{
        "ferry keeps folders identical across one person's devices, without a central server: "
        "each device runs `ferry run`, and the devices sync directly over encrypted "
        "connections.",
        "ferry"};
    app.footer(
        "FERRY_HOME is the folder for this device's identity, index and configuration "
        "(ferry.toml, see ferry.toml(5); default: "
        "$XDG_CONFIG_HOME/ferry or ~/.config/ferry).\n"
        "Exit status: 0 success, 1 failure, 2 usage error, 3 not initialised (run `ferry init`).\n"
        "See ferry(1) for details.");
    app.set_version_flag("--version", std::string("ferry ") + FERRY_VERSION);
    app.require_subcommand(1);
    app.failure_message(usage_failure);

    int status = kExitOk;
    add_identity_commands(app, status);
    add_join_commands(app, status);
    add_devices_command(app, status);
    add_folder_commands(app, status);
    add_config_commands(app, status);
    add_run_command(app, status);
    add_log_command(app, status);
    add_status_command(app, status);
    add_scan_command(app, status);
    add_pause_commands(app, status);
    add_ls_command(app, status);
    add_conflicts_command(app, status);
    add_versions_commands(app, status);
    add_service_command(app, status);
    add_relay_commands(app, status);

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& done) {  // --help, --version
        return app.exit(done);
    } catch (const CLI::ParseError& error) {
        app.exit(error);
        return kExitUsage;
    } catch (const std::exception& bug) {
        std::fprintf(stderr, "ferry: internal error: %s\nhint: please report this as a bug\n",
                     bug.what());
        return kExitFailure;
    }
    return status;
}
