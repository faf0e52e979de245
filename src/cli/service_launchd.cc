// The service manager on macOS: a launchd agent in the user's GUI domain,
// driven by launchctl. The plist goes to ~/Library/LaunchAgents, where
// launchd loads agents from at login; the daemon's stderr goes to
// ~/Library/Logs/<service name>.log.
#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include <mach-o/dyld.h>
#include <unistd.h>

#include "cli/home.hh"
#include "cli/service_manager.hh"
#include "cli/subprocess.hh"

namespace ferry::cli {
namespace {

constexpr const char* kWithoutService =
    "run `ferry run` another way: from a login item, a login script, or a terminal "
    "multiplexer (tmux, screen)";

std::string domain() {
    return "gui/" + std::to_string(::getuid());
}
std::string service_target(const ServiceSpec& spec) {
    return domain() + "/" + launchd_label(spec);
}

// Runs `launchctl ARGS...`; a Failure when it does not succeed.
Outcome<void> launchctl(std::vector<std::string> args) {
    args.insert(args.begin(), "launchctl");
    auto result = run_checked(args, "see Console.app for what launchd says");
    if (!result) return tl::unexpected(result.error());
    return {};
}

}  // namespace

Outcome<void> check_service_manager() {
    if (!program_on_path("launchctl")) {
        return failed("cannot manage ferry's service",
                      "launchd is not available here (no `launchctl` in PATH)", kWithoutService);
    }
    return {};
}

Outcome<std::string> this_binary() {
    std::uint32_t size = 0;
    ::_NSGetExecutablePath(nullptr, &size);
    std::string path(size, '\0');
    if (::_NSGetExecutablePath(path.data(), &size) != 0) {
        return failed("cannot find the ferry binary", "_NSGetExecutablePath failed");
    }
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) == nullptr) {
        return failed("cannot find the ferry binary",
                      path.c_str() + std::string(": ") + std::strerror(errno));
    }
    return std::string(resolved);
}

Outcome<ServiceSpec> manager_service_spec(std::string binary, std::optional<std::string> home) {
    auto spec = service_spec(std::move(binary), std::move(home));
    if (!spec) return spec;
    const std::string base = user_home();
    if (base.empty()) return spec;
    return service_spec(std::move(spec->binary), std::move(spec->home),
                        base + "/Library/Logs/" + service_name(*spec) + ".log");
}

std::string service_display_name(const ServiceSpec& spec) {
    return launchd_label(spec);
}

Outcome<std::string> service_file(const ServiceSpec& spec) {
    const std::string base = user_home();
    if (base.empty()) {
        return failed("cannot find the folder for launchd agents", "HOME is not set", "set HOME");
    }
    return base + "/Library/LaunchAgents/" + launchd_label(spec) + ".plist";
}

std::string service_definition(const ServiceSpec& spec) {
    return launchd_plist_text(spec);
}

Outcome<ServiceState> service_state(const ServiceSpec& spec) {
    auto printed = run_program({"launchctl", "print", service_target(spec)});
    if (!printed) return tl::unexpected(printed.error());
    if (printed->status != 0) return ServiceState{"not loaded", "not running", false};
    std::string state = "unknown";
    if (const std::size_t at = printed->out.find("state = "); at != std::string::npos) {
        const std::size_t from = at + 8;
        state = printed->out.substr(from, printed->out.find('\n', from) - from);
    }
    return ServiceState{"loaded", state, state == "running"};
}

Outcome<void> enable_service(const ServiceSpec& spec, const std::string& file) {
    // A loaded agent keeps its old definition: unload it first.
    auto state = service_state(spec);
    if (!state) return tl::unexpected(state.error());
    if (state->enabled == "loaded") {
        if (auto out = launchctl({"bootout", service_target(spec)}); !out) return out;
    }
    if (auto on = launchctl({"enable", service_target(spec)}); !on) return on;
    return launchctl({"bootstrap", domain(), file});
}

Outcome<void> disable_service(const ServiceSpec& spec, const std::string&) {
    auto state = service_state(spec);
    if (!state) return tl::unexpected(state.error());
    if (state->enabled != "loaded") return {};
    return launchctl({"bootout", service_target(spec)});
}

Outcome<void> forget_service(const ServiceSpec&) {
    return {};
}

std::string log_location(const ServiceSpec& spec) {
    return spec.log_file ? *spec.log_file : "Console.app";
}

std::string restart_command(const ServiceSpec& spec) {
    return "launchctl kickstart -k " + service_target(spec);
}

}  // namespace ferry::cli
