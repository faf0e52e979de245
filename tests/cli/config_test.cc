// ferry.toml: the parser's defaults and errors (each with its line), and the
// line editor (comments and layout kept, the result re-checked).
#include <catch2/catch.hpp>

#include "cli/config.hh"
#include "cli/config_edit.hh"
#include "cli/daemon.hh"

using namespace ferry;
using namespace ferry::cli;

namespace {

Config parsed(const std::string& text) {
    auto result = parse_config(text, "ferry.toml");
    INFO((result ? std::string() : result.error().why));
    REQUIRE(result);
    return result->config;
}

// The error's reason ("ferry.toml:LINE: ..."); fails the test if it parsed.
std::string refused(const std::string& text) {
    auto result = parse_config(text, "ferry.toml");
    REQUIRE_FALSE(result);
    CHECK(result.error().what == "invalid configuration");
    CHECK_FALSE(result.error().hint.empty());
    return result.error().why;
}

std::string set(const std::string& text, const std::string& key, const std::string& value) {
    auto toml_value = toml_value_from_text(key, value);
    INFO((toml_value ? std::string() : toml_value.error().why));
    REQUIRE(toml_value);
    auto edited = set_config_key(text, "ferry.toml", key, *toml_value);
    INFO((edited ? std::string() : edited.error().why));
    REQUIRE(edited);
    return edited->text;
}

}  // namespace

TEST_CASE("config: an empty file gives every default", "[cli][config]") {
    const Config config = parsed("");
    CHECK(config == Config{});
    CHECK(config.listen == std::vector<std::string>{"0.0.0.0:22400"});
    CHECK(config.watcher == "inotify");
    CHECK(config.rescan_interval_s == 60);
    CHECK(config.version_retention_days == 30);
    CHECK(config.max_send_rate_kib == 0);
    CHECK(config.max_recv_rate_kib == 0);
    CHECK(config.log_level == "info");
    CHECK(config.relay_forward_s == 30);
    CHECK(config.relay_retry_s == 30);
    CHECK(config.folders.empty());
    // What `ferry init` writes says the same: every key is commented out.
    CHECK(parsed(initial_config_text({})) == Config{});
}

TEST_CASE("config: every key is read", "[cli][config]") {
    const Config config = parsed(R"(# mine
listen = ["127.0.0.1:4000", "[::1]:0"]
watcher = "poll"
rescan_interval = 5
version_retention = 0
max_send_rate = 1024
max_recv_rate = 2048
log_level = "debug"
relay_forward_seconds = 2
relay_retry_seconds = 2

[folders.photos]
path = "/home/me/Photos/"
mode = "receive-only"

[folders."a.b"]
path = "/srv/ab"
)");
    CHECK(config.listen == std::vector<std::string>{"127.0.0.1:4000", "[::1]:0"});
    CHECK(config.watcher == "poll");
    CHECK(config.rescan_interval_s == 5);
    CHECK(config.version_retention_days == 0);
    CHECK(config.max_send_rate_kib == 1024);
    CHECK(config.max_recv_rate_kib == 2048);
    CHECK(config.log_level == "debug");
    CHECK(config.relay_forward_s == 2);
    CHECK(config.relay_retry_s == 2);
    REQUIRE(config.folders.size() == 2);
    CHECK(config.folders.at("photos") == FolderConfig{"/home/me/Photos", FolderMode::receive_only});
    CHECK(config.folders.at("a.b") == FolderConfig{"/srv/ab", FolderMode::send_receive});
}

