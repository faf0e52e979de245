// The same behaviour checked on every Filesystem: the real one (with openat2
// and with the portable component walk) on a temporary folder, and the
// in-memory one. Then what only one of them can show, and the fault wrapper.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <map>

#include "fs/fault_filesystem.hh"
#include "fs/memory_filesystem.hh"
#include "fs/posix_filesystem.hh"
#include "temp_dir.hh"

using namespace ferry;
using ferry::test::TempDir;

namespace {

std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

std::string read_all(Filesystem& fs, std::string_view path) {
    auto file = fs.open_read(path);
    REQUIRE(file);
    std::string out;
    std::vector<std::uint8_t> buf(7);  // small, to exercise offsets
    while (true) {
        auto n = (*file)->read_at(out.size(), buf);
        REQUIRE(n);
        if (*n == 0) return out;
        out.append(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
}

void write(Filesystem& fs, std::string_view path, std::string_view content, std::uint32_t mode = 0644) {
    REQUIRE(write_whole_file(fs, path, bytes(content), mode));
}

struct MemoryFixture {
    MemoryFilesystem fs;
    Result<void> make_special(const std::string& path) { return fs.make_special(path); }
};

struct PosixFixture {
    TempDir dir;
    PosixFilesystem fs{dir.path()};
    Result<void> make_special(const std::string& path) {
        if (::mkfifo((dir / path).c_str(), 0644) != 0) return fail(Errc::io, "mkfifo");
        return {};
    }
};

struct PosixWalkFixture {
    TempDir dir;
    PosixFilesystem fs{dir.path(), PosixFilesystem::Resolve::walk};
    Result<void> make_special(const std::string& path) {
        if (::mkfifo((dir / path).c_str(), 0644) != 0) return fail(Errc::io, "mkfifo");
        return {};
    }
};

}  // namespace

#define ALL_FILESYSTEMS MemoryFixture, PosixFixture, PosixWalkFixture

TEMPLATE_TEST_CASE("filesystem: write, read back, stat", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    REQUIRE(fs.make_dir("d", 0750));
    write(fs, "d/f", "hello, ferry", 0640);

    CHECK(read_all(fs, "d/f") == "hello, ferry");
    auto st = fs.lstat("d/f");
    REQUIRE(st);
    CHECK(st->kind == EntryKind::file);
    CHECK(st->size == 12);
    CHECK(st->mode == 0640);  // exactly, whatever the umask
    CHECK(st->inode != 0);
    auto dir = fs.lstat("d");
    REQUIRE(dir);
    CHECK(dir->kind == EntryKind::directory);
    CHECK(dir->mode == 0750);
    CHECK(dir->inode != st->inode);
    auto root = fs.lstat("");
    REQUIRE(root);
    CHECK(root->kind == EntryKind::directory);

    // The open file's stat is the file's.
    auto file = fs.open_read("d/f");
    REQUIRE(file);
    auto fst = (*file)->stat();
    REQUIRE(fst);
    CHECK(fst->inode == st->inode);
    CHECK(fst->size == 12);
}

TEMPLATE_TEST_CASE("filesystem: nanosecond mtimes and modes are set exactly", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    write(fs, "f", "x");
    REQUIRE(fs.make_dir("d", 0755));
    const std::int64_t when = 1'700'000'000'123'456'789;
    REQUIRE(fs.set_mtime("f", when));
    REQUIRE(fs.set_mtime("d", when + 1));
    REQUIRE(fs.set_mode("f", 0600));
    CHECK(fs.lstat("f")->mtime_ns == when);
    CHECK(fs.lstat("d")->mtime_ns == when + 1);
    CHECK(fs.lstat("f")->mode == 0600);
    // Before the epoch too.
    REQUIRE(fs.set_mtime("f", -1'500'000'000));
    CHECK(fs.lstat("f")->mtime_ns == -1'500'000'000);
}

TEMPLATE_TEST_CASE("filesystem: an open file's mode, mtime and stat", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    auto file = fs.open_update("f", 0600);
    REQUIRE(file);
    REQUIRE((*file)->write_at(0, bytes("12345")));
    const std::int64_t when = 1'700'000'000'123'456'789;
    REQUIRE((*file)->set_mode(0751));
    REQUIRE((*file)->set_mtime(when));
    auto st = (*file)->stat();
    REQUIRE(st);
    CHECK(st->kind == EntryKind::file);
    CHECK(st->size == 5);
    CHECK(st->mode == 0751);
    CHECK(st->mtime_ns == when);
    // The file, not its name: renamed, the open file still sets and tells.
    REQUIRE(fs.rename("f", "g"));
    REQUIRE((*file)->set_mtime(-1'500'000'000));
    CHECK((*file)->stat()->inode == fs.lstat("g")->inode);
    CHECK(fs.lstat("g")->mtime_ns == -1'500'000'000);
    CHECK(fs.lstat("g")->mode == 0751);
}

TEMPLATE_TEST_CASE("filesystem: write_at, truncate, sync and overwrite", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    auto file = fs.open_write("f", 0644);
    REQUIRE(file);
    REQUIRE((*file)->write_at(4, bytes("tail")));
    REQUIRE((*file)->write_at(0, bytes("head")));
    REQUIRE((*file)->sync());
    CHECK(read_all(fs, "f") == "headtail");
    REQUIRE((*file)->truncate(6));
    CHECK(read_all(fs, "f") == "headta");
    file->reset();
    // open_write truncates an existing file.
    write(fs, "f", "new", 0600);
    CHECK(read_all(fs, "f") == "new");
    CHECK(fs.lstat("f")->mode == 0600);
    REQUIRE(fs.sync_dir(""));
}

TEMPLATE_TEST_CASE("filesystem: sync_paths takes files and directories, and names a missing one",
                   "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    REQUIRE(fs.make_dir("d", 0755));
    write(fs, "d/f", "data", 0644);
    write(fs, "top", "more", 0644);
    CHECK(fs.sync_paths(std::vector<std::string>{}));
    write(fs, "d/g", "again", 0644);
    REQUIRE(fs.sync_paths(std::vector<std::string>{"d/f", "top", "d", "d/g"}));
    CHECK(read_all(fs, "d/f") == "data");
    auto missing = fs.sync_paths(std::vector<std::string>{"top", "d/f", "d/gone"});
    REQUIRE(!missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK_THAT(missing.error().message, Catch::Contains("d/gone"));
    CHECK(fs.sync_paths(std::vector<std::string>{"../x"}).error().code == Errc::invalid_argument);
}

TEMPLATE_TEST_CASE("filesystem: open_update keeps what is there and creates what is not", "[fs]",
                   ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    write(fs, "f", "0123456789", 0644);
    {
        auto file = fs.open_update("f", 0600);
        REQUIRE(file);
        REQUIRE((*file)->write_at(2, bytes("ab")));
        REQUIRE((*file)->write_at(12, bytes("z")));  // past the end: a hole of zeros
        REQUIRE((*file)->sync());
    }
    CHECK(read_all(fs, "f") == std::string("01ab456789\0\0z", 13));
    CHECK(fs.lstat("f")->mode == 0600);  // exactly `mode`, also for a file that existed

    auto created = fs.open_update("new", 0640);
    REQUIRE(created);
    created->reset();
    CHECK(fs.lstat("new")->size == 0);
    CHECK(fs.lstat("new")->mode == 0640);

    REQUIRE(fs.make_dir("d", 0755));
    REQUIRE(t.make_special("fifo"));
    CHECK(fs.open_update("d", 0644).error().code == Errc::unsupported);
    CHECK(!fs.open_update("fifo", 0644));  // refused, and without hanging
    CHECK(!fs.open_write("fifo", 0644));
    CHECK(fs.open_update("missing/f", 0644).error().code == Errc::not_found);
}

TEMPLATE_TEST_CASE("filesystem: list_dir and scan_dir see every kind without following links", "[fs]",
                   ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    REQUIRE(fs.make_dir("d", 0755));
    write(fs, "d/file", "12345");
    REQUIRE(fs.make_dir("d/sub", 0700));
    REQUIRE(fs.make_symlink("../elsewhere", "d/link"));
    REQUIRE(t.make_special("d/fifo"));

    auto names = fs.list_dir("d");
    REQUIRE(names);
    std::vector<std::string> sorted;
    for (const auto& e : *names) sorted.push_back(e.name);
    std::sort(sorted.begin(), sorted.end());
    CHECK(sorted == std::vector<std::string>{"fifo", "file", "link", "sub"});

    auto entries = fs.scan_dir("d");
    REQUIRE(entries);
    std::map<std::string, FileStat> by_name;
    for (const auto& e : *entries) {
        REQUIRE(e.stat);
        by_name[e.name] = *e.stat;
    }
    REQUIRE(by_name.size() == 4);
    CHECK(by_name["file"].kind == EntryKind::file);
    CHECK(by_name["file"].size == 5);
    CHECK(by_name["file"].inode == fs.lstat("d/file")->inode);
    CHECK(by_name["sub"].kind == EntryKind::directory);
    CHECK(by_name["sub"].mode == 0700);
    CHECK(by_name["link"].kind == EntryKind::symlink);
    CHECK(by_name["link"].size == std::string("../elsewhere").size());
    CHECK(by_name["fifo"].kind == EntryKind::special);
    CHECK(fs.read_link("d/link").value() == "../elsewhere");

    // Reading a special file is refused at once (a FIFO would block).
    auto fifo = fs.open_read("d/fifo");
    REQUIRE(!fifo);
    CHECK(fifo.error().code == Errc::unsupported);
    auto root = fs.scan_dir("");
    REQUIRE(root);
    CHECK(root->size() == 1);
}

TEMPLATE_TEST_CASE("filesystem: a path through a symlink is refused", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    REQUIRE(fs.make_dir("real", 0755));
    write(fs, "real/secret", "s");
    REQUIRE(fs.make_symlink("real", "link"));
    REQUIRE(fs.make_symlink("/etc", "escape"));

    auto expect_symlink_refusal = [](const auto& result) {
        REQUIRE(!result);
        CHECK(result.error().code == Errc::invalid_argument);
        CHECK_THAT(result.error().message, Catch::Contains("symlink"));
    };
    expect_symlink_refusal(fs.lstat("link/secret"));
    expect_symlink_refusal(fs.open_read("link/secret"));
    expect_symlink_refusal(fs.open_read("link"));  // the final component too
    expect_symlink_refusal(fs.scan_dir("link"));
    expect_symlink_refusal(fs.list_dir("escape"));
    expect_symlink_refusal(fs.lstat("escape/passwd"));
    expect_symlink_refusal(fs.open_write("link/planted", 0644));
    expect_symlink_refusal(fs.make_dir("link/newdir", 0755));
    expect_symlink_refusal(fs.make_symlink("x", "link/newlink"));
    expect_symlink_refusal(fs.remove("link/secret"));
    expect_symlink_refusal(fs.rename("real/secret", "link/moved"));
    expect_symlink_refusal(fs.set_mtime("link/secret", 0));
    expect_symlink_refusal(fs.open_write("link", 0644));
    expect_symlink_refusal(fs.open_update("link/secret", 0644));
    expect_symlink_refusal(fs.open_update("link", 0644));
    expect_symlink_refusal(fs.rename("link/secret", "real/moved"));
    expect_symlink_refusal(fs.set_mode("link/secret", 0600));
    expect_symlink_refusal(fs.sync_dir("link"));
    expect_symlink_refusal(fs.sync_paths(std::vector<std::string>{"link/secret"}));

    // Nothing was written through the link; the link itself can be handled.
    auto entries = fs.list_dir("real");
    REQUIRE(entries);
    CHECK(entries->size() == 1);
    CHECK(fs.lstat("link")->kind == EntryKind::symlink);
    REQUIRE(fs.remove("link"));
    CHECK(fs.lstat("real/secret"));
}

TEMPLATE_TEST_CASE("filesystem: error codes and messages", "[fs]", ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    write(fs, "file", "x");
    REQUIRE(fs.make_dir("dir", 0755));
    write(fs, "dir/inner", "y");

    auto missing = fs.lstat("nope/deeper");
    REQUIRE(!missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK_THAT(missing.error().message, Catch::Contains("nope/deeper") && Catch::Contains("cannot stat"));
    CHECK(fs.open_read("nope").error().code == Errc::not_found);
    CHECK(fs.lstat("file/below").error().code == Errc::not_found);  // parent is not a directory
    CHECK(fs.scan_dir("file").error().code == Errc::not_found);
    CHECK(fs.make_dir("dir", 0755).error().code == Errc::already_exists);
    CHECK(fs.make_symlink("t", "file").error().code == Errc::already_exists);
    CHECK(fs.open_read("dir").error().code == Errc::unsupported);
    CHECK(fs.read_link("file").error().code == Errc::invalid_argument);
    auto nonempty = fs.remove("dir");
    REQUIRE(!nonempty);
    CHECK_THAT(nonempty.error().message, Catch::Contains("dir: cannot remove"));
    CHECK(fs.set_mode("nope", 0644).error().code == Errc::not_found);
    for (const char* bad : {"../x", "/etc/passwd", "a//b", "a/./b", "a/", ".", ".."}) {
        INFO(bad);
        CHECK(fs.lstat(bad).error().code == Errc::invalid_argument);
        CHECK(fs.open_write(bad, 0644).error().code == Errc::invalid_argument);
        CHECK(fs.rename("file", bad).error().code == Errc::invalid_argument);
    }
    CHECK(fs.lstat("file"));  // still where it was
}

TEMPLATE_TEST_CASE("filesystem: remove, rename, and open files outlive their names", "[fs]",
                   ALL_FILESYSTEMS) {
    TestType t;
    Filesystem& fs = t.fs;
    write(fs, "a", "first");
    write(fs, "b", "second");
    auto open_a = fs.open_read("a");
    REQUIRE(open_a);
    const auto inode_b = fs.lstat("b")->inode;

    REQUIRE(fs.rename("b", "a"));  // replaces a
    CHECK(fs.lstat("b").error().code == Errc::not_found);
    CHECK(read_all(fs, "a") == "second");
    CHECK(fs.lstat("a")->inode == inode_b);
    std::vector<std::uint8_t> buf(16);
    CHECK((*open_a)->read_at(0, buf).value() == 5);  // the replaced file is still readable
    CHECK(std::string(buf.begin(), buf.begin() + 5) == "first");

    REQUIRE(fs.make_dir("d", 0755));
    REQUIRE(fs.make_dir("d/e", 0755));
    REQUIRE(fs.rename("a", "d/e/moved"));
    CHECK(read_all(fs, "d/e/moved") == "second");
    write(fs, "d/e/over", "third");
    REQUIRE(fs.rename("d/e/over", "d/e/moved"));  // within one directory
    CHECK(read_all(fs, "d/e/moved") == "third");
    CHECK(fs.lstat("d/e/over").error().code == Errc::not_found);
    CHECK(!fs.rename("d", "d/e/inside"));  // not below itself
    CHECK(fs.rename("d/e/moved", "d").error().code != Errc::invalid_argument);  // file over dir
    REQUIRE(fs.make_symlink("target", "d/l"));
    REQUIRE(fs.remove("d/l"));
    REQUIRE(fs.remove("d/e/moved"));
    REQUIRE(fs.remove("d/e"));
    REQUIRE(fs.remove("d"));
    CHECK(fs.list_dir("")->empty());
}

TEST_CASE("posix filesystem: an unreadable directory is permission_denied", "[fs]") {
    if (::geteuid() == 0) SUCCEED("root reads everything: checked with FaultInjectingFilesystem instead");
    else {
        TempDir dir;
        PosixFilesystem fs(dir.path());
        REQUIRE(fs.make_dir("locked", 0755));
        write(fs, "locked/f", "x");
        REQUIRE(fs.set_mode("locked", 0));
        auto r = fs.scan_dir("locked");
        REQUIRE(!r);
        CHECK(r.error().code == Errc::permission_denied);
        CHECK(fs.open_read("locked/f").error().code == Errc::permission_denied);
        REQUIRE(fs.set_mode("locked", 0755));
    }
}

TEST_CASE("posix filesystem: the root is named in errors and a deleted root is not empty", "[fs]") {
    PosixFilesystem missing("/tmp/ferry-no-such-folder-for-tests");
    auto r = missing.scan_dir("");
    REQUIRE(!r);
    CHECK(r.error().code == Errc::not_found);
    CHECK_THAT(r.error().message, Catch::StartsWith("/tmp/ferry-no-such-folder-for-tests: cannot open the folder"));

    TempDir parent;
    const std::string root = parent / "folder";
    REQUIRE(::mkdir(root.c_str(), 0755) == 0);
    PosixFilesystem fs(root + "/");  // a trailing slash is fine
    write(fs, "f", "x");
    REQUIRE(fs.scan_dir("")->size() == 1);
    REQUIRE(fs.remove("f"));
    REQUIRE(::rmdir(root.c_str()) == 0);
    auto gone = fs.scan_dir("");
    REQUIRE(!gone);
    CHECK(gone.error().code == Errc::not_found);
    CHECK_THAT(gone.error().message, Catch::Contains("deleted"));
}

TEST_CASE("posix filesystem: files written outside ferry are seen as they are", "[fs]") {
    TempDir dir;
    PosixFilesystem fs(dir.path());
    std::ofstream(dir / "plain.txt") << "from outside";
    CHECK(read_all(fs, "plain.txt") == "from outside");
    struct stat st;
    REQUIRE(::lstat((dir / "plain.txt").c_str(), &st) == 0);
    auto ours = fs.lstat("plain.txt");
    REQUIRE(ours);
    CHECK(ours->inode == st.st_ino);
    CHECK(ours->mtime_ns == st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec);
}

TEST_CASE("memory filesystem: append and contents helpers change mtime every time", "[fs]") {
    MemoryFilesystem fs;
    write(fs, "f", "abc");
    const auto before = fs.lstat("f").value();
    REQUIRE(fs.append("f", bytes("def")));
    const auto after = fs.lstat("f").value();
    CHECK(fs.contents("f").value() == "abcdef");
    CHECK(after.size == 6);
    CHECK(after.mtime_ns > before.mtime_ns);
    CHECK(after.inode == before.inode);
    CHECK(!fs.append("missing", bytes("x")));
}

TEST_CASE("fault filesystem: forwards, counts, fails on request, runs hooks", "[fs]") {
    MemoryFilesystem inner;
    write(inner, "a", "data");
    REQUIRE(inner.make_dir("d", 0755));
    write(inner, "d/x", "1");
    write(inner, "d/y", "2");
    FaultInjectingFilesystem fs(inner);

    fs.fail_next(FsOp::open_read, "a", Errc::permission_denied);
    auto first = fs.open_read("a");
    REQUIRE(!first);
    CHECK(first.error().code == Errc::permission_denied);
    CHECK_THAT(first.error().message, Catch::Contains("a: injected failure"));
    CHECK(read_all(fs, "a") == "data");  // only the next call failed
    CHECK(fs.count(FsOp::open_read) == 2);
    CHECK(fs.count(FsOp::read) >= 1);

    fs.fail_always(FsOp::scan_dir, "d", Errc::io);
    CHECK(fs.scan_dir("d").error().code == Errc::io);
    CHECK(fs.scan_dir("d").error().code == Errc::io);
    CHECK(fs.list_dir("d"));  // other operations pass
    fs.clear();

    // One entry of a listing fails; the others are fine.
    fs.fail_next(FsOp::lstat, "d/y", Errc::permission_denied);
    auto entries = fs.scan_dir("d");
    REQUIRE(entries);
    REQUIRE(entries->size() == 2);
    for (const auto& e : *entries) CHECK(static_cast<bool>(e.stat) == (e.name == "x"));

    // A hook may change the inner filesystem before the operation runs.
    fs.set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::read && path == "a") return inner.append("a", bytes("+more"));
        return {};
    });
    auto file = fs.open_read("a");
    REQUIRE(file);
    std::vector<std::uint8_t> buf(64);
    CHECK((*file)->read_at(0, buf).value() == 9);
    fs.set_hook(nullptr);
    CHECK(inner.contents("a").value() == "data+more");

    // Writes, truncations and syncs of open files are hook points too.
    fs.fail_next(FsOp::write, "w", Errc::no_space);
    fs.fail_next(FsOp::sync, "w", Errc::io);
    auto w = fs.open_update("w", 0644);
    REQUIRE(w);
    CHECK((*w)->write_at(0, bytes("lost")).error().code == Errc::no_space);
    REQUIRE((*w)->write_at(0, bytes("kept")));
    CHECK((*w)->sync().error().code == Errc::io);
    REQUIRE((*w)->sync());
    fs.fail_next(FsOp::write, "w", Errc::no_space);
    CHECK((*w)->truncate(0).error().code == Errc::no_space);
    CHECK(inner.contents("w").value() == "kept");
    CHECK(fs.count(FsOp::open_update) == 1);
    CHECK(fs.count(FsOp::write) == 3);
    CHECK(fs.count(FsOp::sync) == 2);
    fs.fail_next(FsOp::set_mode, "w", Errc::permission_denied);
    fs.fail_next(FsOp::set_mtime, "w", Errc::permission_denied);
    CHECK((*w)->set_mode(0600).error().code == Errc::permission_denied);
    CHECK((*w)->set_mtime(5).error().code == Errc::permission_denied);
    REQUIRE((*w)->set_mtime(5));
    CHECK((*w)->stat()->mtime_ns == 5);
    auto o = fs.open_write("w", 0644);  // truncates, and its file is wrapped too
    REQUIRE(o);
    fs.fail_next(FsOp::write, "w", Errc::no_space);
    CHECK(!(*o)->write_at(0, bytes("x")));
    CHECK(inner.contents("w").value().empty());

    // sync_paths asks once per path: a rule on any path fails the call.
    fs.fail_next(FsOp::sync_paths, "w", Errc::io);
    CHECK(fs.sync_paths(std::vector<std::string>{"a", "w"}).error().code == Errc::io);
    REQUIRE(fs.sync_paths(std::vector<std::string>{"a", "w"}));
    CHECK(fs.count(FsOp::sync_paths) == 4);
}
