// The service manager on Linux: a systemd user service, driven by
// `systemctl --user`. The unit goes to $XDG_CONFIG_HOME/systemd/user (or
// ~/.config/systemd/user), where the user's manager looks for units.
#include <cerrno>
#include <climits>
#include <cstring>

#include <unistd.h>

#include "cli/home.hh"
#include "cli/service_manager.hh"
#include "cli/subprocess.hh"

namespace ferry::cli {
namespace {

constexpr const char* kWithoutService =
    "run `ferry run` another way: from your desktop session's autostart, a login script, or "
    "a terminal multiplexer (tmux, screen)";

std::string unit_name(const ServiceSpec& spec) {
    return service_name(spec) + ".service";
}

// Runs `systemctl --user ARGS...`; a Failure when it does not succeed.
Outcome<void> systemctl(std::vector<std::string> args) {
    args.insert(args.begin(), {"systemctl", "--user"});
    auto result =
        run_checked(args, "see `journalctl --user -xe` for what the systemd user manager says");
    if (!result) return tl::unexpected(result.error());
    return {};
}

// What a `systemctl --user is-*` query printed (it exits non-zero for "no").
Outcome<std::string> query(const char* verb, const std::string& unit) {
    auto result = run_program({"systemctl", "--user", verb, unit});
    if (!result) return tl::unexpected(result.error());
    std::string answer = result->out.substr(0, result->out.find('\n'));
    if (answer.empty()) answer = first_line(*result);
    return answer;
}

}  // namespace

Outcome<void> check_service_manager() {
    if (!program_on_path("systemctl")) {
        return failed("cannot manage ferry's service",
                      "systemd is not available here (no "
                      "`systemctl` in PATH)",
                      kWithoutService);
    }
    auto probe = run_program({"systemctl", "--user", "show-environment"});
    if (!probe) return tl::unexpected(probe.error());
    if (probe->status != 0) {
        return failed("cannot manage ferry's service",
                      "there is no systemd user manager for this user (`systemctl --user` says: " +
                          first_line(*probe) + ")",
                      std::string(kWithoutService) +
                          "; on a server, `loginctl enable-linger` gives a user a manager");
    }
    return {};
}

Outcome<std::string> this_binary() {
    std::string path(PATH_MAX, '\0');
    const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
    if (n < 0 || static_cast<std::size_t>(n) >= path.size()) {
        return failed(
            "cannot find the ferry binary",
            std::string("/proc/self/exe: ") + (n < 0 ? std::strerror(errno) : "path too long"));
    }
    path.resize(static_cast<std::size_t>(n));
    if (path.ends_with(" (deleted)")) {
        return failed("cannot find the ferry binary", path + " was replaced while it ran",
                      "run the newly installed `ferry` again");
    }
    return path;
}

Outcome<ServiceSpec> manager_service_spec(std::string binary, std::optional<std::string> home) {
    return service_spec(std::move(binary), std::move(home));
}

std::string service_display_name(const ServiceSpec& spec) {
    return unit_name(spec);
}

Outcome<std::string> service_file(const ServiceSpec& spec) {
    const std::string config = user_config_dir();
    if (config.empty()) {
        return failed("cannot find the folder for systemd user units", "HOME is not set",
                      "set HOME (or XDG_CONFIG_HOME)");
    }
    return config + "/systemd/user/" + unit_name(spec);
}

std::string service_definition(const ServiceSpec& spec) {
    return systemd_unit_text(spec);
}

Outcome<ServiceState> service_state(const ServiceSpec& spec) {
    auto enabled = query("is-enabled", unit_name(spec));
    if (!enabled) return tl::unexpected(enabled.error());
    auto active = query("is-active", unit_name(spec));
    if (!active) return tl::unexpected(active.error());
    const bool running = *active == "active" || *active == "reloading";
    return ServiceState{std::move(*enabled), std::move(*active), running};
}

Outcome<void> enable_service(const ServiceSpec& spec, const std::string&) {
    if (auto reloaded = systemctl({"daemon-reload"}); !reloaded) return reloaded;
    return systemctl({"enable", "--now", unit_name(spec)});
}

Outcome<void> disable_service(const ServiceSpec& spec, const std::string&) {
    return systemctl({"disable", "--now", unit_name(spec)});
}

Outcome<void> forget_service(const ServiceSpec&) {
    return systemctl({"daemon-reload"});
}

std::string log_location(const ServiceSpec& spec) {
    return "journalctl --user -u " + unit_name(spec);
}

std::string restart_command(const ServiceSpec& spec) {
    return "systemctl --user restart " + unit_name(spec);
}

}  // namespace ferry::cli
