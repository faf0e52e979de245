// The log: levels, line formats, the size-capped file and reading its last
// lines and what is appended later (cli/log_format.hh, log_file.hh,
// log_reader.hh).
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/log_file.hh"
#include "cli/log_format.hh"
#include "cli/log_reader.hh"
#include "cli_test_util.hh"

using namespace ferry::cli;
using ferry::test::read_file;
using ferry::test::Sandbox;
using ferry::test::write_file;
namespace fs = std::filesystem;

namespace {

LastLines last_lines_of(const std::string& path, std::size_t count, std::size_t window) {
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    REQUIRE(fd.valid());
    auto tail = last_lines(fd.get(), fs::file_size(path), count, window);
    REQUIRE(tail);
    return *tail;
}

std::string numbered_line(int n) {
    return "line " + std::to_string(n) + "\n";
}

}  // namespace

TEST_CASE("log levels parse from their names only", "[log]") {
    CHECK(parse_log_level("error") == LogLevel::error);
    CHECK(parse_log_level("warn") == LogLevel::warn);
    CHECK(parse_log_level("info") == LogLevel::info);
    CHECK(parse_log_level("debug") == LogLevel::debug);
    for (const char* wrong : {"", "WARN", "warning", "info ", "trace"}) {
        const auto parsed = parse_log_level(wrong);
        INFO(wrong);
        REQUIRE_FALSE(parsed);
        CHECK(parsed.error().code == ferry::Errc::invalid_argument);
        CHECK_THAT(parsed.error().message, Catch::Contains("use error, warn, info or debug"));
    }
    for (const LogLevel level :
         {LogLevel::error, LogLevel::warn, LogLevel::info, LogLevel::debug}) {
        CHECK(parse_log_level(log_level_name(level)) == level);
    }
}

TEST_CASE("a threshold shows its level and the more important ones", "[log]") {
    CHECK(log_level_shows(LogLevel::warn, LogLevel::error));
    CHECK(log_level_shows(LogLevel::warn, LogLevel::warn));
    CHECK_FALSE(log_level_shows(LogLevel::warn, LogLevel::info));
    CHECK_FALSE(log_level_shows(LogLevel::warn, LogLevel::debug));
    CHECK(log_level_shows(LogLevel::error, LogLevel::error));
    CHECK_FALSE(log_level_shows(LogLevel::error, LogLevel::warn));
    CHECK(log_level_shows(LogLevel::info, LogLevel::info));
    CHECK_FALSE(log_level_shows(LogLevel::info, LogLevel::debug));
    CHECK(log_level_shows(LogLevel::debug, LogLevel::debug));
}

TEST_CASE("plain lines carry the time and level; journal lines the priority", "[log]") {
    // `date -u -d @1795700159`: Thu Nov 26 13:35:59 UTC 2026.
    constexpr std::int64_t kTime = 1'795'700'159'123'456'789;
    CHECK(format_log_line(LogStyle::plain, LogLevel::info, "connected to laptop", kTime) ==
          "2026-11-26T13:35:59.123Z INFO connected to laptop\n");
    CHECK(format_log_line(LogStyle::plain, LogLevel::error, "x", kTime) ==
          "2026-11-26T13:35:59.123Z ERROR x\n");
    CHECK(format_log_line(LogStyle::plain, LogLevel::warn, "x", kTime) ==
          "2026-11-26T13:35:59.123Z WARN x\n");
    CHECK(format_log_line(LogStyle::plain, LogLevel::debug, "x", kTime) ==
          "2026-11-26T13:35:59.123Z DEBUG x\n");
    CHECK(format_log_line(LogStyle::journal, LogLevel::error, "cannot x", kTime) ==
          "<3>cannot x\n");
    CHECK(format_log_line(LogStyle::journal, LogLevel::warn, "x", kTime) == "<4>x\n");
    CHECK(format_log_line(LogStyle::journal, LogLevel::info, "x", kTime) == "<6>x\n");
    CHECK(format_log_line(LogStyle::journal, LogLevel::debug, "x", kTime) == "<7>x\n");
}

