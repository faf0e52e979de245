// The `ferry` subcommands, one group per file. Each add_* function registers
// its subcommands (options, help text) on the app; when CLI11 has parsed a
// subcommand, its callback runs it and stores the exit status in `status`.
// Thread rule: main thread only.
#pragma once

#include <CLI/CLI.hpp>

namespace ferry::cli {

void add_identity_commands(CLI::App& app, int& status);  // init, id
void add_folder_commands(CLI::App& app, int& status);    // folder add|list|remove|override|revert
void add_config_commands(CLI::App& app, int& status);    // config get|list|set|reload
void add_scan_command(CLI::App& app, int& status);       // scan (alias rescan)
void add_pause_commands(CLI::App& app, int& status);     // pause, resume
void add_ls_command(CLI::App& app, int& status);         // ls
void add_status_command(CLI::App& app, int& status);     // status [--wait]
void add_run_command(CLI::App& app, int& status);        // run (the daemon)
void add_log_command(CLI::App& app, int& status);        // log [--follow]
void add_join_commands(CLI::App& app, int& status);      // invite, join
void add_devices_command(CLI::App& app, int& status);    // devices [remove]
void add_conflicts_command(CLI::App& app, int& status);  // conflicts
void add_versions_commands(CLI::App& app, int& status);  // versions, restore
void add_service_command(CLI::App& app, int& status);    // service install|uninstall|status
void add_relay_commands(CLI::App& app, int& status);     // relay add|list|remove

// The key under which the index keeps this device's name.
inline constexpr const char* kDeviceNameSetting = "device_name";

}  // namespace ferry::cli
