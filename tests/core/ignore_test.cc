#include "core/ignore.hh"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/path_rules.hh"

using namespace ferry;

namespace {

struct Case {
    std::string path;
    bool is_dir;
    bool ignored;
};

constexpr bool kDir = true;
constexpr bool kFile = false;

// Every expectation in these tables agrees with `git check-ignore --no-index`
// (git 2.39) on the same .gitignore, except where a comment says otherwise.
void check(std::string_view patterns, const std::vector<Case>& cases) {
    const IgnoreMatcher m = IgnoreMatcher::parse(patterns);
    for (const auto& c : cases) {
        INFO("patterns:\n"
             << patterns << "\npath: " << c.path << (c.is_dir ? " (dir)" : " (file)"));
        CHECK(m.is_ignored(c.path, c.is_dir) == c.ignored);
    }
}

}  // namespace

TEST_CASE("ignore: an empty matcher ignores nothing", "[ignore]") {
    const IgnoreMatcher none;
    CHECK(none.empty());
    CHECK_FALSE(none.is_ignored("a", false));
    const auto blank = IgnoreMatcher::parse("# only a comment\n\n   \n!\n/\n");
    CHECK(blank.empty());
    CHECK_FALSE(blank.is_ignored("a/b", false));
    CHECK_FALSE(IgnoreMatcher::parse("a").empty());
}

TEST_CASE("ignore: comments, blank lines and line endings", "[ignore]") {
    check("# comment\n\nfoo\n", {
                                    {"# comment", kFile, false},
                                    {"foo", kFile, true},
                                    {"bar", kFile, false},
                                });
    check("\\#hash\n  #lead\n",
          {
              {"#hash", kFile, true},
              {"  #lead", kFile, true},  // '#' starts a comment only in column one
              {"#lead", kFile, false},
          });
    check("foo\r\nbar\r\n", {{"foo", kFile, true}, {"bar", kFile, true}});
    check(
        "\xef\xbb\xbf"
        "bom\n",
        {{"bom", kFile, true}});
    check("no-newline-at-end", {{"no-newline-at-end", kFile, true}});
}

TEST_CASE("ignore: trailing spaces are trimmed unless escaped", "[ignore]") {
    check("foo   \n", {{"foo", kFile, true}, {"foo ", kFile, false}});
    check("foo\\ \n", {{"foo ", kFile, true}, {"foo", kFile, false}});
    check("foo\\  \n", {{"foo ", kFile, true}, {"foo  ", kFile, false}});
    check("a b \n", {{"a b", kFile, true}});
    check("tab\t\n", {{"tab\t", kFile, true}, {"tab", kFile, false}});
    check(" lead\n", {{" lead", kFile, true}, {"lead", kFile, false}});
}

TEST_CASE("ignore: negation and escapes", "[ignore]") {
    check("*.log\n!keep.log\n", {
                                    {"a.log", kFile, true},
                                    {"d/b.log", kFile, true},
                                    {"keep.log", kFile, false},
                                    {"d/keep.log", kFile, false},
                                });
    check("\\!bang\n", {{"!bang", kFile, true}, {"bang", kFile, false}});
    check("\\*star\n", {{"*star", kFile, true}, {"xstar", kFile, false}});
    check("\\?q\n", {{"?q", kFile, true}, {"xq", kFile, false}});
    check("\\[x]\n", {{"[x]", kFile, true}, {"x", kFile, false}});
    check("a\\\\b\n", {{"a\\b", kFile, true}, {"ab", kFile, false}});
    check("\\a\\b\n", {{"ab", kFile, true}});
    check("trailing\\\n",
          {{"trailing", kFile, false}, {"trailing\\", kFile, false}});  // never matches
}