TEST_CASE("a message stays one line of bounded length", "[log]") {
    CHECK(format_log_line(LogStyle::journal, LogLevel::info,
                          std::string("name\n<3>forged\r\ttab\x01\x7f\0.", 23),
                          0) == "<6>name\\n<3>forged\\r\\ttab\\x01\\x7f\\x00.\n");
    CHECK(format_log_line(LogStyle::journal, LogLevel::info, "grüße", 0) == "<6>grüße\n");

    const std::string longest(kMaxLogMessage, 'a');
    CHECK(format_log_line(LogStyle::journal, LogLevel::info, longest, 0) == "<6>" + longest + "\n");
    const std::string cut = format_log_line(LogStyle::journal, LogLevel::info, longest + "bbb", 0);
    CHECK(cut == "<6>" + longest + "...\n");
    // Cut before a character that straddles the limit, not inside it.
    const std::string straddling = std::string(kMaxLogMessage - 1, 'a') + "ü";
    CHECK(format_log_line(LogStyle::journal, LogLevel::info, straddling, 0) ==
          "<6>" + std::string(kMaxLogMessage - 1, 'a') + "...\n");
}

TEST_CASE("JOURNAL_STREAM names the journal by device and inode", "[log]") {
    CHECK(is_journal_stream("8:12345", 8, 12345));
    CHECK_FALSE(is_journal_stream("8:12345", 8, 12346));
    CHECK_FALSE(is_journal_stream("9:12345", 8, 12345));
    for (const char* malformed : {"", "8", "8:", ":12345", "8:12345x", "x8:12345", "8:-1"}) {
        INFO(malformed);
        CHECK_FALSE(is_journal_stream(malformed, 8, 12345));
    }
    const Sandbox dir;
    write_file(dir.path("stream"), "");
    struct stat st {};
    REQUIRE(::stat(dir.path("stream").c_str(), &st) == 0);
    const std::string value = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    CHECK(is_journal_stream(value, st.st_dev, st.st_ino));
}

TEST_CASE("the log file is rotated at its size cap, one predecessor kept", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("ferry.log");
    const std::string previous = previous_log_path(path);
    const std::string line(20, 'x');
    const std::string entry = line + "\n";  // 21 bytes; 4 fit in 100
    LogFile file(path, 100);

    for (int i = 0; i < 4; ++i) REQUIRE(file.append(entry));
    CHECK(fs::file_size(path) == 84);
    CHECK_FALSE(fs::exists(previous));
    CHECK((fs::status(path).permissions() & fs::perms::all) ==
          (fs::perms::owner_read | fs::perms::owner_write));

    const std::string fifth = std::string(20, 'v') + "\n";  // 84 + 21 > 100
    REQUIRE(file.append(fifth));
    CHECK(read_file(previous) == entry + entry + entry + entry);
    CHECK(read_file(path) == fifth);

    for (int i = 0; i < 30; ++i) {
        REQUIRE(file.append(numbered_line(i)));
        CHECK(fs::file_size(path) <= 100);
        CHECK(fs::file_size(previous) <= 100);
    }
    // The newest lines are the file's; the ones before them its predecessor's.
    const std::string both = read_file(previous) + read_file(path);
    CHECK_THAT(both, Catch::EndsWith(numbered_line(28) + numbered_line(29)));
    CHECK(read_file(previous).find(fifth) == std::string::npos);  // replaced
}

TEST_CASE("a log file found over its cap is rotated before the next line", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("ferry.log");
    write_file(path, std::string(150, 'o') + "\n");
    LogFile file(path, 100);
    REQUIRE(file.append("new\n"));
    CHECK(read_file(path) == "new\n");
    CHECK(fs::file_size(previous_log_path(path)) == 151);
}

TEST_CASE("a log file that cannot be written says which and why", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("missing/ferry.log");
    LogFile file(path, 100);
    const auto appended = file.append("x\n");
    REQUIRE_FALSE(appended);
    CHECK_THAT(appended.error().message, Catch::Contains("cannot open the log file " + path) &&
                                             Catch::Contains("No such file or directory"));
    // It tries again on the next line, and works once the folder is there.
    fs::create_directory(dir.path("missing"));
    REQUIRE(file.append("y\n"));
    CHECK(read_file(path) == "y\n");
}

