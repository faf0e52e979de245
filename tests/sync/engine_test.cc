// The sync engine between in-process devices linked in memory.
#include <filesystem>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// A tree with small and multi-chunk files, nested directories, an empty
// directory, a symlink and an executable.
void make_tree(const Node& node) {
    write_file(node.path("a.txt"), "alpha\n");
    write_file(node.path("dir/b.txt"), "bravo\n");
    write_file(node.path("dir/sub/c.bin"), random_bytes(700 * 1024, 1));
    write_file(node.path("run.sh"), "#!/bin/sh\n", 0755);
    std::filesystem::create_directories(node.path("empty/inner"));
    std::filesystem::create_symlink("dir/b.txt", node.path("link"));
}

}  // namespace

TEST_CASE("engine: initial sync of a tree between two devices", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    make_tree(a);
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(tree_of(b.root()) == tree_of(a.root()));
    CHECK(tree_of(b.root()).count("empty/inner") == 1);
    CHECK(tree_of(b.root())["link"] == "link:dir/b.txt");
    CHECK(tree_of(b.root())["run.sh"].rfind("file:493:", 0) == 0);
}

namespace {

std::uint64_t requests_sent(const PipeEnd& end) {
    auto it = end.counters().messages.find(wire::MessageType::request);
    return it == end.counters().messages.end() ? 0 : it->second;
}

std::vector<std::string> conflict_copies(const Node& node) {
    std::vector<std::string> out;
    for (const auto& [path, what] : tree_of(node.root()))
        if (path.find(".sync-conflict-") != std::string::npos) out.push_back(path);
    return out;
}

void set_mtime(const std::string& path, std::int64_t seconds) {
    std::filesystem::last_write_time(
        path, std::filesystem::file_time_type::clock::now() + std::chrono::seconds(seconds));
}

// Scans every node and waits until each has nothing left to do on its own.
bool scan_alone(TestCluster& cluster) {
    for (auto& node : cluster.nodes) node->engine->request_scan("");
    return cluster.run_until([&] {
        for (auto& node : cluster.nodes)
            if (node->folder_status().state != "idle") return false;
        return true;
    });
}

}  // namespace

TEST_CASE("engine: sync over real secure connections on an in-memory byte pipe", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    make_tree(a);
    const KeyPair user = KeyPair::generate();
    REQUIRE(cluster.link_secure(a, b, user));
    REQUIRE(cluster.settle());
    CHECK(tree_of(b.root()) == tree_of(a.root()));
    write_file(b.path("back.txt"), "over the secure channel\n");
    REQUIRE(cluster.settle());
    CHECK(read_file(a.path("back.txt")) == "over the secure channel\n");
}

TEST_CASE("engine: initial sync between three devices, passed on through the middle one",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    Node& c = cluster.add("c");
    make_tree(a);
    write_file(c.path("from-c.txt"), "charlie\n");
    cluster.link(a, b);
    cluster.link(b, c);  // a and c never meet
    REQUIRE(cluster.settle());
    CHECK(tree_of(c.root()) == tree_of(a.root()));
    CHECK(read_file(a.path("from-c.txt")) == "charlie\n");
}

TEST_CASE("engine: create, modify, delete, rename, mkdir, chmod and symlink propagate",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    make_tree(a);
    cluster.link(a, b);
    REQUIRE(cluster.settle());

    write_file(a.path("new/deep/file.txt"), "new file\n");
    write_file(a.path("a.txt"), "alpha, second version\n");
    std::filesystem::remove(a.path("dir/b.txt"));
    std::filesystem::rename(a.path("dir/sub/c.bin"), a.path("moved.bin"));
    std::filesystem::create_directories(a.path("made/empty"));
    ::chmod(a.path("run.sh").c_str(), 0700);
    std::filesystem::remove(a.path("link"));
    std::filesystem::create_symlink("a.txt", a.path("link"));
    std::filesystem::create_symlink("nowhere", a.path("dangling"));
    REQUIRE(cluster.settle());
    auto tree = tree_of(b.root());
    CHECK(tree == tree_of(a.root()));
    CHECK(tree.count("dir/b.txt") == 0);
    CHECK(tree.count("dir/sub/c.bin") == 0);
    CHECK(tree["moved.bin"] == "file:420:" + random_bytes(700 * 1024, 1));
    CHECK(tree["made/empty"] == "dir:493");
    CHECK(tree["run.sh"].rfind("file:448:", 0) == 0);
    CHECK(tree["link"] == "link:a.txt");
    CHECK(tree["dangling"] == "link:nowhere");

    // And back: b's changes reach a.
    write_file(b.path("from-b.txt"), "bravo\n");
    std::filesystem::remove_all(b.path("new"));
    REQUIRE(cluster.settle());
    CHECK(read_file(a.path("from-b.txt")) == "bravo\n");
    CHECK(!std::filesystem::exists(a.path("new")));
}

