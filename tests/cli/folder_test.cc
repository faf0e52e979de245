// ferry folder add|list|remove.
#include <filesystem>
#include <regex>

#include <catch2/catch.hpp>

#include "cli_test_util.hh"

using namespace ferry::test;

TEST_CASE("folder add stores a canonical path; list and remove show and forget it",
          "[cli][folder]") {
    Sandbox box;
    box.init();
    std::filesystem::create_directories(box.path("data/docs"));
    write_file(box.path("data/docs/keep.txt"), "kept");
    // Relative to the current directory, through a symlink and a "..".
    std::filesystem::create_directory_symlink(box.path("data"), box.path("link"));
    const Run add =
        box.ferry({"folder", "add", "link/../link/docs", "--id", "docs", "--mode", "send-only"});
    INFO(add.err);
    REQUIRE(add.status == 0);
    const std::string canonical = std::filesystem::canonical(box.path("data/docs")).string();
    CHECK_THAT(add.out, Catch::Contains(canonical) && Catch::Contains("ferry scan docs"));

    const Run list = box.ferry({"folder", "list", "--json"});
    REQUIRE(list.status == 0);
    const auto json = parse_json(list.out);
    REQUIRE(json.size() == 1);
    CHECK(json[0]["id"] == "docs");
    CHECK(json[0]["path"] == canonical);
    CHECK(json[0]["mode"] == "send-only");

    const Run text = box.ferry({"folder", "list"});
    CHECK(text.status == 0);
    CHECK_THAT(text.out, Catch::Contains("docs") && Catch::Contains("send-only"));

    const Run remove = box.ferry({"folder", "remove", "docs"});
    INFO(remove.err);
    CHECK(remove.status == 0);
    CHECK(parse_json(box.ferry({"folder", "list", "--json"}).out).empty());
    CHECK(std::filesystem::exists(box.path("data/docs/keep.txt")));

    const Run again = box.ferry({"folder", "remove", "docs"});
    CHECK(again.status == 1);
    CHECK_THAT(again.err, Catch::Contains("no folder with that id"));
}

TEST_CASE("folder add without --id picks a readable random id", "[cli][folder]") {
    Sandbox box;
    box.init();
    std::filesystem::create_directories(box.path("data/a"));
    std::filesystem::create_directories(box.path("data/b"));
    REQUIRE(box.ferry({"folder", "add", box.path("data/a")}).status == 0);
    REQUIRE(box.ferry({"folder", "add", box.path("data/b")}).status == 0);
    const auto json = parse_json(box.ferry({"folder", "list", "--json"}).out);
    REQUIRE(json.size() == 2);
    const std::regex form("^[a-z]{5}-[a-z]{5}$");
    CHECK(std::regex_match(json[0]["id"].get<std::string>(), form));
    CHECK(std::regex_match(json[1]["id"].get<std::string>(), form));
    CHECK(json[0]["id"] != json[1]["id"]);
    CHECK(json[0]["mode"] == "send-receive");
}

TEST_CASE("folder add refuses bad paths, duplicates and overlapping folders", "[cli][folder]") {
    Sandbox box;
    box.init();
    const std::string docs = box.add_folder("docs");
    std::filesystem::create_directories(box.path("data/docs/inner"));
    std::filesystem::create_directories(box.path("data/other"));
    write_file(box.path("data/file.txt"), "x");

    struct Case {
        std::vector<std::string> args;
        const char* message;
    };
    const std::vector<Case> cases = {
        {{"folder", "add", box.path("data/missing")}, "No such file or directory"},
        {{"folder", "add", box.path("data/file.txt")}, "not a directory"},
        {{"folder", "add", docs}, "already folder 'docs'"},
        {{"folder", "add", box.path("data/other"), "--id", "docs"}, "is taken"},
        {{"folder", "add", box.path("data/docs/inner")}, "inside folder 'docs'"},
        {{"folder", "add", box.path("data")}, "contains folder 'docs'"},
        {{"folder", "add", box.path("data/other"), "--id", "a:b"}, "invalid folder id"},
        {{"folder", "add", box.path("data/other"), "--id", "-x"}, "invalid folder id"},
    };
    for (const Case& c : cases) {
        const Run run = box.ferry(c.args);
        INFO(c.args[2] << ": " << run.err);
        CHECK(run.status == 1);
        CHECK_THAT(run.err, Catch::StartsWith("ferry: ") && Catch::Contains(c.message));
    }
    CHECK(parse_json(box.ferry({"folder", "list", "--json"}).out).size() == 1);
}