TEST_CASE("config: errors name the line and the reason", "[cli][config]") {
    CHECK(refused("\n\nrescan_interval = \"abc\"\n") ==
          "ferry.toml:3: rescan_interval must be a whole number of seconds from 1 to 86400, not "
          "\"abc\"");
    CHECK(refused("rescan_interval = 0\n") ==
          "ferry.toml:1: rescan_interval must be a whole number of seconds from 1 to 86400, not 0");
    CHECK(refused("rescan_interval = 1.5\n") ==
          "ferry.toml:1: rescan_interval must be a whole number of seconds from 1 to 86400, not 1.5");
    CHECK(refused("relay_retry_seconds = 0\n") ==
          "ferry.toml:1: relay_retry_seconds must be a whole number of seconds from 1 to 86400, "
          "not 0");
    CHECK(refused("relay_retry_seconds = \"30s\"\n") ==
          "ferry.toml:1: relay_retry_seconds must be a whole number of seconds from 1 to 86400, "
          "not \"30s\"");
    CHECK(refused("# a comment\nspeed = 3\n") == "ferry.toml:2: unknown key \"speed\"");
    CHECK(refused("watcher = \"fanotify\"\n") ==
          "ferry.toml:1: watcher must be \"inotify\" or \"poll\", not \"fanotify\"");
    CHECK(refused("log_level = 3\n") ==
          "ferry.toml:1: log_level must be \"error\", \"warn\", \"info\" or \"debug\", not 3");
    CHECK(refused("version_retention = -1\n") ==
          "ferry.toml:1: version_retention must be a whole number of days from 0 (keep forever) "
          "to 36500, not -1");
    CHECK(refused("max_send_rate = true\n") ==
          "ferry.toml:1: max_send_rate must be a whole number of KiB/s from 0 (unlimited) to "
          "1073741824, not true");
    CHECK(refused("max_recv_rate = 1073741825\n").starts_with("ferry.toml:1: max_recv_rate must"));
    CHECK(refused("listen = \"0.0.0.0:22400\"\n") ==
          "ferry.toml:1: listen must be an array of at most 64 \"HOST:PORT\" strings ([] for "
          "none), not \"0.0.0.0:22400\"");
    std::string many = "listen = [";
    for (int i = 0; i < 65; ++i) many += "\"127.0.0.1:" + std::to_string(1000 + i) + "\", ";
    CHECK(refused(many + "]\n").starts_with("ferry.toml:1: listen must be an array of at most 64"));
    CHECK(refused("relay_forward_seconds = 0\n") ==
          "ferry.toml:1: relay_forward_seconds must be a whole number of seconds from 1 to 3600, "
          "not 0");
    CHECK(refused("relay_forward_seconds = 3601\n").starts_with(
        "ferry.toml:1: relay_forward_seconds must be"));
    CHECK(refused("listen = [\n  \"a:1\",\n  \"nohost\",\n]\n") ==
          "ferry.toml:1: listen address 'nohost': it is not HOST:PORT");
    CHECK(refused("listen = [1]\n") == "ferry.toml:1: listen must hold \"HOST:PORT\" strings, not 1");
}

TEST_CASE("config: listen = [] means no listener", "[cli][config]") {
    const Config config = parsed("listen = []\n");
    CHECK(config.listen.empty());
    CHECK(*config_value(config, "listen") == "none");
    CHECK(config_toml_value(config, "listen") == "[]");
    CHECK(*toml_value_from_text("listen", "none") == "[]");
    CHECK(*toml_value_from_text("relay_forward_seconds", "5") == "5");
    CHECK_FALSE(toml_value_from_text("relay_forward_seconds", "0"));
}

TEST_CASE("config: folder errors name the line and the reason", "[cli][config]") {
    CHECK(refused("[folders.a]\nmode = \"send-only\"\n") == "ferry.toml:1: folder a has no path");
    CHECK(refused("[folders.a]\npath = \"relative/dir\"\n") ==
          "ferry.toml:2: folders.a.path must be an absolute path, not \"relative/dir\"");
    CHECK(refused("[folders.a]\npath = \"/x\"\nmode = \"both\"\n") ==
          "ferry.toml:3: folders.a.mode must be \"send-receive\", \"send-only\" or "
          "\"receive-only\", not \"both\"");
    CHECK(refused("[folders.a]\npath = \"/x\"\nignore = 1\n") ==
          "ferry.toml:3: unknown key \"ignore\" in folder a (a folder has path and mode)");
    CHECK(refused("[folders.\"-a\"]\npath = \"/x\"\n").starts_with(
        "ferry.toml:1: invalid folder id \"-a\": a folder id has 1 to 64"));
    CHECK(refused("folders = 3\n").starts_with("ferry.toml:1: folders must be tables"));
    CHECK(refused("[folders]\na = 1\n").starts_with("ferry.toml:2: folders.a must be a table"));
    CHECK(refused("[folders.a]\npath = \"/x\"\n[folders.b]\npath = \"/x/y\"\n") ==
          "ferry.toml:4: folders.b.path /x/y is inside folder a (/x)");
    CHECK(refused("[folders.a]\npath = \"/x\"\n[folders.b]\npath = \"/x/\"\n")
              .starts_with("ferry.toml:2: folders.a.path /x is also folder b (/x)"));
}