TEST_CASE("engine: a rename moves no chunk data", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("big.bin"), random_bytes(3 << 20, 7));
    auto [a_end, b_end] = cluster.link(a, b);
    REQUIRE(cluster.settle());
    const std::uint64_t before = requests_sent(*b_end);
    CHECK(before > 10);  // the first copy did come over the network
    std::filesystem::create_directories(a.path("elsewhere"));
    std::filesystem::rename(a.path("big.bin"), a.path("elsewhere/renamed.bin"));
    REQUIRE(cluster.settle());
    CHECK(requests_sent(*b_end) == before);
    CHECK(read_file(b.path("elsewhere/renamed.bin")) == random_bytes(3 << 20, 7));
    CHECK(!std::filesystem::exists(b.path("big.bin")));
}

namespace {

// a's photos/: a 1 MiB file, a small one, a symlink and an empty directory.
void make_photos(const Node& a) {
    write_file(a.path("photos/2024/x.bin"), random_bytes(1 << 20, 21));
    write_file(a.path("photos/notes.txt"), "notes\n");
    std::filesystem::create_symlink("notes.txt", a.path("photos/link"));
    std::filesystem::create_directories(a.path("photos/empty"));
}

// Two linked nodes in sync, a's photos/ on both.
struct PhotosCluster {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    PhotosCluster() {
        make_photos(a);
        cluster.link(a, b);
        REQUIRE(cluster.settle());
    }
};

ino_t inode_of(const std::string& path) {
    struct stat st {};
    REQUIRE(::lstat(path.c_str(), &st) == 0);
    return st.st_ino;
}

}  // namespace

TEST_CASE("engine: a renamed directory is renamed as one on the other device", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    make_photos(a);
    auto [a_end, b_end] = cluster.link(a, b);
    REQUIRE(cluster.settle());
    const ino_t dir_inode = inode_of(b.path("photos"));
    const ino_t file_inode = inode_of(b.path("photos/2024/x.bin"));
    const std::uint64_t before = requests_sent(*b_end);

    std::filesystem::rename(a.path("photos"), a.path("pictures"));
    ::chmod(a.path("pictures/notes.txt").c_str(), 0600);
    REQUIRE(cluster.settle());
    CHECK(tree_of(b.root()) == tree_of(a.root()));
    CHECK(!std::filesystem::exists(b.path("photos")));
    // The directory itself moved: same inode, nothing fetched.
    CHECK(inode_of(b.path("pictures")) == dir_inode);
    CHECK(inode_of(b.path("pictures/2024/x.bin")) == file_inode);
    CHECK(requests_sent(*b_end) == before);
    CHECK(tree_of(b.root())["pictures/notes.txt"] == "file:384:notes\n");
}

TEST_CASE("engine: a directory rename takes along what the receiver had not scanned yet",
          "[engine]") {
    PhotosCluster photos;
    TestCluster& cluster = photos.cluster;
    Node& a = photos.a;
    Node& b = photos.b;

    write_file(b.path("photos/new-on-b.txt"), "b's, not scanned\n");
    std::filesystem::rename(a.path("photos"), a.path("pictures"));
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return !std::filesystem::exists(b.path("photos")); }));
    CHECK(read_file(b.path("pictures/new-on-b.txt")) == "b's, not scanned\n");
    REQUIRE(cluster.settle());
    CHECK(read_file(a.path("pictures/new-on-b.txt")) == "b's, not scanned\n");
    CHECK(tree_of(b.root()) == tree_of(a.root()));
}

