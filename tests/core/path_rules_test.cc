#include "core/path_rules.hh"

#include <string>
#include <vector>

#include <catch2/catch.hpp>

using namespace ferry;

TEST_CASE("path rules: valid paths pass unchanged", "[path_rules]") {
    const std::vector<std::string> ok = {
        "a",
        "a/b/c.txt",
        ".hidden",
        "...",
        "..a",
        "a./b",
        "name with spaces",
        "caf\xc3\xa9",                            // é already composed
        "\xe6\x97\xa5\xe6\x9c\xac/\xe8\xaa\x9e",  // 日本/語
        "emoji \xf0\x9f\x98\x80",
        "back\\slash",
        "con.txt",  // fine on POSIX; see windows_name_problem
        std::string(255, 'x'),
        std::string(255, 'x') + "/" + std::string(255, 'y'),
    };
    for (const auto& p : ok) {
        INFO(p);
        const auto r = normalize_path(p);
        REQUIRE(r);
        CHECK(*r == p);
    }
}

TEST_CASE("path rules: NFD input becomes NFC", "[path_rules]") {
    struct Case {
        std::string in, out;
    };
    const std::vector<Case> cases = {
        {"cafe\xcc\x81", "caf\xc3\xa9"},                           // e + COMBINING ACUTE -> é
        {"A\xcc\x8a/ma\xcc\x88rz", "\xc3\x85/m\xc3\xa4rz"},        // Å, ä
        {"\xe1\x84\x92\xe1\x85\xa1\xe1\x86\xab", "\xed\x95\x9c"},  // Hangul jamo -> 한
        {"\xe2\x84\xab", "\xc3\x85"},           // ANGSTROM SIGN -> Å (singleton)
        {"e\xcc\xa3\xcc\x82", "\xe1\xbb\x87"},  // marks reordered and composed: ệ
    };
    for (const auto& c : cases) {
        INFO(c.in);
        const auto r = normalize_path(c.in);
        REQUIRE(r);
        CHECK(*r == c.out);
        // NFC is idempotent.
        CHECK(normalize_path(*r).value() == c.out);
    }
}

TEST_CASE("path rules: invalid paths are refused with the path and the reason", "[path_rules]") {
    struct Case {
        std::string path;
        std::string message;  // exact
    };
    const std::vector<Case> cases = {
        {"", "empty path: a path must name something inside the folder"},
        {"/etc/passwd", "/etc/passwd: is absolute; paths are relative to the folder root"},
        {"/", "/: is absolute; paths are relative to the folder root"},
        {"a//b", "a//b: has an empty component ('//' or a trailing '/')"},
        {"a/", "a/: has an empty component ('//' or a trailing '/')"},
        {".", ".: '.' component is not allowed"},
        {"a/./b", "a/./b: '.' component is not allowed"},
        {"..", "..: '..' component is not allowed"},
        {"a/../b", "a/../b: '..' component is not allowed"},
        {"a/..", "a/..: '..' component is not allowed"},
        {std::string("a\0b", 3), "a\\x00b: contains a NUL byte at byte 1"},
        {"tab\there", "tab\\x09here: contains the control character \\x09 at byte 3"},
        {"new\nline", "new\\x0Aline: contains the control character \\x0A at byte 3"},
        {"\x1f", "\\x1F: contains the control character \\x1F at byte 0"},
        {"del\x7f", "del\\x7F: contains the control character \\x7F at byte 3"},
        {"bad\xff", "bad\\xFF: is not valid UTF-8 at byte 3"},
        {"a/\xc3", "a/\\xC3: is not valid UTF-8 at byte 2"},
        {"\xc0\xaf", "\\xC0\\xAF: is not valid UTF-8 at byte 0"},                    // overlong '/'
        {"\xed\xa0\x80", "\\xED\\xA0\\x80: is not valid UTF-8 at byte 0"},           // surrogate
        {"\xf4\x90\x80\x80", "\\xF4\\x90\\x80\\x80: is not valid UTF-8 at byte 0"},  // > U+10FFFF
    };
    for (const auto& c : cases) {
        INFO(c.message);
        const auto r = normalize_path(c.path);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::invalid_argument);
        CHECK(r.error().message == c.message);
    }
}

