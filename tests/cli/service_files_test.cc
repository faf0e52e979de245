// The service definitions (cli/service_files.hh): escaping, the FERRY_HOME
// line, agreement with the dist/ templates, and acceptance by the real
// checkers where they exist: `systemd-analyze verify` for units, Python's
// plistlib for plists.
#include "cli/service_files.hh"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cli_test_util.hh"

using namespace ferry::cli;
using namespace ferry::test;

namespace {

// A home whose path needs every kind of escaping.
const std::string kAwkwardHome = "/tmp/my \"ferry\" 100% $HOME\\x & <y> 'z' é";

ServiceSpec checked_spec(const std::string& binary, std::optional<std::string> home,
                         std::optional<std::string> log_file = std::nullopt) {
    auto spec = service_spec(binary, std::move(home), std::move(log_file));
    INFO((spec ? "" : spec.error().what + ": " + spec.error().why));
    REQUIRE(spec);
    return *spec;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    INFO(path);
    REQUIRE(in.good());
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A program from the build (meson passes its path; empty when not found).
std::string tool(const char* variable) {
    const char* value = std::getenv(variable);
    return value != nullptr ? value : "";
}

std::string lines_of(const std::string& text, const std::string& prefix) {
    std::string found;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with(prefix)) found += line + "\n";
    }
    return found;
}

// `systemd-analyze --user verify` of `unit_text` saved as `file_name` in
// `box`; what it printed (it exits 0 after mere warnings, so both count).
Run verify_unit(const Sandbox& box, const std::string& analyze, const std::string& file_name,
                const std::string& unit_text) {
    const std::string runtime = box.path("runtime");
    std::filesystem::create_directories(runtime);
    std::filesystem::permissions(runtime, std::filesystem::perms::owner_all);
    const std::string file = box.path(file_name);
    write_file(file, unit_text);
    // --man=no: ferry(1) is not installed while testing.
    return run_process({analyze, "--user", "verify", "--man=no", file},
                       {"XDG_RUNTIME_DIR=" + runtime, "HOME=" + box.root(), "PATH=/usr/bin:/bin"},
                       box.root());
}

}  // namespace

TEST_CASE("the unit for the standard home runs the binary and sets no FERRY_HOME",
          "[cli][service]") {
    const ServiceSpec spec = checked_spec("/usr/bin/ferry", std::nullopt);
    CHECK(service_name(spec) == "ferry");
    const std::string unit = systemd_unit_text(spec);
    CHECK(lines_of(unit, "ExecStart=") == "ExecStart=/usr/bin/ferry run\n");
    CHECK(lines_of(unit, "Environment=").empty());
    CHECK(lines_of(unit, "Restart=") == "Restart=on-failure\n");
    CHECK(lines_of(unit, "ExecReload=") == "ExecReload=kill -HUP $MAINPID\n");
    CHECK(lines_of(unit, "WantedBy=") == "WantedBy=default.target\n");
    CHECK(lines_of(unit, "Documentation=") == "Documentation=man:ferry(1)\n");
}

TEST_CASE("a unit for another home sets FERRY_HOME, quoted and escaped", "[cli][service]") {
    const ServiceSpec spec = checked_spec("/opt/my tools/ferry%1", kAwkwardHome);
    const std::string unit = systemd_unit_text(spec);
    CHECK(lines_of(unit, "ExecStart=") == "ExecStart=\"/opt/my tools/ferry%%1\" run\n");
    CHECK(lines_of(unit, "Environment=") ==
          "Environment=\"FERRY_HOME=/tmp/my \\\"ferry\\\" 100%% $HOME\\\\x & <y> 'z' é\"\n");
    CHECK(lines_of(unit, "Description=") ==
          "Description=ferry file sync daemon for \"/tmp/my \"ferry\" 100%% $HOME\\x & <y> 'z' "
          "é\"\n");
}

TEST_CASE("each home has its own stable service name", "[cli][service]") {
    const std::string a = service_name(checked_spec("/usr/bin/ferry", "/srv/a"));
    const std::string b = service_name(checked_spec("/usr/bin/ferry", "/srv/b"));
    CHECK(a.size() == std::string("ferry-").size() + 12);
    CHECK(a.starts_with("ferry-"));
    CHECK(a != b);
    CHECK(a == service_name(checked_spec("/usr/local/bin/ferry", "/srv/a")));
    CHECK(launchd_label(checked_spec("/usr/bin/ferry", std::nullopt)) == "org.ferry.ferry");
    CHECK(launchd_label(checked_spec("/usr/bin/ferry", "/srv/a")) == "org.ferry." + a);
}

TEST_CASE("systemd command words are quoted only when they must be", "[cli][service]") {
    CHECK(systemd_command_word("/usr/local/bin/ferry") == "/usr/local/bin/ferry");
    CHECK(systemd_command_word("/a b") == "\"/a b\"");
    CHECK(systemd_command_word("/a\"b\\c") == "\"/a\\\"b\\\\c\"");
    CHECK(systemd_command_word("/50%$x") == "\"/50%%$$x\"");
    CHECK(systemd_command_word("/a;b") == "\"/a;b\"");
}

