// Versions on the in-memory and on a real filesystem: names (UTC time,
// extension, counter, long names), listing, pruning by the time in the
// name, restoring.
#include <algorithm>

#include "core/path_rules.hh"
#include "sync/versions.hh"
#include "writer_test_util.hh"

using namespace ferry;
using namespace ferry::test;

#define BOTH_FOLDERS MemoryFolder, PosixFolder

TEMPLATE_TEST_CASE("versions: keep renames into .ferry/versions with the UTC time in the name", "[versions]",
                   BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs);
    REQUIRE(fs.make_dir("dir", 0755));
    put(fs, "dir/report.txt", "first", 0640);
    const auto inode = fs.lstat("dir/report.txt")->inode;

    auto kept = versions.keep("dir/report.txt", kNow);
    REQUIRE(kept);
    CHECK(*kept == ".ferry/versions/dir/report~20261125-161747.txt");
    CHECK(!exists(fs, "dir/report.txt"));
    CHECK(read_all(fs, *kept) == "first");
    CHECK(fs.lstat(*kept)->inode == inode);  // a rename, not a copy
    CHECK(fs.lstat(*kept)->mode == 0640);

    // The same second again: a counter after the time.
    put(fs, "dir/report.txt", "second");
    CHECK(versions.keep("dir/report.txt", kNow + 1).value() == ".ferry/versions/dir/report~20261125-161747-1.txt");
    put(fs, "dir/report.txt", "third");
    CHECK(versions.keep("dir/report.txt", kNow).value() == ".ferry/versions/dir/report~20261125-161747-2.txt");

    struct Case {
        const char* path;
        std::int64_t now_ns;
        const char* expected;
    };
    const Case cases[] = {
        {".bashrc", kNow, ".ferry/versions/.bashrc~20261125-161747"},
        {"Makefile", kNow, ".ferry/versions/Makefile~20261125-161747"},
        {"archive.tar.gz", kNow, ".ferry/versions/archive.tar~20261125-161747.gz"},
        {"leap.txt", 1'709'251'199LL * kSecond + 999'999'999, ".ferry/versions/leap~20240229-235959.txt"},
        {"y2k", 946'684'800LL * kSecond, ".ferry/versions/y2k~20000101-000000"},
        {"early", -5 * kSecond, ".ferry/versions/early~19700101-000000"},  // clamped to the epoch
    };
    for (const Case& c : cases) {
        INFO(c.path);
        put(fs, c.path, "x");
        CHECK(versions.keep(c.path, c.now_ns).value() == c.expected);
    }
    // A symlink is kept as the link itself.
    REQUIRE(fs.make_symlink("/etc/passwd", "dir/link"));
    auto link = versions.keep("dir/link", kNow);
    REQUIRE(link);
    CHECK(fs.read_link(*link).value() == "/etc/passwd");
}

TEMPLATE_TEST_CASE("versions: what cannot be kept is refused", "[versions]", BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs);
    REQUIRE(fs.make_dir("d", 0755));
    CHECK(versions.keep("d", kNow).error().code == Errc::unsupported);
    CHECK(versions.keep("missing", kNow).error().code == Errc::not_found);
    put(fs, "f", "x");
    REQUIRE(versions.keep("f", kNow));
    for (const char* bad : {".ferry/versions/f~20261125-161747", "", "../f", "/etc/passwd", "d/.ferry-tmp.x.0123456789abcdef"}) {
        INFO(bad);
        auto r = versions.keep(bad, kNow);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::invalid_argument);
    }
    CHECK(exists(fs, ".ferry/versions/f~20261125-161747"));
}

TEMPLATE_TEST_CASE("versions: long names are shortened to fit and still listed", "[versions]", BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs);
    // 250 bytes with a two-byte character across the cut point (byte 230).
    std::string name = std::string(229, 'a') + "\xc3\xa9" + std::string(15, 'b') + ".txt";
    REQUIRE(name.size() == 250);
    put(fs, name, "long");
    auto kept = versions.keep(name, kNow);
    REQUIRE(kept);
    const std::string kept_name = kept->substr(kept->rfind('/') + 1);
    CHECK(kept_name.size() <= kMaxNameBytes);
    CHECK(kept_name == std::string(229, 'a') + "~20261125-161747.txt");
    CHECK(normalize_path(kept_name));  // valid UTF-8: never cut inside a character
    auto listed = versions.list(name);
    REQUIRE(listed);
    REQUIRE(listed->size() == 1);
    CHECK(listed->front().version_path == *kept);

    // An extension too long to keep apart stays in the stem.
    const std::string odd = "x." + std::string(200, 'e');
    put(fs, odd, "odd");
    auto kept_odd = versions.keep(odd, kNow);
    REQUIRE(kept_odd);
    CHECK(kept_odd->substr(kept_odd->rfind('/') + 1).size() <= kMaxNameBytes);
    CHECK(versions.list(odd).value().size() == 1);
}