TEST_CASE("engine: a directory rename never overwrites an edit the receiver had not scanned",
          "[engine]") {
    PhotosCluster photos;
    TestCluster& cluster = photos.cluster;
    Node& a = photos.a;
    Node& b = photos.b;

    write_file(b.path("photos/notes.txt"), "edited on b, not scanned yet\n");
    std::filesystem::rename(a.path("photos"), a.path("pictures"));
    a.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(b.path("pictures/2024/x.bin")); }));
    REQUIRE(cluster.settle());
    // The edit was concurrent with a's move (a delete there): the edit stays.
    CHECK(read_file(b.path("photos/notes.txt")) == "edited on b, not scanned yet\n");
    CHECK(read_file(a.path("photos/notes.txt")) == "edited on b, not scanned yet\n");
    CHECK(read_file(b.path("pictures/notes.txt")) == "notes\n");
    CHECK(tree_of(b.root()) == tree_of(a.root()));
}

TEST_CASE("engine: a directory deleted on one device while a file in it is edited on another "
          "stays, with the edit", "[engine]") {
    PhotosCluster photos;
    TestCluster& cluster = photos.cluster;
    Node& a = photos.a;
    Node& b = photos.b;

    write_file(b.path("photos/2024/kept.txt"), "edited on b\n");
    b.engine->request_scan("");
    std::filesystem::remove_all(a.path("photos"));
    a.engine->request_scan("");
    REQUIRE(cluster.settle());
    const auto tree = tree_of(a.root());
    CHECK(tree == tree_of(b.root()));
    CHECK(read_file(a.path("photos/2024/kept.txt")) == "edited on b\n");
    CHECK(tree.count("photos/notes.txt") == 0);  // the rest of the delete holds
    CHECK(tree.count("photos/2024/x.bin") == 0);
}

TEST_CASE("engine: a directory replaced by a file while another device adds an entry stays, "
          "the file kept as a conflict copy", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("d/x.txt"), "x\n");
    {
        auto link = cluster.link(a, b);
        REQUIRE(cluster.settle());
        link.first->close("test: going offline");
    }
    std::filesystem::remove_all(a.path("d"));  // rm -r d; then a file d, newer
    write_file(a.path("d"), "a file on a\n");
    write_file(b.path("d/y.txt"), "added on b\n");  // unseen by a
    REQUIRE(scan_alone(cluster));
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    const auto tree = tree_of(a.root());
    CHECK(tree == tree_of(b.root()));
    CHECK(std::filesystem::is_directory(a.path("d")));
    CHECK(read_file(a.path("d/y.txt")) == "added on b\n");
    CHECK(tree.count("d/x.txt") == 0);  // a's delete of what it had seen holds
    const auto copies = conflict_copies(a);
    REQUIRE(copies.size() == 1);
    CHECK(copies[0].starts_with("d.sync-conflict-"));
    CHECK(read_file(a.path(copies[0])) == "a file on a\n");
    CHECK(a.folder_status().problems.empty());
    CHECK(b.folder_status().problems.empty());
}

TEST_CASE("engine: a file replaced by a directory while another device edits it keeps the edit",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("f"), "base\n");
    {
        auto link = cluster.link(a, b);
        REQUIRE(cluster.settle());
        link.first->close("test: going offline");
    }
    std::filesystem::remove(a.path("f"));  // rm f; mkdir f; f/z
    write_file(a.path("f/z.txt"), "z\n");
    write_file(b.path("f"), "edited on b\n");
    SECTION("the edit is the later one: it would win by its mtime") {
        set_mtime(b.path("f"), 100);
    }
    SECTION("the directory is the later one") {
        set_mtime(b.path("f"), -100);
        set_mtime(a.path("f"), 0);
    }
    REQUIRE(scan_alone(cluster));
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(tree_of(a.root()) == tree_of(b.root()));
    CHECK(read_file(b.path("f/z.txt")) == "z\n");
    const auto copies = conflict_copies(b);
    REQUIRE(copies.size() == 1);
    CHECK(read_file(b.path(copies[0])) == "edited on b\n");
}