TEST_CASE("ignore: '*' and '?'", "[ignore]") {
    check("*.c\n", {
                       {"x.c", kFile, true},
                       {".c", kFile, true},
                       {"d/e/x.c", kFile, true},
                       {"x.cc", kFile, false},
                       {"x.c/y", kFile, true},  // a directory named x.c
                   });
    check("/d/*.c\n", {
                          {"d/x.c", kFile, true},
                          {"d/e/x.c", kFile, false},  // '*' does not cross '/'
                          {"x.c", kFile, false},
                      });
    check("a*b\n", {{"ab", kFile, true}, {"axyzb", kFile, true}, {"a/b", kFile, false}});
    check("?.txt\n", {
                         {"a.txt", kFile, true},
                         {"ab.txt", kFile, false},
                         {".txt", kFile, false},
                         // ferry's '?' is one character; git's is one byte and says no here.
                         {"\xc3\xa9.txt", kFile, true},
                     });
    check("*\n", {{"anything", kFile, true}, {"d/e", kDir, true}});
    check("a*a*a*b\n", {{"aaaab", kFile, true}, {"aaab", kFile, true}, {"aab", kFile, false}});
}

TEST_CASE("ignore: bracket expressions", "[ignore]") {
    check("[abc].o\n", {{"a.o", kFile, true}, {"c.o", kFile, true}, {"d.o", kFile, false}});
    check("[a-c]x\n", {{"bx", kFile, true}, {"dx", kFile, false}, {"-x", kFile, false}});
    check("[!a]x\n", {{"bx", kFile, true}, {"ax", kFile, false}});
    check("[^a]x\n", {{"bx", kFile, true}, {"ax", kFile, false}});
    check("[]]x\n", {{"]x", kFile, true}, {"x", kFile, false}});
    check("[!]]x\n", {{"]x", kFile, false}, {"ax", kFile, true}});
    check("[a-]x\n", {{"ax", kFile, true}, {"-x", kFile, true}, {"bx", kFile, false}});
    check("[\\]]x\n", {{"]x", kFile, true}, {"\\x", kFile, false}});
    check("[a-\\]]\n", {{"a", kFile, true}, {"]", kFile, false}, {"b", kFile, false}});
    check("[[:digit:]]x\n", {{"7x", kFile, true}, {"ax", kFile, false}});
    check("[[:alpha:][:digit:]]\n", {{"q", kFile, true}, {"5", kFile, true}, {"-", kFile, false}});
    check("[[:upper:]]\n", {{"Q", kFile, true}, {"q", kFile, false}});
    check("[[:space:]]x\n", {{" x", kFile, true}});
    check("[[:al]x\n",
          {{"ax", kFile, true}, {"[x", kFile, true}, {"lx", kFile, true}, {"bx", kFile, false}});
    // Unicode ranges work by code point (git compares bytes and says no).
    check("[\xc3\xa0-\xc3\xbc]\n", {{"\xc3\xa9", kFile, true}, {"e", kFile, false}});
    // Malformed sets make the pattern match nothing, as in git.
    check("[a-\n", {{"[a-", kFile, false}, {"a", kFile, false}});
    check("abc[\n", {{"abc[", kFile, false}});
    check("[[:foo:]]x\n", {{"fx", kFile, false}, {"[[:foo:]]x", kFile, false}});
    check("a[/]b\n", {{"a/b", kFile, false}, {"ab", kFile, false}});
    check("a[!x/]b\n", {{"ayb", kFile, true}});
}

TEST_CASE("ignore: '**'", "[ignore]") {
    check("**/foo\n", {
                          {"foo", kFile, true},
                          {"a/foo", kFile, true},
                          {"a/b/foo", kFile, true},
                          {"a/foox", kFile, false},
                      });
    check("**/d/f\n", {{"d/f", kFile, true}, {"x/y/d/f", kFile, true}, {"x/d/g", kFile, false}});
    check("foo/**\n", {
                          {"foo", kDir, false},
                          {"foo", kFile, false},
                          {"foo/a", kFile, true},
                          {"foo/a/b", kFile, true},
                          {"x/foo/a", kFile, false},
                      });
    check("a/**/b\n", {
                          {"a/b", kFile, true},
                          {"a/x/b", kFile, true},
                          {"a/x/y/b", kFile, true},
                          {"a/bb", kFile, false},
                          {"x/a/b", kFile, false},
                      });
    check("a/**/b/**/c\n",
          {{"a/b/c", kFile, true}, {"a/1/b/2/3/c", kFile, true}, {"a/c", kFile, false}});
    check("**\n", {{"x", kFile, true}, {"x/y", kFile, true}});
    check("/**\n", {{"x", kFile, true}, {"x/y", kFile, true}});
    check("a**b\n", {{"axxb", kFile, true}, {"a/x/b", kFile, false}});  // not alone: like '*'
    check("a/**b\n", {{"a/xb", kFile, true}, {"a/x/b", kFile, false}});
    check("foo/**/\n", {{"foo/d", kDir, true}, {"foo/f", kFile, false}, {"foo/d/f", kFile, true}});
    check("***/x\n", {{"x", kFile, true}, {"p/q/x", kFile, true}});
}

