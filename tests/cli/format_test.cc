// The CLI's formatting helpers and the progress bar's layout.
#include "cli/format.hh"

#include <catch2/catch.hpp>

#include "cli/path_within.hh"
#include "cli/progress_bar.hh"

using namespace ferry::cli;

TEST_CASE("numbers get thousands separators", "[format]") {
    CHECK(with_commas(0) == "0");
    CHECK(with_commas(999) == "999");
    CHECK(with_commas(1000) == "1,000");
    CHECK(with_commas(10234) == "10,234");
    CHECK(with_commas(1234567890) == "1,234,567,890");
    CHECK(count_of(1, "file", "files") == "1 file");
    CHECK(count_of(2500, "file", "files") == "2,500 files");
}

TEST_CASE("sizes use decimal units with one decimal", "[format]") {
    CHECK(human_bytes(0) == "0 B");
    CHECK(human_bytes(999) == "999 B");
    CHECK(human_bytes(1000) == "1.0 kB");
    CHECK(human_bytes(1234) == "1.2 kB");
    CHECK(human_bytes(999'999) == "1.0 MB");
    CHECK(human_bytes(2'100'000'000) == "2.1 GB");
    CHECK(human_bytes(410'000'000) == "410.0 MB");
}

TEST_CASE("times are UTC ISO 8601 with nanoseconds", "[format]") {
    CHECK(iso_time_ns(0) == "1970-01-01T00:00:00.000000000Z");
    // Expected value from `date -u -d @1795700159`.
    CHECK(iso_time_ns(1'795'700'159'123'456'789) == "2026-11-26T13:35:59.123456789Z");
    CHECK(iso_time_ns(-1) == "1969-12-31T23:59:59.999999999Z");
    CHECK(iso_time_ms(1'795'700'159'123'456'789) == "2026-11-26T13:35:59.123Z");
    CHECK(iso_time_ms(-1) == "1969-12-31T23:59:59.999Z");
    CHECK(octal_mode(0100644) == "0644");
    CHECK(octal_mode(04755) == "4755");
    CHECK(short_id_hex(ferry::ShortId{0x1a8474f7c7550209ULL}) == "1a8474f7c7550209");
}

TEST_CASE("path_within compares whole components", "[format]") {
    CHECK(path_within("/a/b", "/a/b"));
    CHECK(path_within("/a/b/c", "/a/b"));
    CHECK_FALSE(path_within("/a/bc", "/a/b"));
    CHECK_FALSE(path_within("/a", "/a/b"));
    CHECK(path_within("/x", "/"));
}

TEST_CASE("the progress bar shows percent, bytes, entries and rate within the width",
          "[progress]") {
    ferry::ScanProgress p;
    p.entries_seen = 10234;
    p.bytes_hashed = 1'200'000'000;
    p.bytes_to_hash = 2'100'000'000;
    p.walk_done = true;
    const std::string line = ProgressBar::render("docs", p, std::chrono::seconds(3), 100);
    CHECK(line.starts_with("docs  ["));
    CHECK_THAT(line, Catch::EndsWith("]   57%  1.2 GB/2.1 GB  10,234 entries  400.0 MB/s"));
    CHECK(line.size() < 100);
    const std::string bar = line.substr(line.find('[') + 1, line.find(']') - line.find('[') - 1);
    CHECK(bar.size() == 40);
    CHECK(bar == std::string(22, '#') + std::string(18, '.'));

    p.walk_done = false;
    CHECK_THAT(ProgressBar::render("docs", p, std::chrono::seconds(3), 100),
               Catch::Contains("2.1 GB+"));

    const std::string narrow =
        ProgressBar::render("a-very-long-folder-name-indeed", p, std::chrono::seconds(3), 60);
    CHECK(narrow.size() < 60);
    CHECK(narrow.starts_with("a-very-long-folder-~"));

    ferry::ScanProgress nothing;
    nothing.walk_done = true;
    CHECK_THAT(ProgressBar::render("x", nothing, std::chrono::seconds(0), 80),
               Catch::Contains("100%"));
}
