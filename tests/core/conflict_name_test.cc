#include "core/conflict_name.hh"

#include <string>

#include <catch2/catch.hpp>

#include "core/path_rules.hh"
#include "core/utf8.hh"

using namespace ferry;

namespace {

// The device of proto/identity.md's vector: its id starts "DKCHJ56".
constexpr ShortId kVectorDevice{0x1a8474f7c7550209};
// 2025-11-25 16:14:56.123456789 UTC.
constexpr std::int64_t kMtime = 1764087296'123456789;

std::string last_component(const std::string& path) {
    return path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
}

}  // namespace

TEST_CASE("conflict name: golden examples", "[conflict_name]") {
    CHECK(conflict_copy_path("dir/report.txt", kMtime, kVectorDevice) ==
          "dir/report.sync-conflict-20251125-161456-DKCHJ56.txt");
    CHECK(conflict_copy_path("report.txt", kMtime, kVectorDevice) ==
          "report.sync-conflict-20251125-161456-DKCHJ56.txt");
    CHECK(conflict_copy_path("a/b/c/archive.tar.gz", kMtime, kVectorDevice) ==
          "a/b/c/archive.tar.sync-conflict-20251125-161456-DKCHJ56.gz");
    // No extension; dotfiles keep the suffix at the end.
    CHECK(conflict_copy_path("Makefile", kMtime, kVectorDevice) ==
          "Makefile.sync-conflict-20251125-161456-DKCHJ56");
    CHECK(conflict_copy_path("home/.bashrc", kMtime, kVectorDevice) ==
          "home/.bashrc.sync-conflict-20251125-161456-DKCHJ56");
    CHECK(conflict_copy_path(".config.json", kMtime, kVectorDevice) ==
          ".config.json.sync-conflict-20251125-161456-DKCHJ56");
    // A dot in a directory name is not an extension.
    CHECK(conflict_copy_path("v1.2/notes", kMtime, kVectorDevice) ==
          "v1.2/notes.sync-conflict-20251125-161456-DKCHJ56");
    CHECK(conflict_copy_path("trailing.", kMtime, kVectorDevice) ==
          "trailing.sync-conflict-20251125-161456-DKCHJ56.");
}