TEST_CASE("ignore: directory-only patterns", "[ignore]") {
    check("build/\n", {
                          {"build", kDir, true},
                          {"build", kFile, false},
                          {"x/build", kDir, true},
                          {"build/file", kFile, true},  // inside an ignored directory
                          {"build/a/b", kFile, true},
                          {"builder", kDir, false},
                      });
    check("/out/\n", {{"out", kDir, true}, {"x/out", kDir, false}, {"out/f", kFile, true}});
    check("d/e/\n", {{"d/e", kDir, true}, {"d/e", kFile, false}, {"d/e/f", kFile, true}});
}

TEST_CASE("ignore: anchored and unanchored patterns", "[ignore]") {
    check("/root.txt\n", {{"root.txt", kFile, true}, {"d/root.txt", kFile, false}});
    check("d/f\n", {{"d/f", kFile, true}, {"x/d/f", kFile, false}, {"d/f/g", kFile, true}});
    check(
        "f\n",
        {{"f", kFile, true}, {"x/d/f", kFile, true}, {"x/f/g", kFile, true}, {"ff", kFile, false}});
    check("d/*\n", {{"d/x", kFile, true},
                    {"d", kDir, false},
                    {"x/d/y", kFile, false},
                    {"d/x/y", kFile, true}});
}

TEST_CASE("ignore: the last matching pattern wins", "[ignore]") {
    check("*.txt\n!a.txt\n", {{"a.txt", kFile, false}, {"b.txt", kFile, true}});
    check("!a.txt\n*.txt\n", {{"a.txt", kFile, true}});
    check("*.txt\n!a.txt\na.txt\n", {{"a.txt", kFile, true}});
    check("*\n!*/\n!*.keep\n", {
                                   {"d", kDir, false},
                                   {"d/x", kFile, true},
                                   {"d/x.keep", kFile, false},
                                   {"top.keep", kFile, false},
                               });
}

TEST_CASE("ignore: nothing inside an ignored directory can be re-included", "[ignore]") {
    check("build/\n!build/keep\n",
          {
              {"build", kDir, true},
              {"build/keep", kFile, true},  // git check-ignore agrees: the parent is excluded
          });
    check("build\n!build/keep\n", {{"build/keep", kFile, true}});
    // Ignoring the contents instead of the directory leaves room for exceptions.
    check("build/*\n!build/keep\n", {
                                        {"build", kDir, false},
                                        {"build/keep", kFile, false},
                                        {"build/other", kFile, true},
                                    });
    // Re-including the directory itself works, since it is decided on its own.
    check("build/\n!build/\n", {{"build", kDir, false}, {"build/x", kFile, false}});
}

TEST_CASE("ignore: is_ignored_entry judges only the path itself", "[ignore]") {
    const auto m = IgnoreMatcher::parse("build/\n!build/keep\n*.o\n");
    CHECK(m.is_ignored("build/keep", false));
    CHECK_FALSE(m.is_ignored_entry("build/keep", false));
    CHECK(m.is_ignored_entry("build", true));
    CHECK(m.is_ignored_entry("src/x.o", false));
    CHECK_FALSE(m.is_ignored_entry("src/x.c", false));
}

TEST_CASE("ignore: patterns are NFC like paths", "[ignore]") {
    // "café" written with a combining accent still matches the NFC path
    // (git, which does not normalise, says no).
    check("cafe\xcc\x81/\n", {{"caf\xc3\xa9", kDir, true}, {"cafe", kDir, false}});
    check("*\xc3\xa9\n", {{normalize_path("cafe\xcc\x81").value(), kFile, true}});
}