TEST_CASE("config: bad TOML is refused with line and column", "[cli][config]") {
    const std::string why = refused("watcher = \"poll\"\nrescan_interval = \n");
    INFO(why);
    CHECK(why.starts_with("ferry.toml:2:19: "));
    CHECK(refused("a = 1\na = 2\n").starts_with("ferry.toml:2:"));
    CHECK(refused("[folders.a]\npath = \"/x\"\n[folders.a]\n").starts_with("ferry.toml:3:"));
}

TEST_CASE("config: a key starting with a character no key may start with is refused",
          "[cli][config]") {
    // toml++ asserted on these (an abort in every build but release).
    CHECK(refused("[*").starts_with("ferry.toml:1:2: "));
    CHECK(refused("rescan_interval = 5\n[[*]]\n").starts_with("ferry.toml:2:"));
    CHECK(refused("folders.*.path = \"/x\"\n").starts_with("ferry.toml:1:"));
    CHECK(refused("[folders.a]\npath = \"/x\"\n[folders.\x01]\n").starts_with("ferry.toml:3:"));
}

TEST_CASE("config: what toml++ cannot be given safely is refused first", "[cli][config]") {
    // toml++ 3.3 reached __builtin_unreachable() on U+00A1..U+0499 here
    // (cli/toml_guard.hh; UBSan reports it).
    CHECK(refused("\xc3\xa9 = 1\n").starts_with(
        "ferry.toml:1:1: a character that is not ASCII outside a string or comment"));
    CHECK(refused("rescan_interval = 1\xcf\x83\n").starts_with("ferry.toml:1:20: "));
    CHECK(refused("listen = [ # \xc3\xa9\n  \"a:1\", \xc3\xa9 ]\n").starts_with("ferry.toml:2:10: "));
    CHECK(refused("watcher = \"\"\"\\\n  \xc2\xa7poll\"\"\"\n").starts_with(
        "ferry.toml:2:3: a character that is not ASCII first after a line-ending backslash"));
    // Closing delimiters with extra quotes: what follows is outside again.
    CHECK(refused("log_level = \"\"\"x\"\"\"\" \xc3\xa9\n").starts_with("ferry.toml:1:"));
    CHECK(refused("log_level = '''x''''' \xc3\xa9\n").starts_with("ferry.toml:1:"));
    // Strings, comments and quoted keys may hold any character.
    CHECK(parsed("# caf\xc3\xa9\n[folders.a] # \xcf\x83\npath = \"/home/Jos\xc3\xa9\"\n")
              .folders.at("a")
              .path == "/home/Jos\xc3\xa9");
    CHECK(parsed("[folders.a]\npath = '''/x/\xc3\xa9'''\nmode = \"send-only\" # \\ \"\n").folders.at("a").path ==
          "/x/\xc3\xa9");
    CHECK(parsed("watcher = \"\"\"\\\n  poll\"\"\"\n").watcher == "poll");
    CHECK(refused("[folders.\"\xc3\xa9\"]\npath = \"/x\"\n").find("invalid folder id") != std::string::npos);
    CHECK(parsed("\xef\xbb\xbfwatcher = \"poll\"\n").watcher == "poll");
}

TEST_CASE("config: a file over the size limit is refused", "[cli][config]") {
    const std::string big(kMaxConfigBytes + 1, '#');
    auto result = parse_config(big, "ferry.toml");
    REQUIRE_FALSE(result);
    CHECK_THAT(result.error().why, Catch::Contains("larger than"));
}

TEST_CASE("config: get gives the effective value, defaults included", "[cli][config]") {
    Config config = parsed("rescan_interval = 7\n[folders.p]\npath = \"/p\"\n");
    CHECK(*config_value(config, "rescan_interval") == "7");
    CHECK(*config_value(config, "watcher") == "inotify");
    CHECK(*config_value(config, "listen") == "0.0.0.0:22400");
    CHECK(*config_value(config, "folders.p.path") == "/p");
    CHECK(*config_value(config, "folders.p.mode") == "send-receive");
    CHECK_FALSE(config_value(config, "folders.q.path"));
    CHECK_FALSE(config_value(config, "nope"));
    CHECK(config_toml_value(config, "listen") == "[\"0.0.0.0:22400\"]");
    CHECK(config_toml_value(config, "log_level") == "\"info\"");
    CHECK(config_keys(config).back() == "folders.p.mode");
}

