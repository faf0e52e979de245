// ferry.toml through the real binary: `ferry init` writes it, `ferry config
// get/set/list/reload` read and edit it, `ferry folder add/remove` keep it
// and the index in step, `ferry run` refuses a bad one, and SIGHUP rereads it.
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

#include "cluster_util.hh"

using namespace ferry::test;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void append_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << text;
    REQUIRE(out.good());
}

std::string config_path(const std::string& home) { return home + "/ferry.toml"; }

std::vector<std::string> folder_ids(const nlohmann::json& status) {
    std::vector<std::string> ids;
    for (const auto& folder : status["folders"]) ids.push_back(folder["id"].get<std::string>());
    return ids;
}

std::vector<std::string> running_folders(const TestDevice& device) {
    const Run run = device.ferry({"status", "--json"});
    if (run.status != 0) return {"(status failed)"};
    return folder_ids(parse_json(run.out));
}

bool has(const std::vector<std::string>& ids, const std::string& id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace

TEST_CASE("config: init writes the defaults, get/set/list read and edit them",
          "[cli][config]") {
    Sandbox box;
    box.init();
    const std::string file = config_path(box.home());
    const std::string initial = read_text(file);
    CHECK_THAT(initial, Catch::Contains("# rescan_interval = 60"));

    Run get = box.ferry({"config", "get", "rescan_interval"});
    CHECK(get.status == 0);
    CHECK(get.out == "60\n");

    Run set = box.ferry({"config", "set", "rescan_interval", "5"});
    INFO(set.err);
    CHECK(set.status == 0);
    CHECK_THAT(set.out, Catch::Contains("rescan_interval = 5"));
    CHECK_THAT(set.out, Catch::Contains("when `ferry run` starts"));
    const std::string edited = read_text(file);
    CHECK_THAT(edited, Catch::Contains("# rescan_interval = 60\nrescan_interval = 5\n"));
    CHECK(edited.size() == initial.size() + std::string("rescan_interval = 5\n").size());
    CHECK(box.ferry({"config", "get", "rescan_interval"}).out == "5\n");

    // A bad value is refused and the file is left as it was.
    Run bad = box.ferry({"config", "set", "rescan_interval", "abc"});
    CHECK(bad.status == 1);
    CHECK_THAT(bad.err, Catch::Contains("rescan_interval must be a whole number of seconds from "
                                        "1 to 86400, not \"abc\""));
    Run unknown = box.ferry({"config", "get", "speed"});
    CHECK(unknown.status == 1);
    CHECK_THAT(unknown.err, Catch::Contains("unknown key \"speed\""));
    CHECK(read_text(file) == edited);

    Run list = box.ferry({"config", "list"});
    CHECK(list.status == 0);
    CHECK_THAT(list.out, Catch::Contains("listen = [\"0.0.0.0:22400\"]\n"));
    CHECK_THAT(list.out, Catch::Contains("rescan_interval = 5\n"));
    CHECK_THAT(list.out, Catch::Contains("log_level = \"info\"\n"));
}

TEST_CASE("config: folder add and remove edit ferry.toml and the index", "[cli][config]") {
    Sandbox box;
    box.init();
    const std::string docs = box.add_folder("docs");
    const std::string text = read_text(config_path(box.home()));
    CHECK_THAT(text, Catch::Contains("[folders.docs]\n"));
    CHECK_THAT(text, Catch::Contains("path = \"" + docs + "\"\n"));
    CHECK(box.ferry({"config", "get", "folders.docs.path"}).out == docs + "\n");
    CHECK(box.ferry({"scan", "docs"}).status == 0);  // the index has it

    // A mode change through the file reaches the folder list.
    REQUIRE(box.ferry({"config", "set", "folders.docs.mode", "send-only"}).status == 0);
    const Run list = box.ferry({"folder", "list", "--json"});
    REQUIRE(list.status == 0);
    const auto folders = parse_json(list.out);
    REQUIRE(folders.size() == 1);
    CHECK(folders[0]["mode"] == "send-only");

    // A new path: the index follows it (and starts afresh).
    const std::string moved = box.path("data/moved");
    write_file(moved + "/only-here.txt", "in the new place\n");
    REQUIRE(box.ferry({"config", "set", "folders.docs.path", moved}).status == 0);
    REQUIRE(box.ferry({"scan", "docs"}).status == 0);
    const Run ls = box.ferry({"ls", "docs:only-here.txt"});
    INFO(ls.err);
    CHECK(ls.status == 0);

    const Run removed = box.ferry({"folder", "remove", "docs"});
    INFO(removed.err);
    CHECK(removed.status == 0);
    CHECK_THAT(read_text(config_path(box.home())), !Catch::Contains("[folders.docs]"));
    CHECK(box.ferry({"scan", "docs"}).status == 1);  // nor does the index
}

TEST_CASE("config: a home from an older ferry gets ferry.toml from its index",
          "[cli][config]") {
    Sandbox box;
    box.init();
    const std::string docs = box.add_folder("docs");
    std::filesystem::remove(config_path(box.home()));
    const Run list = box.ferry({"folder", "list"});
    CHECK(list.status == 0);
    CHECK_THAT(list.out, Catch::Contains(docs));
    CHECK_THAT(read_text(config_path(box.home())), Catch::Contains("path = \"" + docs + "\""));
}

TEST_CASE("config: the daemon refuses a bad file and changes nothing", "[cli][config]") {
    Sandbox box;
    box.init();
    box.add_folder("docs");
    const std::string file = config_path(box.home());
    // Dropping the folder would remove it from the index, but the file is bad.
    std::string text = read_text(file);
    text = text.substr(0, text.find("[folders.docs]")) + "watcher = \"fanotify\"\n";
    { std::ofstream(file, std::ios::binary | std::ios::trunc) << text; }
    const std::size_t bad_line =
        static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));

    DaemonProcess daemon(box.home(), box.path("daemon.log"), {"--listen", "127.0.0.1:0"});
    REQUIRE(wait_until([&] { return !daemon.running(); }, 20s));
    CHECK(daemon.stop() == 1);
    const std::string log = read_text(box.path("daemon.log"));
    CHECK_THAT(log, Catch::Contains(file + ":" + std::to_string(bad_line) +
                                    ": watcher must be \"inotify\" or \"poll\", not \"fanotify\""));
    CHECK_FALSE(std::filesystem::exists(box.home() + "/control.sock"));
    CHECK(box.ferry({"scan", "docs"}).status == 0);  // still in the index

    const Run reload = box.ferry({"config", "reload"});
    CHECK(reload.status == 1);
    CHECK_THAT(reload.err, Catch::Contains(file + ":" + std::to_string(bad_line) + ":"));
}

