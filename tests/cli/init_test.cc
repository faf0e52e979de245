// ferry init, ferry id, not-initialised and usage-error exit statuses.
#include <regex>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "cli_test_util.hh"
#include "crypto/device_id.hh"

using namespace ferry::test;

namespace {

const std::regex kDeviceIdForm("^([A-Z2-7]{7}-){7}[A-Z2-7]{7}$");

mode_t mode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("ferry init creates the identity and ferry id prints it", "[cli][init]") {
    Sandbox box;
    const Run init = box.ferry({"init", "--name", "laptop"});
    INFO(init.err);
    REQUIRE(init.status == 0);
    CHECK_THAT(init.out, Catch::Contains("device name: laptop"));
    CHECK_THAT(init.out, Catch::Contains(box.home()));

    const Run id = box.ferry({"id"});
    REQUIRE(id.status == 0);
    CHECK(id.err.empty());
    REQUIRE(id.out.size() == 64);
    CHECK(id.out.back() == '\n');
    const std::string text = id.out.substr(0, 63);
    CHECK(std::regex_match(text, kDeviceIdForm));
    CHECK(ferry::DeviceId::parse(text).has_value());
    CHECK_THAT(init.out, Catch::Contains("device id:   " + text));

    CHECK(mode_of(box.home()) == 0700);
    CHECK(mode_of(box.home() + "/device.key") == 0600);
    CHECK(mode_of(box.home() + "/user.key") == 0600);

    const Run status = box.ferry({"status", "--json"});
    REQUIRE(status.status == 0);
    const auto json = parse_json(status.out);
    CHECK(json["device"]["id"] == text);
    CHECK(json["device"]["name"] == "laptop");
    CHECK(json["folders"].empty());
}

TEST_CASE("ferry init twice is refused and keeps the identity", "[cli][init]") {
    Sandbox box;
    box.init();
    const Run first_id = box.ferry({"id"});
    const Run again = box.ferry({"init"});
    CHECK(again.status == 1);
    CHECK_THAT(again.err, Catch::StartsWith("ferry: already initialised: "));
    CHECK_THAT(again.err, Catch::Contains(box.home()));
    CHECK(box.ferry({"id"}).out == first_id.out);
}

TEST_CASE("commands before ferry init exit with status 3", "[cli][init]") {
    Sandbox box;
    const std::vector<std::vector<std::string>> commands = {
        {"id"},
        {"folder", "list"},
        {"folder", "add", box.root()},
        {"folder", "remove", "x"},
        {"scan"},
        {"ls", "x:y"},
        {"status"},
        {"status", "--json"},
    };
    for (const auto& args : commands) {
        const Run run = box.ferry(args);
        INFO(args.front() << (args.size() > 1 ? " " + args[1] : "") << ": " << run.err);
        CHECK(run.status == 3);
        CHECK(run.out.empty());
        CHECK_THAT(run.err, Catch::StartsWith("ferry: not initialised: ") &&
                                Catch::Contains("run `ferry init`"));
    }
}

TEST_CASE("a damaged or exposed device key is reported, not replaced", "[cli][init]") {
    Sandbox box;
    box.init();
    const std::string key = box.home() + "/device.key";
    REQUIRE(::chmod(key.c_str(), 0644) == 0);
    const Run run = box.ferry({"id"});
    CHECK(run.status == 1);
    CHECK_THAT(run.err, Catch::Contains(key) && Catch::Contains("chmod 600"));
    const Run init = box.ferry({"init"});
    CHECK(init.status == 1);
}

TEST_CASE("usage errors exit with status 2 and point at --help", "[cli][usage]") {
    Sandbox box;
    box.init();
    const std::vector<std::vector<std::string>> commands = {
        {},
        {"frobnicate"},
        {"folder"},
        {"folder", "add"},
        {"folder", "add", box.root(), "--mode", "sideways"},
        {"ls"},
        {"ls", "a", "b"},
        {"scan", "--no-such-option"},
        {"run", "--max-recv-rate", "fast"},
        {"run", "--max-send-rate", "-1"},
        {"id", "extra"},
    };
    for (const auto& args : commands) {
        const Run run = box.ferry(args);
        INFO((args.empty() ? "(none)" : args.front()) << ": " << run.err);
        CHECK(run.status == 2);
        CHECK_THAT(run.err, Catch::StartsWith("ferry: usage error: ") && Catch::Contains("--help"));
    }
}

TEST_CASE("--help and --version describe ferry and exit 0", "[cli][usage]") {
    Sandbox box;
    const Run help = box.ferry({"--help"});
    CHECK(help.status == 0);
    for (const char* command : {"init", "id", "folder", "scan", "ls", "status", "FERRY_HOME"}) {
        CHECK_THAT(help.out, Catch::Contains(command));
    }
    const Run scan_help = box.ferry({"scan", "--help"});
    CHECK(scan_help.status == 0);
    CHECK_THAT(scan_help.out, Catch::Contains("--quiet"));

    const Run version = box.ferry({"--version"});
    CHECK(version.status == 0);
    CHECK_THAT(version.out, Catch::StartsWith("ferry "));
}
