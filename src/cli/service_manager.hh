// What `ferry service` asks of the operating system's service manager. One
// implementation per OS, chosen by meson: service_systemd.cc (systemd user
// services; Linux) and service_launchd.cc (launchd agents; macOS).
//
// The managers are driven through their command-line tools (systemctl,
// launchctl), found through PATH: tests put a fake one first in PATH.
// Thread rule: main thread only (blocking; runs programs). Failures say what
// failed and what to do.
#pragma once

#include <string>

#include "cli/failure.hh"
#include "cli/service_files.hh"

namespace ferry::cli {

// Whether the service manager can be used by this user. The Failure says
// why not and how to run the daemon without it.
Outcome<void> check_service_manager();

// The absolute path of the running ferry binary, symlinks resolved: what
// the service runs.
Outcome<std::string> this_binary();

// The checked spec of the service for `home` (nullopt: the standard home),
// with what this manager adds (launchd: a log file).
Outcome<ServiceSpec> manager_service_spec(std::string binary, std::optional<std::string> home);

// What the manager calls the service ("ferry.service", "org.ferry.ferry"),
// the file holding its definition, and that definition's text.
std::string service_display_name(const ServiceSpec& spec);
Outcome<std::string> service_file(const ServiceSpec& spec);
std::string service_definition(const ServiceSpec& spec);

// How the manager sees the service, in its own words.
struct ServiceState {
    std::string enabled;  // systemd: "enabled", "disabled", ...; launchd: "loaded", "not loaded"
    std::string active;   // systemd: "active", "inactive", "failed", ...; launchd: "running", ...
    bool running = false;
};
Outcome<ServiceState> service_state(const ServiceSpec& spec);

// After the definition was written: make the manager read it, start the
// service now and at every login.
Outcome<void> enable_service(const ServiceSpec& spec, const std::string& file);
// Before the definition is removed: stop the service, no start at login.
Outcome<void> disable_service(const ServiceSpec& spec, const std::string& file);
// After the definition was removed: make the manager forget it.
Outcome<void> forget_service(const ServiceSpec& spec);

// For the user: where the daemon's log is (a command to read it, or a
// file), and the command that restarts the service.
std::string log_location(const ServiceSpec& spec);
std::string restart_command(const ServiceSpec& spec);

}  // namespace ferry::cli