TEST_CASE("config: set and SIGHUP reload a running daemon; a bad file keeps the old one",
          "[cli][config][daemon]") {
    TestCluster cluster(1);
    TestDevice& a = cluster[0];
    REQUIRE(a.ferry({"init", "--name", "a"}).status == 0);
    // Listening as the file says (no --listen, which would override it).
    REQUIRE(a.ferry({"config", "set", "listen", "127.0.0.1:0"}).status == 0);
    a.daemon = std::make_unique<DaemonProcess>(a.home, a.log, std::vector<std::string>{});
    REQUIRE(wait_until(
        [&] {
            if (!a.daemon->running()) return true;
            return a.ferry({"status", "--json"}).out.find("\"listen\"") != std::string::npos;
        },
        20s));
    INFO(a.daemon_log());
    REQUIRE(a.daemon->running());
    const std::string file = config_path(a.home);

    // `ferry config set` tells the daemon through the control socket.
    const std::string added = cluster.root() + "/added";
    std::filesystem::create_directories(added);
    const Run set = a.ferry({"config", "set", "folders.added.path", added});
    INFO(set.err << a.daemon_log());
    REQUIRE(set.status == 0);
    CHECK_THAT(set.out, Catch::Contains("The running daemon applied it."));
    CHECK(has(running_folders(a), "added"));

    // Listen changes wait for the next start, and the daemon says so.
    const Run listen = a.ferry({"config", "set", "listen", "127.0.0.1:0, 127.0.0.1:0"});
    CHECK(listen.status == 0);
    CHECK_THAT(listen.out, Catch::Contains("listen takes effect when the daemon starts again"));

    // An edit by hand, applied on SIGHUP.
    const std::string by_hand = cluster.root() + "/by-hand";
    std::filesystem::create_directories(by_hand);
    append_text(file, "\n[folders.hup]\npath = \"" + by_hand + "\"\n");
    REQUIRE(::kill(a.daemon->pid(), SIGHUP) == 0);
    CHECK(wait_until([&] { return has(running_folders(a), "hup"); }, 20s));

    // A bad edit: logged with its line, the daemon keeps running as it was.
    append_text(file, "bogus = 1\n");
    const std::string text = read_text(file);
    const std::size_t bad_line =
        static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
    REQUIRE(::kill(a.daemon->pid(), SIGHUP) == 0);
    const std::string expected = file + ":" + std::to_string(bad_line) + ": unknown key \"bogus\"";
    CHECK(wait_until([&] { return a.daemon_log().find(expected) != std::string::npos; }, 20s));
    CHECK_THAT(a.daemon_log(), Catch::Contains("configuration not reloaded"));
    CHECK(a.daemon->running());
    const auto folders = running_folders(a);
    CHECK(has(folders, "added"));
    CHECK(has(folders, "hup"));
    CHECK(a.daemon->stop() == 0);
}