TEST_CASE("the last lines of a file", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("f");
    write_file(path, "a\nb\nc\n");
    for (const std::size_t window : {std::size_t{1}, std::size_t{2}, std::size_t{64}}) {
        INFO("window " << window);
        auto two = last_lines_of(path, 2, window);
        CHECK(two.text == "b\nc\n");
        CHECK(two.lines == 2);
        auto all = last_lines_of(path, 5, window);
        CHECK(all.text == "a\nb\nc\n");
        CHECK(all.lines == 3);
        CHECK(last_lines_of(path, 0, window).text.empty());
    }

    SECTION("a partial last line counts as a line") {
        write_file(path, "a\nb\nc");
        auto two = last_lines_of(path, 2, 64);
        CHECK(two.text == "b\nc");
        CHECK(two.lines == 2);
        CHECK(last_lines_of(path, 1, 1).text == "c");
    }
    SECTION("empty lines count") {
        write_file(path, "a\n\n\n");
        CHECK(last_lines_of(path, 2, 64).text == "\n\n");
    }
    SECTION("an empty file has none") {
        write_file(path, "");
        auto none = last_lines_of(path, 3, 64);
        CHECK(none.text.empty());
        CHECK(none.lines == 0);
    }
    SECTION("a file much larger than the read window") {
        std::string text;
        for (int i = 0; i < 5000; ++i) text += numbered_line(i);
        write_file(path, text);
        std::string expected;
        for (int i = 4990; i < 5000; ++i) expected += numbered_line(i);
        for (const std::size_t window : {std::size_t{7}, std::size_t{4096}}) {
            auto ten = last_lines_of(path, 10, window);
            CHECK(ten.text == expected);
            CHECK(ten.lines == 10);
        }
        CHECK(last_lines_of(path, 6000, 4096).text == text);
    }
    SECTION("lines longer than the read window") {
        const std::string long_line = std::string(100, 'l') + "\n";
        write_file(path, long_line + long_line + "short\n");
        CHECK(last_lines_of(path, 2, 8).text == long_line + "short\n");
    }
}

TEST_CASE("the log's last lines come from the file and then its predecessor", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("ferry.log");
    LogReader reader(path);
    SECTION("no log yet") {
        for (const std::size_t count : {std::size_t{10}, std::size_t{0}}) {
            auto none = reader.last(count);
            REQUIRE(none);
            CHECK_FALSE(*none);
        }
        auto fresh = reader.read_new();
        REQUIRE(fresh);
        CHECK(fresh->empty());
    }
    SECTION("enough lines in the file") {
        write_file(previous_log_path(path), "old\n");
        write_file(path, "a\nb\nc\n");
        auto recent = reader.last(2);
        REQUIRE(recent);
        CHECK(*recent == std::optional<std::string>("b\nc\n"));
    }
    SECTION("the rest from the predecessor") {
        write_file(previous_log_path(path), "old 1\nold 2\nold 3\n");
        write_file(path, "a\n");
        auto recent = reader.last(3);
        REQUIRE(recent);
        CHECK(*recent == std::optional<std::string>("old 2\nold 3\na\n"));
    }
    SECTION("only the predecessor, just after a rotation") {
        write_file(previous_log_path(path), "old 1\nold 2");
        auto recent = reader.last(5);
        REQUIRE(recent);
        CHECK(*recent == std::optional<std::string>("old 1\nold 2\n"));
        write_file(path, "new\n");
        auto fresh = reader.read_new();
        REQUIRE(fresh);
        CHECK(*fresh == "new\n");
    }
}

TEST_CASE("following the log gets every line, across rotations", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("ferry.log");
    LogFile file(path, 64);
    REQUIRE(file.append(numbered_line(0)));
    LogReader reader(path);
    auto first = reader.last(10);
    REQUIRE(first);
    CHECK(*first == std::optional<std::string>(numbered_line(0)));

    // Lines come one or two between reads; the file rotates every few lines.
    std::string expected;
    std::string followed;
    const auto read_all = [&] {
        for (int reads = 0; reads < 4; ++reads) {  // a rotation takes two reads
            auto fresh = reader.read_new(16);      // also: more than one read a file
            REQUIRE(fresh);
            followed += *fresh;
        }
    };
    for (int i = 1; i <= 40; ++i) {
        REQUIRE(file.append(numbered_line(i)));
        expected += numbered_line(i);
        if (i % 2 == 0 || i % 7 == 0) read_all();
    }
    read_all();
    CHECK(fs::exists(previous_log_path(path)));
    CHECK(followed == expected);
}

TEST_CASE("following a truncated log starts from its beginning", "[log]") {
    const Sandbox dir;
    const std::string path = dir.path("ferry.log");
    write_file(path, "a long first line\n");
    LogReader reader(path);
    REQUIRE(reader.last(1));
    write_file(path, "b\n");  // same file, truncated and rewritten
    auto fresh = reader.read_new();
    REQUIRE(fresh);
    CHECK(*fresh == "b\n");
}