TEST_CASE("config: values from the command line are checked like the file's",
          "[cli][config]") {
    CHECK(*toml_value_from_text("rescan_interval", "30") == "30");
    CHECK(*toml_value_from_text("watcher", "poll") == "\"poll\"");
    CHECK(*toml_value_from_text("listen", "127.0.0.1:1, [::1]:2") ==
          "[\"127.0.0.1:1\", \"[::1]:2\"]");
    CHECK(*toml_value_from_text("folders.x.path", "/a \"q\"") == "\"/a \\\"q\\\"\"");
    auto bad = toml_value_from_text("rescan_interval", "abc");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().why ==
          "rescan_interval must be a whole number of seconds from 1 to 86400, not \"abc\"");
    CHECK_FALSE(toml_value_from_text("rescan_interval", "99999999999999999999"));
    auto negative = toml_value_from_text("version_retention", "-3");
    REQUIRE_FALSE(negative);
    CHECK_THAT(negative.error().why, Catch::EndsWith("not -3"));
    CHECK_FALSE(toml_value_from_text("folders.x.mode", "both"));
    CHECK_FALSE(toml_value_from_text("folders.-x.path", "/a"));
    CHECK_FALSE(toml_value_from_text("folders.x.ignore", "1"));
    CHECK_FALSE(toml_value_from_text("speed", "1"));
}

TEST_CASE("config edit: a set key's line is replaced, comments kept", "[cli][config]") {
    const std::string text =
        "# my settings\n"
        "rescan_interval = 60   # once a minute\n"
        "listen = [\n"
        "  \"a:1\",\n"
        "]  # where\n"
        "\n"
        "[folders.p]  # pictures\n"
        "path = \"/p\"\n";
    CHECK(set(text, "rescan_interval", "5") ==
          "# my settings\n"
          "rescan_interval = 5   # once a minute\n"
          "listen = [\n"
          "  \"a:1\",\n"
          "]  # where\n"
          "\n"
          "[folders.p]  # pictures\n"
          "path = \"/p\"\n");
    CHECK(set(text, "listen", "b:2,c:3") ==
          "# my settings\n"
          "rescan_interval = 60   # once a minute\n"
          "listen = [\"b:2\", \"c:3\"]  # where\n"
          "\n"
          "[folders.p]  # pictures\n"
          "path = \"/p\"\n");
    CHECK(set(text, "folders.p.path", "/pictures/Ü") ==
          "# my settings\n"
          "rescan_interval = 60   # once a minute\n"
          "listen = [\n"
          "  \"a:1\",\n"
          "]  # where\n"
          "\n"
          "[folders.p]  # pictures\n"
          "path = \"/pictures/Ü\"\n");
}

TEST_CASE("config edit: an unset key is added where it belongs", "[cli][config]") {
    // After its commented example, as `ferry init` writes them.
    const std::string initial = initial_config_text({});
    const std::string with_poll = set(initial, "watcher", "poll");
    CHECK_THAT(with_poll, Catch::Contains("# watcher = \"inotify\"\nwatcher = \"poll\"\n"));
    CHECK(with_poll.size() == initial.size() + std::string("watcher = \"poll\"\n").size());
    CHECK(parsed(with_poll).watcher == "poll");

    // Before the first table otherwise.
    const std::string text = "# top\n\n[folders.p]\npath = \"/p\"\n";
    CHECK(set(text, "log_level", "warn") ==
          "# top\n\nlog_level = \"warn\"\n[folders.p]\npath = \"/p\"\n");
    // At the end of a file without tables.
    CHECK(set("# only a comment", "max_send_rate", "100") ==
          "# only a comment\nmax_send_rate = 100\n");
    // A folder key after its table's header; a new folder at the end.
    CHECK(set(text, "folders.p.mode", "send-only") ==
          "# top\n\n[folders.p]\nmode = \"send-only\"\npath = \"/p\"\n");
    const std::string added = set(text, "folders.new.path", "/n");
    CHECK(added == "# top\n\n[folders.p]\npath = \"/p\"\n\n[folders.new]\npath = \"/n\"\n");
    CHECK(set(text, "folders.a.b.path", "/ab").ends_with("[folders.\"a.b\"]\npath = \"/ab\"\n"));
}

