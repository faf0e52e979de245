// `ferry service install|uninstall|status`: the daemon as a service of the
// OS's service manager (cli/service_manager.hh), one per FERRY_HOME.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/home.hh"
#include "cli/service_manager.hh"
#include "crypto/key_file.hh"

namespace ferry::cli {
namespace {

// How long `ferry service` waits for a daemon to answer.
constexpr std::chrono::seconds kDaemonAnswerTimeout{5};

// The spec of this home's service: FERRY_HOME is written into it unless the
// home is the one the daemon finds by itself.
Outcome<ServiceSpec> home_service_spec(const HomePaths& paths) {
    auto binary = this_binary();
    if (!binary) return tl::unexpected(binary.error());
    std::optional<std::string> home;
    if (paths.home != standard_home()) home = paths.home;
    return manager_service_spec(std::move(*binary), std::move(home));
}

bool daemon_answers(const HomePaths& paths) {
    auto answer = ask_daemon(paths, {{"cmd", "status"}}, kDaemonAnswerTimeout);
    return answer && answer->has_value();
}

// Whether the daemon of `paths` answers, in words.
std::string daemon_report(const HomePaths& paths) {
    auto answer = ask_daemon(paths, {{"cmd", "status"}}, kDaemonAnswerTimeout);
    if (!answer) return "does not answer: " + answer.error().why;
    if (!answer->has_value())
        return "not running (nothing listens on " + paths.control_socket() + ")";
    return "answers on " + paths.control_socket();
}

Outcome<void> make_parent_folder(const std::string& file) {
    const std::filesystem::path parent = std::filesystem::path(file).parent_path();
    std::error_code ec;
    std::filesystem::create_directories(parent, ec);
    if (ec) {
        return failed("cannot create " + parent.string(), ec.message(),
                      "check the permissions of its parent folders");
    }
    return {};
}

// Removes `file` and makes its removal durable.
Outcome<void> remove_file(const std::string& file) {
    if (::unlink(file.c_str()) != 0) {
        return failed("cannot remove " + file, std::strerror(errno),
                      "remove it by hand, then run `ferry service uninstall` again");
    }
    const std::string parent = std::filesystem::path(file).parent_path().string();
    if (const int fd = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
    return {};
}

// This home's service and the file that defines it, once the service
// manager is known to be usable.
struct LocatedService {
    ServiceSpec spec;
    std::string file;
};

Outcome<LocatedService> locate_service(const HomePaths& paths) {
    if (auto usable = check_service_manager(); !usable) return tl::unexpected(usable.error());
    auto spec = home_service_spec(paths);
    if (!spec) return tl::unexpected(spec.error());
    auto file = service_file(*spec);
    if (!file) return tl::unexpected(file.error());
    return LocatedService{std::move(*spec), std::move(*file)};
}

Outcome<void> run_install(const HomePaths& paths) {
    if (auto identity = load_identity(paths); !identity) return tl::unexpected(identity.error());
    auto found = locate_service(paths);
    if (!found) return tl::unexpected(found.error());
    const ServiceSpec& spec = found->spec;
    const std::string& file = found->file;
    const std::string name = service_display_name(spec);

    auto before = service_state(spec);
    if (!before) return tl::unexpected(before.error());
    if (!before->running && daemon_answers(paths)) {
        return failed("cannot install " + name,
                      "a ferry daemon already runs for " + paths.home +
                          ", not as this service; the service could not take its place",
                      "stop that `ferry run` (Ctrl-C, or kill its process), then run `ferry "
                      "service install` again");
    }
    if (auto made = make_parent_folder(file); !made) return made;
    if (auto written = write_file_atomically(file, service_definition(spec)); !written) {
        return failed("cannot write " + file, written.error());
    }
    if (auto enabled = enable_service(spec, file); !enabled) return enabled;

    const std::string environment = spec.home ? " with FERRY_HOME=" + *spec.home : "";
    std::printf("Installed %s (%s): it runs `%s run`%s, starts now and at every login.\n",
                name.c_str(), file.c_str(), spec.binary.c_str(), environment.c_str());
    if (before->running) {
        std::printf("It was running already; to run the new definition: %s\n",
                    restart_command(spec).c_str());
    }
    std::printf("Its log: %s\n", log_location(spec).c_str());
    return {};
}

Outcome<void> run_uninstall(const HomePaths& paths) {
    auto found = locate_service(paths);
    if (!found) return tl::unexpected(found.error());
    const ServiceSpec& spec = found->spec;
    const std::string& file = found->file;
    const std::string name = service_display_name(spec);
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) {
        std::printf("%s is not installed for %s (no %s): nothing to do.\n", name.c_str(),
                    paths.home.c_str(), file.c_str());
        return {};
    }
    if (auto disabled = disable_service(spec, file); !disabled) return disabled;
    if (auto removed = remove_file(file); !removed) return removed;
    if (auto forgotten = forget_service(spec); !forgotten) return forgotten;
    std::printf("Uninstalled %s: stopped, and removed %s.\n", name.c_str(), file.c_str());
    return {};
}

Outcome<void> run_status(const HomePaths& paths) {
    auto found = locate_service(paths);
    if (!found) return tl::unexpected(found.error());
    const ServiceSpec& spec = found->spec;
    const std::string& file = found->file;
    auto state = service_state(spec);
    if (!state) return tl::unexpected(state.error());
    std::error_code ec;
    const std::string installed =
        std::filesystem::exists(file, ec) ? "yes, " + file : "no (no " + file + ")";
    const std::string daemon = daemon_report(paths);
    std::printf("service:   %s\n", service_display_name(spec).c_str());
    std::printf("installed: %s\n", installed.c_str());
    std::printf("enabled:   %s\n", state->enabled.c_str());
    std::printf("active:    %s\n", state->active.c_str());
    std::printf("daemon:    %s\n", daemon.c_str());
    return {};
}

// Runs `action` on this FERRY_HOME and returns the exit status.
int with_home(Outcome<void> (*action)(const HomePaths&)) {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    auto done = action(*paths);
    return done ? kExitOk : report(done.error());
}

}  // namespace

void add_service_command(CLI::App& app, int& status) {
    CLI::App* service = app.add_subcommand(
        "service",
        "Run the daemon as a service of the OS: a systemd user service on Linux, a launchd "
        "agent on macOS. One service per FERRY_HOME.");
    service->require_subcommand(1);
    CLI::App* install_cmd = service->add_subcommand(
        "install",
        "Write the service definition for this FERRY_HOME (it runs this binary's `ferry run`), "
        "then enable and start it: it starts now and at every login, and restarts after a "
        "failure. Installing again rewrites the definition.");
    install_cmd->callback([&status] { status = with_home(run_install); });
    CLI::App* uninstall_cmd = service->add_subcommand(
        "uninstall", "Stop and disable the service of this FERRY_HOME and remove its definition.");
    uninstall_cmd->callback([&status] { status = with_home(run_uninstall); });
    CLI::App* status_cmd = service->add_subcommand(
        "status",
        "Show whether the service of this FERRY_HOME is installed, enabled and active, and "
        "whether the daemon answers on the control socket.");
    status_cmd->callback([&status] { status = with_home(run_status); });
}

}  // namespace ferry::cli