TEST_CASE("ignore: pathological patterns stay polynomial", "[ignore]") {
    // A backtracking matcher takes exponential time on these; the iterative
    // one answers at once (nothing here is timed: a hang would show).
    const std::string name(250, 'a');
    check("a*a*a*a*a*a*a*b\n", {{name, kFile, false}, {name + "b", kFile, true}});
    check("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c\n", {{name, kFile, false}});
    std::string deep;
    for (int i = 0; i < 1000; ++i) deep += "a/";
    deep += "b";
    check("**/a/**/a/**/a/**/a/**/a/**/a/**/c\n", {{deep, kFile, false}});
    check("**/a/**/a/**/a/**/a/**/a/**/a/**/b\n", {{deep, kFile, true}});
}

TEST_CASE("ignore: internal paths", "[ignore]") {
    struct InternalCase {
        std::string path;
        bool internal;
    };
    const std::vector<InternalCase> cases = {
        {".ferry", true},
        {".ferry/index.db", true},
        {".ferry/versions/a/b", true},
        {".FERRY/x", true},
        {".Ferry", true},
        {"a/.ferry", false},
        {".ferryignore", false},
        {".ferry2", false},
        {"x.ferry", false},
        {".ferry-tmp.a.txt.0123456789abcdef", true},
        {"d/e/.ferry-tmp.a.txt.0123456789abcdef", true},
        {".ferry-tmp.dir.ffffffffffffffff/x", true},
        {".ferry-tmp..0000000000000000", true},
        {".ferry-tmp.a.0123456789ABCDEF", false},
        {".ferry-tmp.a.0123456789abcde", false},
        {".ferry-tmp.a_0123456789abcdef", false},
        {".ferry-tmp.a.0123456789abcdeg", false},
        {"ferry-tmp.a.0123456789abcdef", false},
        {"a.txt", false},
    };
    for (const auto& c : cases) {
        INFO(c.path);
        CHECK(is_internal_path(c.path) == c.internal);
    }
}

TEST_CASE("ignore: temporary names", "[ignore]") {
    CHECK(temporary_name("a.txt", 0x0123456789abcdefull) == ".ferry-tmp.a.txt.0123456789abcdef");
    CHECK(temporary_name("x", 0) == ".ferry-tmp.x.0000000000000000");
    CHECK(is_internal_path("d/" + temporary_name("report.pdf", 42)));
    CHECK(temporary_target(temporary_name("report.pdf", 42)) == "report.pdf");
    CHECK(temporary_target(temporary_name(".ferry-tmp.x.0000000000000000", 1)) ==
          ".ferry-tmp.x.0000000000000000");
    CHECK(!temporary_target("report.pdf"));
    CHECK(!temporary_target(".ferry-tmp.report.pdf.012345678"));    // too few digits
    CHECK(!temporary_target(".ferry-tmp.report.pdf.0123456789ABCDEF"));  // not lower case

    const std::string ascii = temporary_name(std::string(255, 'n'), 7);
    CHECK(ascii.size() == kMaxNameBytes);
    CHECK(ascii == ".ferry-tmp." + std::string(227, 'n') + ".0000000000000007");
    CHECK(is_internal_path(ascii));
    CHECK(temporary_target(ascii) == std::string(227, 'n'));  // shortened, as it was

    // 85 euro signs (3 bytes each): the cut at 227 bytes would split one, so
    // 75 are kept.
    std::string euros;
    for (int i = 0; i < 85; ++i) euros += "\xe2\x82\xac";
    const std::string cut = temporary_name(euros, 1);
    CHECK(cut.size() == 11 + 75 * 3 + 17);
    CHECK(normalize_path(cut));
    CHECK(is_internal_path(cut));

    // 4-byte characters: 56 fit in 227 bytes (224).
    std::string emoji;
    for (int i = 0; i < 63; ++i) emoji += "\xf0\x9f\x98\x80";
    const std::string cut4 = temporary_name(emoji, 2);
    CHECK(cut4.size() == 11 + 56 * 4 + 17);
    CHECK(normalize_path(cut4));

    CHECK(temporary_name("a", 1) != temporary_name("a", 2));
}