TEST_CASE("conflict name: UTC date arithmetic, before and after the epoch", "[conflict_name]") {
    const auto suffix = [](std::int64_t ns) {
        const std::string p = conflict_copy_path("f", ns, ShortId{0});
        return p.substr(p.find("conflict-") + 9, 15);
    };
    CHECK(suffix(0) == "19700101-000000");
    CHECK(suffix(-1) == "19691231-235959");
    CHECK(suffix(999'999'999) == "19700101-000000");
    CHECK(suffix(1709251199'000000000) == "20240229-235959");  // a leap day
    CHECK(suffix(1709251200'000000000) == "20240301-000000");
    CHECK(suffix(946684800'000000000) == "20000101-000000");
    CHECK(suffix(INT64_MAX) == "22620411-234716");
    CHECK(suffix(INT64_MIN) == "16770921-001243");  // floor, not truncation
}

TEST_CASE("conflict name: the id is the short id's top 35 bits in base32", "[conflict_name]") {
    const auto id = [](std::uint64_t v) {
        const std::string p = conflict_copy_path("f", 0, ShortId{v});
        return p.substr(p.size() - 7);
    };
    CHECK(id(0) == "AAAAAAA");
    CHECK(id(~std::uint64_t{0}) == "7777777");
    CHECK(id(0x0123456789abcdef) == "AERUKZ4");
    CHECK(id(0x1a8474f7c7550209) == "DKCHJ56");
    // The low 29 bits do not show.
    CHECK(id(0x1a8474f7c7550209 ^ 0x1fffffff) == "DKCHJ56");
    CHECK(id(0x1a8474f7c7550209 ^ (std::uint64_t{1} << 29)) != "DKCHJ56");
}

TEST_CASE("conflict name: long names are shortened to fit, on a character boundary",
          "[conflict_name]") {
    const std::string stem(250, 'x');
    const std::string p = conflict_copy_path("d/" + stem + ".txt", kMtime, kVectorDevice);
    const std::string name = last_component(p);
    CHECK(name.size() == kMaxNameBytes);
    CHECK(name.ends_with(".sync-conflict-20251125-161456-DKCHJ56.txt"));
    CHECK(p.starts_with("d/xxx"));
    CHECK(normalize_path(p).has_value());

    // 2-byte characters: the cut never splits one.
    std::string accents;
    for (int i = 0; i < 120; ++i) accents += "\xc3\xa9";  // é
    for (const std::string ext : {"", ".md", ".markdown"}) {
        const std::string q = conflict_copy_path(accents + ext, kMtime, kVectorDevice);
        CHECK(q.size() <= kMaxNameBytes);
        CHECK(q.size() >= kMaxNameBytes - 1);
        CHECK(utf8_nfc(q).has_value());
        CHECK(normalize_path(q).has_value());
        CHECK(q.ends_with("DKCHJ56" + ext));
        CHECK(is_conflict_copy(q));
    }

    // An extension too long to keep whole gives way after the stem.
    const std::string long_ext = "a." + std::string(240, 'e');
    const std::string r = conflict_copy_path(long_ext, kMtime, kVectorDevice);
    CHECK(r.size() == kMaxNameBytes);
    CHECK(r.starts_with(".sync-conflict-20251125-161456-DKCHJ56.eee"));
    CHECK(is_conflict_copy(r));

    // A deep path stays within kMaxPathBytes.
    std::string deep;
    while (deep.size() + 100 < kMaxPathBytes - 60) deep += std::string(99, 'd') + "/";
    const std::string s =
        conflict_copy_path(deep + std::string(100, 'n') + ".txt", kMtime, kVectorDevice);
    CHECK(s.size() == kMaxPathBytes);
    CHECK(normalize_path(s).has_value());
    CHECK(is_conflict_copy(s));
}

TEST_CASE("conflict name: recognised by is_conflict_copy", "[conflict_name]") {
    for (const char* path : {"dir/report.txt", "report", ".bashrc", "a.b.c", "x/y/z.tar.gz"}) {
        CAPTURE(path);
        CHECK(is_conflict_copy(conflict_copy_path(path, kMtime, kVectorDevice)));
        CHECK_FALSE(is_conflict_copy(path));
    }
    CHECK(is_conflict_copy("a.sync-conflict-20250101-000000-ABCDE23"));
    CHECK(is_conflict_copy("a.sync-conflict-20250101-000000-ABCDE23.txt"));
    // Only the last component counts.
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-20250101-000000-ABCDE23/file.txt"));
    // Malformed suffixes.
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-2025010-000000-ABCDE23"));
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-20250101-000000-abcde23"));
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-20250101-000000-ABCDE21"));  // 1 is not base32
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-20250101-000000-ABCDE23x"));
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-20250101_000000-ABCDE23"));
    CHECK_FALSE(is_conflict_copy("a.sync-conflict-"));
    CHECK_FALSE(is_conflict_copy(""));
    // A false start before the real suffix.
    CHECK(is_conflict_copy("a.sync-conflict-x.sync-conflict-20250101-000000-ABCDE23.txt"));
}

TEST_CASE("conflict name: the same losing version gives the same name", "[conflict_name]") {
    CHECK(conflict_copy_path("a/b.txt", kMtime, kVectorDevice) ==
          conflict_copy_path("a/b.txt", kMtime, kVectorDevice));
    CHECK(conflict_copy_path("a/b.txt", kMtime, kVectorDevice) !=
          conflict_copy_path("a/b.txt", kMtime + 1'000'000'000, kVectorDevice));
    CHECK(conflict_copy_path("a/b.txt", kMtime, kVectorDevice) !=
          conflict_copy_path("a/b.txt", kMtime, ShortId{1}));
}
