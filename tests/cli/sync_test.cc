// Sync between real `ferry run` daemons on 127.0.0.1: initial sync, every
// kind of change, conflicts, delete vs edit, send-only and receive-only,
// versions and restore.
#include <filesystem>
#include <regex>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <sys/time.h>

#include "cluster_util.hh"

using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

// A tree with nested directories, files of assorted sizes (empty to 300
// KiB), an empty directory, an executable and a symlink.
void write_tree(const std::string& root) {
    for (int i = 0; i < 40; ++i) {
        const std::string dir = i % 3 == 0 ? "" : "d" + std::to_string(i % 4) + "/";
        write_file(root + "/" + dir + "f" + std::to_string(i) + ".bin",
                   random_bytes(static_cast<std::size_t>(i * i * 200), 1000 + i));
    }
    write_file(root + "/deep/a/b/c/note.txt", "deep note\n");
    fs::create_directories(root + "/empty/inner");
    write_file(root + "/run.sh", "#!/bin/sh\necho hi\n");
    fs::permissions(root + "/run.sh", fs::perms(0755));
    fs::create_symlink("deep/a/b/c/note.txt", root + "/link");
}

// Sets a file's modification time to `seconds` after the epoch.
void set_mtime(const std::string& path, std::int64_t seconds) {
    const timeval times[2] = {{static_cast<time_t>(seconds), 0}, {static_cast<time_t>(seconds), 0}};
    REQUIRE(::utimes(path.c_str(), times) == 0);
}

std::vector<std::string> conflict_copies(const std::string& folder) {
    static const std::regex kName(R"(.*\.sync-conflict-\d{8}-\d{6}-[A-Z2-7]{7}.*)");
    std::vector<std::string> out;
    for (const auto& [path, digest] : tree_digest(folder)) {
        if (std::regex_match(path, kName)) out.push_back(path);
    }
    return out;
}

void require_converged(TestCluster& cluster) {
    REQUIRE(cluster.wait_converged());
}

}  // namespace

TEST_CASE("initial sync of a tree reaches every device", "[cli][daemon][sync]") {
    const int devices = GENERATE(2, 3);
    TestCluster cluster(devices);
    write_tree(cluster[0].folder);
    cluster.setup();
    require_converged(cluster);
    const auto tree = tree_digest(cluster[1].folder);
    CHECK(tree.at("run.sh").rfind("file 0755", 0) == 0);
    CHECK(tree.at("link") == "symlink deep/a/b/c/note.txt");
    CHECK(tree.count("empty/inner") == 1);
    CHECK(tree.size() == tree_digest(cluster[0].folder).size());

    const Run wait = cluster[0].ferry({"status", "--wait", "--timeout", "30", "--json"});
    INFO(wait.err);
    CHECK(wait.status == 0);
    const auto status = parse_json(wait.out);
    CHECK(status["in_sync"] == true);
    REQUIRE(status["folders"].size() == 1);
    CHECK(status["folders"][0]["id"] == "docs");
    CHECK(status["folders"][0]["need_files"] == 0);
    CHECK(status["folders"][0]["devices"].size() == static_cast<std::size_t>(devices - 1));
}