TEST_CASE("path rules: length limits apply to the NFC form", "[path_rules]") {
    const std::string long_name(256, 'n');
    const auto name = normalize_path("dir/" + long_name);
    REQUIRE_FALSE(name);
    CHECK(name.error().message.find("is 256 bytes, over the 255-byte limit") != std::string::npos);
    CHECK(name.error().message.find("...") != std::string::npos);  // a long path is shortened

    // 20 components of 200 bytes, 19 slashes, then "/" and 76 bytes: 4096.
    std::string path;
    for (int i = 0; i < 20; ++i)
        path += (i ? "/" : "") + std::string(200, static_cast<char>('a' + i));
    path += "/" + std::string(76, 'z');
    REQUIRE(path.size() == 4096);
    CHECK(normalize_path(path));
    const auto over = normalize_path(path + "d");
    REQUIRE_FALSE(over);
    CHECK(over.error().message.find("path is 4097 bytes, over the 4096-byte limit") !=
          std::string::npos);

    // 100 NFD "é" (3 bytes each) make a 300-byte name; its NFC form is 200.
    std::string nfd_name;
    for (int i = 0; i < 100; ++i) nfd_name += "e\xcc\x81";
    REQUIRE(nfd_name.size() == 300);
    const auto composed = normalize_path(nfd_name);
    REQUIRE(composed);
    CHECK(composed->size() == 200);
    // Likewise a 4219-byte NFD path whose NFC form is 2819 bytes.
    std::string nfd_path;
    for (int i = 0; i < 20; ++i) nfd_path += (i ? "/" : "") + nfd_name.substr(0, 210);
    REQUIRE(nfd_path.size() == 4219);
    const auto composed_path = normalize_path(nfd_path);
    REQUIRE(composed_path);
    CHECK(composed_path->size() == 2819);

    // Far too long input is refused before normalisation, with its size.
    const auto huge = normalize_path(std::string(20000, 'h'));
    REQUIRE_FALSE(huge);
    CHECK(huge.error().message.find("path is 20000 bytes") != std::string::npos);
}

TEST_CASE("path rules: printable_path escapes and shortens", "[path_rules]") {
    CHECK(printable_path("plain/name") == "plain/name");
    CHECK(printable_path("caf\xc3\xa9") == "caf\xc3\xa9");
    CHECK(printable_path(std::string("\x01\xff\0", 3)) == "\\x01\\xFF\\x00");
    const std::string shortened = printable_path(std::string(300, 'p'));
    CHECK(shortened == std::string(200, 'p') + "...");
    // A multi-byte character is never cut in half.
    std::string euros;
    for (int i = 0; i < 100; ++i) euros += "\xe2\x82\xac";
    const std::string cut = printable_path(euros);
    CHECK(cut.size() == 201 + 3);
    CHECK(normalize_path(cut.substr(0, cut.size() - 3)));
}

