// `ferry service install|uninstall|status` against a fake `systemctl`: a
// script first in PATH that records its arguments and plays a user
// manager. HOME and XDG_CONFIG_HOME point into the sandbox, so nothing
// touches the real user's systemd.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "cli/service_files.hh"
#include "cli_test_util.hh"
#include "cluster_util.hh"

using namespace ferry::test;

namespace {

// Arguments go to $FAKE_STATE/calls, one call a line. enable/disable keep
// the unit's state in $FAKE_STATE/<unit>; FAKE_NO_BUS makes every call fail
// as without a user manager; FAKE_FAIL=VERB makes that verb fail. Only shell
// builtins: PATH holds nothing but this script.
constexpr const char* kFakeSystemctl = R"SH(#!/bin/sh
echo "$*" >> "$FAKE_STATE/calls"
if [ -n "$FAKE_NO_BUS" ]; then
  echo "Failed to connect to bus: No medium found" >&2; exit 1
fi
[ "$1" = --user ] || { echo "fake systemctl: --user missing" >&2; exit 64; }
if [ "$2" = "$FAKE_FAIL" ]; then echo "fake failure of $2" >&2; exit 1; fi
state=disabled
[ -e "$FAKE_STATE/$3" ] && read -r state < "$FAKE_STATE/$3"
case "$2 $3" in
  "show-environment "|"daemon-reload ") exit 0 ;;
  "enable --now") echo enabled > "$FAKE_STATE/$4" ;;
  "disable --now") echo disabled > "$FAKE_STATE/$4" ;;
  "is-enabled "*) echo "$state"; [ "$state" = enabled ] ;;
  "is-active "*) if [ "$state" = enabled ]; then echo active; else echo inactive; exit 3; fi ;;
  *) echo "fake systemctl: unexpected $*" >&2; exit 64 ;;
esac
)SH";

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A user with a sandboxed HOME, XDG_CONFIG_HOME and PATH.
struct ServiceUser {
    Sandbox box;
    std::string state = box.path("fake");
    std::string config = box.path("config");
    std::vector<std::string> extra_env;

    ServiceUser() {
        std::filesystem::create_directories(state);
        write_file(box.path("bin/systemctl"), kFakeSystemctl);
        std::filesystem::permissions(box.path("bin/systemctl"), std::filesystem::perms::owner_all);
        std::filesystem::create_directories(box.path("empty-bin"));
    }

    // Runs ferry with FERRY_HOME = box.home() (or unset when `home` is empty).
    Run ferry(const std::vector<std::string>& args, const std::string& home,
              bool with_systemctl = true) const {
        std::vector<std::string> argv{ferry_bin()};
        argv.insert(argv.end(), args.begin(), args.end());
        std::vector<std::string> env{
            "HOME=" + box.path("user"),
            "XDG_CONFIG_HOME=" + config,
            "FAKE_STATE=" + state,
            "PATH=" + box.path(with_systemctl ? "bin" : "empty-bin"),
        };
        if (!home.empty()) env.push_back("FERRY_HOME=" + home);
        env.insert(env.end(), extra_env.begin(), extra_env.end());
        return run_process(argv, env, box.root());
    }
    Run ferry(const std::vector<std::string>& args) const { return ferry(args, box.home()); }

    std::string calls() const { return read_text(state + "/calls"); }
    std::string unit_dir() const { return config + "/systemd/user"; }
};

std::string unit_name_for(const std::string& home) {
    auto spec = ferry::cli::service_spec("/x", home);
    REQUIRE(spec);
    return ferry::cli::service_name(*spec) + ".service";
}

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("ferry service install, status and uninstall drive systemctl --user", "[cli][service]") {
    ServiceUser user;
    user.box.init();
    const std::string unit = unit_name_for(user.box.home());
    const std::string file = user.unit_dir() + "/" + unit;

    const Run install = user.ferry({"service", "install"});
    INFO(install.err);
    REQUIRE(install.status == 0);
    CHECK_THAT(install.out, Catch::Contains("Installed " + unit));
    CHECK_THAT(install.out, Catch::Contains("journalctl --user -u " + unit));
    const std::string text = read_text(file);
    const std::string binary = std::filesystem::canonical(ferry_bin()).string();
    CHECK_THAT(text, Catch::Contains("\nExecStart=" + binary + " run\n"));
    CHECK_THAT(text, Catch::Contains("\nEnvironment=\"FERRY_HOME=" + user.box.home() + "\"\n"));
    CHECK(mode_of(file) == 0600);
    CHECK(user.calls() ==
          "--user show-environment\n"
          "--user is-enabled " +
              unit +
              "\n"
              "--user is-active " +
              unit +
              "\n"
              "--user daemon-reload\n"
              "--user enable --now " +
              unit + "\n");

    const Run status = user.ferry({"service", "status"});
    INFO(status.err);
    REQUIRE(status.status == 0);
    CHECK_THAT(status.out, Catch::Contains("service:   " + unit + "\n"));
    CHECK_THAT(status.out, Catch::Contains("installed: yes, " + file + "\n"));
    CHECK_THAT(status.out, Catch::Contains("enabled:   enabled\n"));
    CHECK_THAT(status.out, Catch::Contains("active:    active\n"));
    CHECK_THAT(status.out, Catch::Contains("daemon:    not running (nothing listens on " +
                                           user.box.home() + "/control.sock)\n"));

    const Run again = user.ferry({"service", "install"});
    INFO(again.err);
    CHECK(again.status == 0);
    CHECK_THAT(again.out, Catch::Contains("systemctl --user restart " + unit));

    std::filesystem::remove(user.state + "/calls");
    const Run uninstall = user.ferry({"service", "uninstall"});
    INFO(uninstall.err);
    REQUIRE(uninstall.status == 0);
    CHECK_THAT(uninstall.out, Catch::Contains("Uninstalled " + unit));
    CHECK_FALSE(std::filesystem::exists(file));
    CHECK(user.calls() ==
          "--user show-environment\n"
          "--user disable --now " +
              unit +
              "\n"
              "--user daemon-reload\n");

    const Run twice = user.ferry({"service", "uninstall"});
    CHECK(twice.status == 0);
    CHECK_THAT(twice.out, Catch::Contains("not installed"));
    const Run after = user.ferry({"service", "status"});
    CHECK(after.status == 0);
    CHECK_THAT(after.out, Catch::Contains("installed: no"));
    CHECK_THAT(after.out, Catch::Contains("enabled:   disabled\n"));
}