TEST_CASE("create, modify, delete, rename, mkdir, chmod and symlink propagate both ways",
          "[cli][daemon][sync]") {
    TestCluster cluster(2);
    write_tree(cluster[0].folder);
    cluster.setup();
    require_converged(cluster);

    for (std::size_t from : {0u, 1u}) {
        const TestDevice& d = cluster[from];
        const std::string tag = std::to_string(from);
        write_file(d.file("new" + tag + ".txt"), "created on " + tag);
        write_file(d.file("f1.bin"), "modified on " + tag);
        const std::string removed = from == 0 ? "d1/f5.bin" : "d1/f13.bin";
        REQUIRE(fs::remove(d.file(removed)));
        fs::rename(d.file(from == 0 ? "f3.bin" : "moved0.bin"), d.file("moved" + tag + ".bin"));
        fs::create_directories(d.file("made" + tag + "/sub"));
        fs::permissions(d.file("f6.bin"), fs::perms(from == 0 ? 0600 : 0640));
        fs::create_symlink("new" + tag + ".txt", d.file("link" + tag));
        cluster.scan(from);
        require_converged(cluster);
        const TestDevice& other = cluster[1 - from];
        CHECK(read_file(other.file("new" + tag + ".txt")) == "created on " + tag);
        CHECK(read_file(other.file("f1.bin")) == "modified on " + tag);
        CHECK(fs::is_directory(other.file("made" + tag + "/sub")));
        CHECK(fs::read_symlink(other.file("link" + tag)) == "new" + tag + ".txt");
        CHECK(!fs::exists(other.file(from == 0 ? "f3.bin" : "moved0.bin")));
        CHECK(!fs::exists(other.file(removed)));
        CHECK((fs::status(other.file("f6.bin")).permissions() & fs::perms::all) ==
              fs::perms(from == 0 ? 0600 : 0640));
    }
    // A directory rename is a rename on the other side too: same inode.
    struct stat before {};
    REQUIRE(::lstat(cluster[1].file("d1").c_str(), &before) == 0);
    fs::rename(cluster[0].file("d1"), cluster[0].file("renamed-d1"));
    cluster.scan(0);
    require_converged(cluster);
    struct stat after {};
    REQUIRE(::lstat(cluster[1].file("renamed-d1").c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK(!fs::exists(cluster[1].file("d1")));
    CHECK(conflict_copies(cluster[0].folder).empty());
}

TEST_CASE("concurrent edits end with one winner and one conflict copy on every device",
          "[cli][daemon][conflict]") {
    TestCluster cluster(3);
    write_file(cluster[0].folder + "/report.txt", "original\n");
    cluster.setup();
    require_converged(cluster);

    // Device 1 edits while its daemon is down, so neither side has seen the
    // other's version; device 1's edit is later, so it wins everywhere.
    REQUIRE(cluster[1].daemon->stop() == 0);
    write_file(cluster[0].file("report.txt"), "edit on dev0\n");
    set_mtime(cluster[0].file("report.txt"), 1'800'000'000);
    cluster.scan(0);
    REQUIRE(wait_until([&] { return read_file(cluster[2].file("report.txt")) == "edit on dev0\n"; },
                       30s));
    write_file(cluster[1].file("report.txt"), "edit on dev1\n");
    set_mtime(cluster[1].file("report.txt"), 1'800'000'100);
    cluster.scan(1);  // no daemon: indexes the edit locally
    cluster[1].start();
    require_converged(cluster);

    for (std::size_t i = 0; i < cluster.size(); ++i) {
        CHECK(read_file(cluster[i].file("report.txt")) == "edit on dev1\n");
        const auto copies = conflict_copies(cluster[i].folder);
        REQUIRE(copies.size() == 1);
        CHECK(copies[0].rfind("report.sync-conflict-20270115-", 0) == 0);
        CHECK(read_file(cluster[i].file(copies[0])) == "edit on dev0\n");
    }
    // The copies do not multiply once everything has settled.
    CHECK(cluster[0].ferry({"status", "--wait", "--timeout", "30"}).status == 0);
    cluster.scan(2);
    CHECK(cluster[2].ferry({"status", "--wait", "--timeout", "30"}).status == 0);
    require_converged(cluster);
    CHECK(conflict_copies(cluster[0].folder).size() == 1);
    const Run conflicts = cluster[0].ferry({"conflicts", "--json"});
    REQUIRE(conflicts.status == 0);
    const auto listed = parse_json(conflicts.out);
    REQUIRE(listed.size() == 1);
    CHECK(listed[0]["folder"] == "docs");
}

TEST_CASE("a delete concurrent with an edit keeps the edit", "[cli][daemon][conflict]") {
    TestCluster cluster(2);
    write_file(cluster[0].folder + "/plan.txt", "v1\n");
    cluster.setup();
    require_converged(cluster);

    REQUIRE(cluster[1].daemon->stop() == 0);
    fs::remove(cluster[0].file("plan.txt"));
    cluster.scan(0);
    write_file(cluster[1].file("plan.txt"), "v2, edited while the other side deleted it\n");
    cluster.scan(1);
    cluster[1].start();
    require_converged(cluster);
    CHECK(read_file(cluster[0].file("plan.txt")) == "v2, edited while the other side deleted it\n");
    CHECK(conflict_copies(cluster[0].folder).empty());
}

TEST_CASE("send-only and receive-only folders", "[cli][daemon][modes]") {
    TestCluster cluster(3);
    write_file(cluster[1].folder + "/x.txt", "from the send-only device\n");
    cluster.setup("docs", {"send-receive", "send-only", "receive-only"});
    require_converged(cluster);
    TestDevice& normal = cluster[0];
    TestDevice& sender = cluster[1];
    TestDevice& receiver = cluster[2];

    // The send-only device ignores remote changes, the receive-only takes them.
    write_file(normal.file("x.txt"), "changed on the send-receive device\n");
    cluster.scan(0);
    REQUIRE(wait_until(
        [&] { return read_file(receiver.file("x.txt")) == "changed on the send-receive device\n"; },
        30s));
    const bool flagged = wait_until(
        [&] {
            const Run s = sender.ferry({"status", "--json"});
            return s.status == 0 && parse_json(s.out)["folders"][0]["needs_override"] == true;
        },
        30s, 250ms);
    INFO(sender.daemon_log());
    CHECK(flagged);
    CHECK(read_file(sender.file("x.txt")) == "from the send-only device\n");

    // Override: every device takes the send-only device's version.
    const Run override_run = sender.ferry({"folder", "override", "docs"});
    INFO(override_run.err);
    REQUIRE(override_run.status == 0);
    require_converged(cluster);
    CHECK(read_file(normal.file("x.txt")) == "from the send-only device\n");

    // A receive-only device's local change is listed, never sent...
    write_file(receiver.file("x.txt"), "local change on the receive-only device\n");
    cluster.scan(2);
    const bool listed = wait_until(
        [&] {
            const Run s = receiver.ferry({"status", "--json"});
            if (s.status != 0) return false;
            const auto changes = parse_json(s.out)["folders"][0]["local_changes"];
            return std::find(changes.begin(), changes.end(), "x.txt") != changes.end();
        },
        30s, 250ms);
    INFO(receiver.daemon_log());
    CHECK(listed);
    CHECK(receiver.ferry({"status", "--wait", "--timeout", "20"}).status == 0);
    CHECK(read_file(normal.file("x.txt")) == "from the send-only device\n");
    // ...and revert puts the global version back.
    const Run revert = receiver.ferry({"folder", "revert", "docs"});
    INFO(revert.err);
    REQUIRE(revert.status == 0);
    REQUIRE(wait_until(
        [&] { return read_file(receiver.file("x.txt")) == "from the send-only device\n"; }, 30s));

    const Run wrong = normal.ferry({"folder", "override", "nope"});
    CHECK(wrong.status == 1);
    CHECK_THAT(wrong.err, Catch::Contains("no folder 'nope'"));
}

TEST_CASE("a replaced file is kept as a version and can be restored", "[cli][daemon][versions]") {
    TestCluster cluster(2);
    write_file(cluster[0].folder + "/notes.txt", "first version\n");
    cluster.setup();
    require_converged(cluster);

    write_file(cluster[0].file("notes.txt"), "second version\n");
    cluster.scan(0);
    require_converged(cluster);

    TestDevice& b = cluster[1];
    const Run versions = b.ferry({"versions", "docs:notes.txt", "--json"});
    INFO(versions.err);
    REQUIRE(versions.status == 0);
    const auto kept = parse_json(versions.out);
    REQUIRE(kept.size() == 1);
    CHECK(kept[0]["size"] == 14);
    CHECK(read_file(b.file(kept[0]["version_path"].get<std::string>())) == "first version\n");

    const Run too_early = b.ferry({"restore", b.file("notes.txt"), "--at", "2000-01-01"});
    CHECK(too_early.status == 1);
    CHECK_THAT(too_early.err, Catch::Contains("no version was kept at or before"));

    const Run restore = b.ferry({"restore", b.file("notes.txt")});
    INFO(restore.err);
    REQUIRE(restore.status == 0);
    CHECK(read_file(b.file("notes.txt")) == "first version\n");
    // The restore is a new local change: it reaches the other device.
    require_converged(cluster);
    CHECK(read_file(cluster[0].file("notes.txt")) == "first version\n");
}

TEST_CASE("a folder added on both devices while they are connected syncs on that connection",
          "[cli][daemon][reconfig]") {
    TestCluster cluster(2);
    cluster.setup();
    const auto connections = [&](std::size_t i) {
        const std::string log = cluster[i].daemon_log();
        std::size_t n = 0;
        for (auto at = log.find("connected to "); at != std::string::npos;
             at = log.find("connected to ", at + 1))
            ++n;
        return n;
    };
    const std::size_t before = connections(0);

    const std::string extra0 = cluster.root() + "/extra0";
    const std::string extra1 = cluster.root() + "/extra1";
    fs::create_directories(extra0);
    fs::create_directories(extra1);
    write_file(extra1 + "/from-1.txt", "added later\n");
    for (const auto& [i, path] : {std::pair<std::size_t, std::string>{1, extra1}, {0, extra0}}) {
        const Run add = cluster[i].ferry({"folder", "add", path, "--id", "extra"});
        INFO(add.err);
        REQUIRE(add.status == 0);
    }
    const bool arrived = wait_until([&] { return fs::exists(extra0 + "/from-1.txt"); }, 30s);
    INFO(cluster[0].daemon_log() << cluster[1].daemon_log());
    REQUIRE(arrived);
    CHECK(read_file(extra0 + "/from-1.txt") == "added later\n");
    CHECK(connections(0) == before);
}