TEST_CASE("config edit: an edit whose result would not load is refused", "[cli][config]") {
    const std::string text = "[folders.p]\npath = \"/p\"\n";
    // Setting only a mode would make a folder without a path.
    auto mode_only = set_config_key(text, "ferry.toml", "folders.q.mode", "\"send-only\"");
    REQUIRE_FALSE(mode_only);
    CHECK_THAT(mode_only.error().why, Catch::Contains("folder q has no path"));
    // Nesting is refused too.
    auto nested = set_config_key(text, "ferry.toml", "folders.q.path", "\"/p/q\"");
    REQUIRE_FALSE(nested);
    CHECK_THAT(nested.error().why, Catch::Contains("inside folder p"));
    // A bad file cannot be edited: its line is reported instead.
    auto bad = set_config_key("speed = 1\n", "ferry.toml", "watcher", "\"poll\"");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().why == "ferry.toml:1: unknown key \"speed\"");
}

TEST_CASE("config edit: a folder's table is removed, the rest kept", "[cli][config]") {
    const std::string text =
        "watcher = \"poll\"\n"
        "\n"
        "[folders.a]\n"
        "path = \"/a\"\n"
        "mode = \"send-only\"\n"
        "\n"
        "# the b folder\n"
        "[folders.b]\n"
        "path = \"/b\"\n";
    auto without_a = remove_config_folder(text, "ferry.toml", "a");
    REQUIRE(without_a);
    CHECK(without_a->text ==
          "watcher = \"poll\"\n"
          "\n"
          "\n"
          "# the b folder\n"
          "[folders.b]\n"
          "path = \"/b\"\n");
    auto without_b = remove_config_folder(text, "ferry.toml", "b");
    REQUIRE(without_b);
    CHECK(without_b->text ==
          "watcher = \"poll\"\n"
          "\n"
          "[folders.a]\n"
          "path = \"/a\"\n"
          "mode = \"send-only\"\n"
          "\n"
          "# the b folder\n");
    CHECK(without_b->parsed.config.folders.count("b") == 0);
    CHECK_FALSE(remove_config_folder(text, "ferry.toml", "c"));
    // Written inline, it is not a table the editor can remove.
    auto inline_folder =
        remove_config_folder("folders.a = { path = \"/a\" }\n", "ferry.toml", "a");
    REQUIRE_FALSE(inline_folder);
    CHECK_THAT(inline_folder.error().hint, Catch::Contains("by hand"));
}

TEST_CASE("config edit: the initial text round-trips its folders", "[cli][config]") {
    const std::map<std::string, FolderConfig> folders{
        {"docs", {"/home/me/Documents", FolderMode::send_only}},
        {"odd.id", {"/srv/\"quoted\"", FolderMode::receive_only}}};
    const Config config = parsed(initial_config_text(folders));
    CHECK(config.folders == folders);
    auto removed = remove_config_folder(initial_config_text(folders), "ferry.toml", "docs");
    REQUIRE(removed);
    CHECK(removed->parsed.config.folders.size() == 1);
}

TEST_CASE("daemon options: --listen none and listen = [] mean no listener; forward interval",
          "[cli][config]") {
    RunFlags flags;
    CHECK(daemon_options(parsed("listen = []\n"), flags).listen.empty());
    CHECK(daemon_options(parsed(""), flags).listen == std::vector<std::string>{"0.0.0.0:22400"});
    flags.listen = "none";
    CHECK(daemon_options(parsed(""), flags).listen.empty());
    flags.listen = "127.0.0.1:0";
    CHECK(daemon_options(parsed("listen = []\n"), flags).listen ==
          std::vector<std::string>{"127.0.0.1:0"});
    CHECK(daemon_options(parsed("relay_forward_seconds = 3\n"), flags).relay_forward_interval ==
          std::chrono::seconds(3));
    CHECK(daemon_options(parsed(""), flags).relay_forward_interval == std::chrono::seconds(30));
}