TEMPLATE_TEST_CASE("versions: list gives a path's versions oldest first, and only them", "[versions]",
                   BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs);
    CHECK(versions.list("dir/report.txt").value().empty());  // no versions folder yet

    REQUIRE(fs.make_dir("dir", 0755));
    const std::int64_t times[] = {kNow, kNow - kDay, kNow + kDay, kNow};
    for (std::size_t i = 0; i < std::size(times); ++i) {
        put(fs, "dir/report.txt", std::string(i + 1, 'v'));
        REQUIRE(versions.keep("dir/report.txt", times[i]));
    }
    // Neighbours that must not be listed as versions of dir/report.txt.
    for (const char* other : {"dir/report2.txt", "dir/report.txt.bak", "dir/report", "report.txt"}) {
        put(fs, other, "other");
        REQUIRE(versions.keep(other, kNow));
    }
    put(fs, ".ferry/versions/dir/report~garbage.txt", "not a version name");

    auto listed = versions.list("dir/report.txt");
    REQUIRE(listed);
    REQUIRE(listed->size() == 4);
    CHECK((*listed)[0].kept_ns == (kNow - kDay) / kSecond * kSecond);
    CHECK((*listed)[0].size == 2);
    CHECK((*listed)[1].version_path == ".ferry/versions/dir/report~20261125-161747.txt");
    CHECK((*listed)[1].size == 1);
    CHECK((*listed)[2].version_path == ".ferry/versions/dir/report~20261125-161747-1.txt");
    CHECK((*listed)[2].size == 4);
    CHECK((*listed)[1].kept_ns == kNow / kSecond * kSecond);
    CHECK((*listed)[3].kept_ns == (kNow + kDay) / kSecond * kSecond);
    CHECK(versions.list("../x").error().code == Errc::invalid_argument);
}

TEMPLATE_TEST_CASE("versions: prune deletes what is older than the retention, by the name's time", "[versions]",
                   BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs, 7 * kDay);
    CHECK(versions.prune(kNow).value() == 0);  // nothing kept yet

    REQUIRE(fs.make_dir("a", 0755));
    REQUIRE(fs.make_dir("a/b", 0755));
    put(fs, "a/b/old.txt", "old");
    REQUIRE(versions.keep("a/b/old.txt", kNow - 8 * kDay));
    put(fs, "a/b/old.txt", "older still");
    REQUIRE(versions.keep("a/b/old.txt", kNow - 30 * kDay));
    put(fs, "a/recent.txt", "recent");
    REQUIRE(versions.keep("a/recent.txt", kNow - 6 * kDay));
    put(fs, "top", "top");
    REQUIRE(versions.keep("top", kNow - 9 * kDay));
    REQUIRE(fs.make_symlink("t", "a/link"));
    REQUIRE(versions.keep("a/link", kNow - 10 * kDay));
    put(fs, ".ferry/versions/notes-by-hand.txt", "not a version: left alone");
    // The file's own mtime says nothing: only the name's time counts.
    REQUIRE(fs.set_mtime(".ferry/versions/notes-by-hand.txt", 0));

    CHECK(versions.prune(kNow).value() == 4);
    CHECK(versions.list("a/b/old.txt").value().empty());
    CHECK(versions.list("top").value().empty());
    CHECK(versions.list("a/recent.txt").value().size() == 1);
    CHECK(exists(fs, ".ferry/versions/notes-by-hand.txt"));
    CHECK(!exists(fs, ".ferry/versions/a/b"));  // emptied directories go too
    CHECK(exists(fs, ".ferry/versions/a"));
    CHECK(versions.prune(kNow).value() == 0);
    CHECK(versions.prune(kNow + kDay).value() == 1);
    CHECK(!exists(fs, ".ferry/versions/a"));
    CHECK(exists(fs, ".ferry/versions"));
}

TEMPLATE_TEST_CASE("versions: restore brings a version back and keeps what was there", "[versions]",
                   BOTH_FOLDERS) {
    TestType t;
    Filesystem& fs = t.fs;
    Versions versions(fs);
    REQUIRE(fs.make_dir("dir", 0755));
    put(fs, "dir/f.txt", "the old content", 0600);
    REQUIRE(fs.set_mtime("dir/f.txt", 1'500'000'000'000'000'000));
    const std::string version = versions.keep("dir/f.txt", kNow - kDay).value();
    put(fs, "dir/f.txt", "the new content", 0644);

    REQUIRE(versions.restore(version, "dir/f.txt", kNow));
    CHECK(read_all(fs, "dir/f.txt") == "the old content");
    CHECK(fs.lstat("dir/f.txt")->mode == 0600);
    CHECK(fs.lstat("dir/f.txt")->mtime_ns == 1'500'000'000'000'000'000);
    CHECK(read_all(fs, version) == "the old content");  // the version stays
    auto listed = versions.list("dir/f.txt").value();
    REQUIRE(listed.size() == 2);
    CHECK(read_all(fs, listed[1].version_path) == "the new content");  // nothing lost
    CHECK(fs.list_dir("dir").value().size() == 1);  // no temporary file left

    // Into a directory that is gone: it is made again.
    REQUIRE(fs.remove("dir/f.txt"));
    REQUIRE(fs.remove("dir"));
    REQUIRE(versions.restore(version, "dir/f.txt", kNow));
    CHECK(read_all(fs, "dir/f.txt") == "the old content");

    // A symlink version comes back as a symlink.
    REQUIRE(fs.make_symlink("somewhere", "link"));
    const std::string link_version = versions.keep("link", kNow).value();
    REQUIRE(versions.restore(link_version, "link", kNow));
    CHECK(fs.read_link("link").value() == "somewhere");

    CHECK(versions.restore("dir/f.txt", "x", kNow).error().code == Errc::invalid_argument);
    CHECK(versions.restore(".ferry/versions/nope", "x", kNow).error().code == Errc::not_found);
    CHECK(versions.restore(version, ".ferry/x", kNow).error().code == Errc::invalid_argument);
    REQUIRE(fs.make_dir("adir", 0755));
    CHECK(versions.restore(version, "adir", kNow).error().code == Errc::already_exists);
    CHECK(exists(fs, "adir"));
}