TEST_CASE("engine: inserting 1 KiB sends a chunk-list delta and only the changed chunks",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    const std::string original = random_bytes(4 << 20, 9);
    write_file(a.path("big.bin"), original);
    auto [a_end, b_end] = cluster.link(a, b);
    REQUIRE(cluster.settle());

    bool sent_delta = false;
    bool sent_whole = false;
    a_end->on_send = [&](const wire::Message& message) {
        if (const auto* update = std::get_if<wire::IndexUpdate>(&message))
            for (const wire::WireRecord& record : update->records)
                if (record.record.path == "big.bin")
                    (record.delta ? sent_delta : sent_whole) = true;
    };
    const std::uint64_t before = requests_sent(*b_end);
    const std::string edited =
        original.substr(0, 2 << 20) + random_bytes(1024, 10) + original.substr(2 << 20);
    write_file(a.path("big.bin"), edited);
    REQUIRE(cluster.settle());
    CHECK(read_file(b.path("big.bin")) == edited);
    CHECK(sent_delta);
    CHECK(!sent_whole);
    CHECK(requests_sent(*b_end) - before <= 3);  // the one or two chunks around the insertion
}

TEST_CASE("engine: concurrent edits end with the same winner and one conflict copy everywhere",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("doc.txt"), "base\n");
    {
        auto link = cluster.link(a, b);
        REQUIRE(cluster.settle());
        link.first->close("test: going offline");
    }
    write_file(a.path("doc.txt"), "edited on a\n");
    set_mtime(a.path("doc.txt"), 100);  // a's edit is the later one: it wins
    write_file(b.path("doc.txt"), "edited on b\n");
    set_mtime(b.path("doc.txt"), 50);
    REQUIRE(scan_alone(cluster));
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(read_file(a.path("doc.txt")) == "edited on a\n");
    CHECK(read_file(b.path("doc.txt")) == "edited on a\n");
    const auto copies_a = conflict_copies(a);
    const auto copies_b = conflict_copies(b);
    REQUIRE(copies_a.size() == 1);
    CHECK(copies_b == copies_a);
    CHECK(read_file(a.path(copies_a[0])) == "edited on b\n");
    // Another round changes nothing: copies do not multiply.
    REQUIRE(cluster.settle());
    CHECK(conflict_copies(a).size() == 1);
    CHECK(conflict_copies(b).size() == 1);
}

TEST_CASE("engine: a delete concurrent with an edit keeps the edit", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(a.path("keep.txt"), "base\n");
    {
        auto link = cluster.link(a, b);
        REQUIRE(cluster.settle());
        link.first->close("test: going offline");
    }
    std::filesystem::remove(a.path("keep.txt"));
    write_file(b.path("keep.txt"), "edited on b\n");
    REQUIRE(scan_alone(cluster));
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(read_file(a.path("keep.txt")) == "edited on b\n");
    CHECK(conflict_copies(a).empty());
}

TEST_CASE("engine: a send-only folder ignores remote changes until overridden", "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a", FolderMode::send_only);
    Node& b = cluster.add("b");
    write_file(a.path("master.txt"), "from a\n");
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(read_file(b.path("master.txt")) == "from a\n");

    write_file(b.path("master.txt"), "changed on b\n");
    write_file(b.path("extra.txt"), "added on b\n");
    b.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return a.folder_status().needs_override; }));
    CHECK(read_file(a.path("master.txt")) == "from a\n");
    CHECK(!std::filesystem::exists(a.path("extra.txt")));
    CHECK(!a.engine->status().in_sync);

    REQUIRE(a.engine->override_folder(kFolderId));
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync() && cluster.trees_equal(); }));
    CHECK(read_file(b.path("master.txt")) == "from a\n");
    CHECK(!std::filesystem::exists(b.path("extra.txt")));
    CHECK(!a.folder_status().needs_override);
}

TEST_CASE("engine: a receive-only folder keeps local changes to itself until reverted",
          "[engine]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b", FolderMode::receive_only);
    write_file(a.path("shared.txt"), "from a\n");
    cluster.link(a, b);
    REQUIRE(cluster.settle());
    CHECK(read_file(b.path("shared.txt")) == "from a\n");

    write_file(b.path("shared.txt"), "local edit on b\n");
    write_file(b.path("local.txt"), "only on b\n");
    b.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return b.folder_status().local_changes.size() == 2; }));
    CHECK(read_file(a.path("shared.txt")) == "from a\n");
    CHECK(!std::filesystem::exists(a.path("local.txt")));

    REQUIRE(b.engine->revert_folder(kFolderId));
    REQUIRE(cluster.run_until([&] { return cluster.all_in_sync() && cluster.trees_equal(); }));
    CHECK(read_file(b.path("shared.txt")) == "from a\n");
    CHECK(!std::filesystem::exists(b.path("local.txt")));
    CHECK(b.folder_status().local_changes.empty());
}