TEST_CASE("path rules: windows name problems", "[path_rules]") {
    struct Case {
        std::string path;
        std::string problem;  // empty: Windows can hold it
    };
    const std::vector<Case> cases = {
        {"a/b/c.txt", ""},
        {"CON", "CON: 'CON': CON is a reserved device name on Windows"},
        {"dir/con", "dir/con: 'con': CON is a reserved device name on Windows"},
        {"con.txt", "con.txt: 'con.txt': CON is a reserved device name on Windows"},
        {"Nul .tar.gz", "Nul .tar.gz: 'Nul .tar.gz': NUL is a reserved device name on Windows"},
        {"prn", "prn: 'prn': PRN is a reserved device name on Windows"},
        {"aux/file", "aux/file: 'aux': AUX is a reserved device name on Windows"},
        {"com1", "com1: 'com1': com1 is a reserved device name on Windows"},
        {"LPT9.log", "LPT9.log: 'LPT9.log': LPT9 is a reserved device name on Windows"},
        {"COM\xc2\xb9",
         "COM\xc2\xb9: 'COM\xc2\xb9': COM\xc2\xb9 is a reserved device name on Windows"},
        {"conin$", "conin$: 'conin$': CONIN$ is a reserved device name on Windows"},
        {"com0", ""},
        {"com10", ""},
        {"lpt", ""},
        {"console", ""},
        {"con_", ""},
        {"acon", ""},
        {"x.con", ""},
        {"dir./f", "dir./f: 'dir.': a name ending in '.' is changed by Windows"},
        {"f ", "f : 'f ': a name ending in ' ' is changed by Windows"},
        {"a<b", "a<b: 'a<b': '<' is not allowed in Windows names"},
        {"a>b", "a>b: 'a>b': '>' is not allowed in Windows names"},
        {"x/c:d", "x/c:d: 'c:d': ':' is not allowed in Windows names"},
        {"q\"", "q\": 'q\"': '\"' is not allowed in Windows names"},
        {"a\\b", "a\\b: 'a\\b': '\\' is not allowed in Windows names"},
        {"p|q", "p|q: 'p|q': '|' is not allowed in Windows names"},
        {"what?", "what?: 'what?': '?' is not allowed in Windows names"},
        {"star*", "star*: 'star*': '*' is not allowed in Windows names"},
        {".hidden", ""},
        {"caf\xc3\xa9", ""},
    };
    for (const auto& c : cases) {
        INFO(c.path);
        const auto problem = windows_name_problem(c.path);
        if (c.problem.empty()) {
            CHECK_FALSE(problem);
        } else {
            REQUIRE(problem);
            CHECK(*problem == c.problem);
        }
    }
}

TEST_CASE("path rules: case-fold keys", "[path_rules]") {
    struct Case {
        std::string a, b;
        bool clash;
    };
    const std::vector<Case> cases = {
        {"A.txt", "a.txt", true},
        {"Dir/File", "dir/FILE", true},
        {"dir/a", "dir/b", false},
        {"\xc3\x84pfel", "\xc3\xa4pfel", true},  // Äpfel / äpfel
        {"Stra\xc3\x9f"
         "e",
         "STRASSE", true},                                               // full folding: ß -> ss
        {"\xce\xa3\xce\x91\xce\xa3", "\xcf\x83\xce\xb1\xcf\x82", true},  // ΣΑΣ / σας (final sigma)
        {"\xe2\x84\xaa", "k", true},                                     // KELVIN SIGN folds to k
        {"\xef\xac\x83", "FFI", true},  // ﬃ ligature folds to ffi
        {"a", "\xc3\xa1", false},       // accents still differ
        {"x/A", "X/a", true},
    };
    for (const auto& c : cases) {
        INFO(c.a << " vs " << c.b);
        CHECK((case_fold_key(c.a) == case_fold_key(c.b)) == c.clash);
    }
    CHECK(case_fold_key("Hello/WORLD.TXT") == "hello/world.txt");
    CHECK(case_fold_key("Stra\xc3\x9f"
                        "e") == "strasse");
    // The key is NFC: a folded capital with a combining mark recomposes.
    CHECK(case_fold_key("\xc3\x85") == "\xc3\xa5");
    CHECK(case_fold_key("bad\xff") == "bad\xff");
}

TEST_CASE("path rules: join_path", "[path_rules]") {
    CHECK(join_path("", "a") == "a");
    CHECK(join_path("a", "b") == "a/b");
    CHECK(join_path("a/b", "c.txt") == "a/b/c.txt");
}

TEST_CASE("path rules: is_within", "[path_rules]") {
    CHECK(is_within("a", "a"));
    CHECK(is_within("a/b", "a"));
    CHECK(is_within("a/b/c", "a/b"));
    CHECK(is_within("anything/at/all", ""));
    CHECK_FALSE(is_within("ab", "a"));
    CHECK_FALSE(is_within("a-b/c", "a"));
    CHECK_FALSE(is_within("a", "a/b"));
    CHECK_FALSE(is_within("", "a"));
}