TEST_CASE("paths a service definition cannot carry are refused", "[cli][service]") {
    CHECK_FALSE(service_spec("ferry", std::nullopt));
    CHECK_FALSE(service_spec("/usr/bin/ferry", "relative/home"));
    CHECK_FALSE(service_spec("/usr/bin/ferry", "/home/a\nb"));
    CHECK_FALSE(service_spec("/usr/bin/fer\x7fry", std::nullopt));
    CHECK_FALSE(service_spec("/usr/bin/ferry", std::string("/home/\xff")));
    CHECK_FALSE(service_spec("/usr/bin/ferry", std::nullopt, "log"));
    const auto refused = service_spec("/usr/bin/ferry", "/home/a\tb");
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.error().what, Catch::Contains("FERRY_HOME"));
    CHECK(refused.error().why == "it contains a control character");
}

TEST_CASE("plist text escapes XML and sets FERRY_HOME only for another home", "[cli][service]") {
    CHECK(xml_escape("a&b<c>\"d\"'e'") == "a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;");
    const std::string standard = launchd_plist_text(checked_spec("/usr/bin/ferry", std::nullopt));
    CHECK_THAT(standard, !Catch::Contains("EnvironmentVariables"));
    CHECK_THAT(standard, !Catch::Contains("StandardErrorPath"));
    CHECK_THAT(standard, Catch::Contains("<string>org.ferry.ferry</string>"));
    const std::string other =
        launchd_plist_text(checked_spec("/usr/bin/ferry", "/a&b", "/Users/u/Library/Logs/f.log"));
    CHECK_THAT(other, Catch::Contains("<key>FERRY_HOME</key>\n\t\t<string>/a&amp;b</string>"));
    CHECK_THAT(other, Catch::Contains(
                          "<key>StandardErrorPath</key>\n\t<string>/Users/u/Library/Logs/f.log"));
}

TEST_CASE("the dist/ templates are the texts ferry service install writes", "[cli][service]") {
    const ServiceSpec spec = checked_spec(ferry_bin(), std::nullopt);
    const std::string unit = tool("FERRY_DIST_UNIT");
    const std::string plist = tool("FERRY_DIST_PLIST");
    REQUIRE_FALSE(unit.empty());
    REQUIRE_FALSE(plist.empty());
    CHECK(read_text(unit) == systemd_unit_text(spec));
    CHECK(read_text(plist) == launchd_plist_text(spec));
}

TEST_CASE("systemd-analyze verify accepts the dist unit and generated units", "[cli][service]") {
    const std::string analyze = tool("SYSTEMD_ANALYZE");
    if (analyze.empty()) {
        WARN("systemd-analyze is not installed: the units were not verified");
        return;
    }
    Sandbox box;
    // A minimal unit first: if even that fails, this environment cannot run
    // the verifier (it needs /proc and a writable runtime folder).
    const Run control = verify_unit(box, analyze, "control.service",
                                    "[Service]\nExecStart=" + ferry_bin() + " run\n");
    if (control.status != 0) {
        WARN("systemd-analyze verify cannot run here, units not verified: " << control.err);
        return;
    }
    const Run dist = verify_unit(box, analyze, "ferry.service", read_text(tool("FERRY_DIST_UNIT")));
    INFO(dist.out << dist.err);
    CHECK(dist.status == 0);
    CHECK(dist.out + dist.err == "");

    const ServiceSpec other = checked_spec(ferry_bin(), kAwkwardHome);
    const Run generated =
        verify_unit(box, analyze, service_name(other) + ".service", systemd_unit_text(other));
    INFO(generated.out << generated.err);
    CHECK(generated.status == 0);
    CHECK(generated.out + generated.err == "");

    // The verifier does complain about a bad setting (else this proves nothing).
    const Run bad =
        verify_unit(box, analyze, "bad.service",
                    "[Service]\nExecStart=" + ferry_bin() + " run\nRestart=sometimes\n");
    CHECK_THAT(bad.err, Catch::Contains("sometimes"));
}

TEST_CASE("plists parse as property lists with the right keys", "[cli][service]") {
    const std::string python = tool("PYTHON3");
    if (python.empty()) {
        WARN("python3 is not installed: the plists were not parsed");
        return;
    }
    Sandbox box;
    // Prints the parsed plist as JSON, so the test compares values, not text.
    const std::string script =
        "import json, plistlib, sys\n"
        "with open(sys.argv[1], 'rb') as f:\n"
        "    print(json.dumps(plistlib.load(f)))\n";
    auto parse = [&](const std::string& file) {
        const Run run = run_process({python, "-c", script, file},
                                    {"PATH=" + tool("PATH"), "HOME=" + tool("HOME")}, box.root());
        INFO(run.err);
        REQUIRE(run.status == 0);
        return parse_json(run.out);
    };
    const auto dist = parse(tool("FERRY_DIST_PLIST"));
    CHECK(dist["Label"] == "org.ferry.ferry");
    CHECK(dist["ProgramArguments"] == nlohmann::json::array({ferry_bin(), "run"}));
    CHECK(dist["RunAtLoad"] == true);
    CHECK(dist["KeepAlive"] == nlohmann::json({{"SuccessfulExit", false}}));
    CHECK(dist["Umask"] == 077);
    CHECK_FALSE(dist.contains("EnvironmentVariables"));

    const ServiceSpec other = checked_spec("/Applications/a & b/ferry", kAwkwardHome, "/l<og>");
    write_file(box.path("other.plist"), launchd_plist_text(other));
    const auto parsed = parse(box.path("other.plist"));
    CHECK(parsed["Label"] == launchd_label(other));
    CHECK(parsed["ProgramArguments"][0] == "/Applications/a & b/ferry");
    CHECK(parsed["EnvironmentVariables"]["FERRY_HOME"] == kAwkwardHome);
    CHECK(parsed["StandardErrorPath"] == "/l<og>");
}