TEST_CASE("the standard home's service is ferry.service without FERRY_HOME", "[cli][service]") {
    ServiceUser user;
    // No FERRY_HOME, and XDG_CONFIG_HOME the standard ~/.config: the home is
    // the one a daemon started by systemd finds by itself.
    user.config = user.box.path("user/.config");
    REQUIRE(user.ferry({"init"}, "").status == 0);
    const Run install = user.ferry({"service", "install"}, "");
    INFO(install.err);
    REQUIRE(install.status == 0);
    const std::string text = read_text(user.unit_dir() + "/ferry.service");
    CHECK_THAT(text, Catch::Contains("ExecStart="));
    CHECK_THAT(text, !Catch::Contains("Environment="));
    CHECK_THAT(user.calls(), Catch::Contains("--user enable --now ferry.service\n"));
}

TEST_CASE("ferry service without systemd says so and writes nothing", "[cli][service]") {
    ServiceUser user;
    user.box.init();
    for (const char* verb : {"install", "uninstall", "status"}) {
        const Run run = user.ferry({"service", verb}, user.box.home(), false);
        INFO(verb << ": " << run.err);
        CHECK(run.status == 1);
        CHECK_THAT(run.err, Catch::StartsWith("ferry: cannot manage ferry's service: systemd is "
                                              "not available here (no `systemctl` in PATH)\n"));
        CHECK_THAT(run.err, Catch::Contains("hint: run `ferry run` another way"));
    }
    CHECK_FALSE(std::filesystem::exists(user.config));

    user.extra_env = {"FAKE_NO_BUS=1"};
    const Run no_bus = user.ferry({"service", "install"});
    INFO(no_bus.err);
    CHECK(no_bus.status == 1);
    CHECK_THAT(no_bus.err, Catch::Contains("no systemd user manager"));
    CHECK_THAT(no_bus.err, Catch::Contains("Failed to connect to bus: No medium found"));
    CHECK(user.calls() == "--user show-environment\n");
    CHECK_FALSE(std::filesystem::exists(user.config));
}

TEST_CASE("ferry service install needs an initialised home and reports systemctl failures",
          "[cli][service]") {
    ServiceUser user;
    const Run uninitialised = user.ferry({"service", "install"});
    CHECK(uninitialised.status == 3);
    CHECK_THAT(uninitialised.err, Catch::Contains("ferry init"));
    CHECK_FALSE(std::filesystem::exists(user.config));

    user.box.init();
    user.extra_env = {"FAKE_FAIL=enable"};
    const Run failing = user.ferry({"service", "install"});
    CHECK(failing.status == 1);
    const std::string unit = unit_name_for(user.box.home());
    CHECK_THAT(failing.err, Catch::StartsWith("ferry: `systemctl --user enable --now " + unit +
                                              "` failed: fake failure of enable\n"));
}

TEST_CASE("ferry service sees a running daemon and does not install over it", "[cli][service]") {
    ServiceUser user;
    user.box.init();
    DaemonProcess daemon(user.box.home(), user.box.path("daemon.log"), {"--listen", "127.0.0.1:0"});
    REQUIRE(wait_until(
        [&] {
            const Run status = user.box.ferry({"status", "--json"});
            return status.status == 0 && status.out.find("\"listen\"") != std::string::npos;
        },
        20s));

    const Run status = user.ferry({"service", "status"});
    INFO(status.err);
    REQUIRE(status.status == 0);
    CHECK_THAT(status.out,
               Catch::Contains("daemon:    answers on " + user.box.home() + "/control.sock\n"));
    CHECK_THAT(status.out, Catch::Contains("installed: no"));

    const Run install = user.ferry({"service", "install"});
    CHECK(install.status == 1);
    CHECK_THAT(install.err, Catch::Contains("a ferry daemon already runs for " + user.box.home()));
    CHECK_FALSE(std::filesystem::exists(user.config));
    CHECK(daemon.stop() == 0);
}
