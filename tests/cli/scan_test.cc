// ferry scan, ls and status on real sample trees.
#include <filesystem>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_test_util.hh"
#include "core/chunk_hash.hh"
#include "crypto/device_id.hh"

using namespace ferry::test;

namespace {

const std::string kSmall = "hello, ferry\n";
constexpr std::size_t kLargeSize = 3 * 1024 * 1024 + 12345;  // several chunks

// docs/ with small.txt, large.bin, sub/nested.txt, a symlink and an empty dir.
std::string make_sample(const Sandbox& box) {
    const std::string docs = box.add_folder("docs");
    write_file(docs + "/small.txt", kSmall);
    write_file(docs + "/large.bin", random_bytes(kLargeSize, 42));
    write_file(docs + "/sub/nested.txt", "nested\n");
    std::filesystem::create_directory(docs + "/empty");
    std::filesystem::create_symlink("small.txt", docs + "/link");
    return docs;
}

std::string hash_hex(const std::string& content) {
    return ferry::hash_chunk(
               {reinterpret_cast<const std::uint8_t*>(content.data()), content.size()})
        .hex();
}

std::string short_id_of_device(const Sandbox& box) {
    const Run id = box.ferry({"id"});
    auto parsed = ferry::DeviceId::parse(id.out.substr(0, 63));
    REQUIRE(parsed);
    char buf[24];
    std::snprintf(buf, sizeof buf, "%016llx",
                  static_cast<unsigned long long>(parsed->short_id().value));
    return buf;
}

Run scan(const Sandbox& box, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"scan"};
    args.insert(args.end(), extra.begin(), extra.end());
    const Run run = box.ferry(args);
    INFO(run.err);
    CHECK_FALSE(run.err.find('\r') != std::string::npos);  // no progress bar off a terminal
    return run;
}

nlohmann::json ls_json(const Sandbox& box, const std::string& path, const std::string& cwd = {}) {
    const Run run = box.ferry({"ls", path, "--json"}, cwd);
    INFO(path << ": " << run.err);
    REQUIRE(run.status == 0);
    return parse_json(run.out);
}

}  // namespace

TEST_CASE("scan indexes a sample tree and ls shows files with their chunks", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    const Run run = scan(box);
    REQUIRE(run.status == 0);
    CHECK_THAT(
        run.out,
        Catch::Contains("docs: 3 files, 2 directories, 1 symlink, 3.2 MB; 6 changed, 0 issues"));
    CHECK(run.err.empty());

    const auto large = ls_json(box, docs + "/large.bin");
    CHECK(large["kind"] == "file");
    CHECK(large["path"] == "large.bin");
    CHECK(large["size"] == kLargeSize);
    CHECK(large["deleted"] == false);
    CHECK(large["mode"] == "0644");
    CHECK(large["modified_by"] == short_id_of_device(box));
    CHECK(large["sequence"].get<std::int64_t>() > 0);
    REQUIRE(large["version"].size() == 1);
    CHECK(large["version"][0]["device"] == short_id_of_device(box));
    CHECK(large["version"][0]["counter"] == 1);
    const auto& chunks = large["chunks"];
    REQUIRE(chunks.size() > 1);
    std::uint64_t offset = 0;
    const std::string content = random_bytes(kLargeSize, 42);
    for (const auto& chunk : chunks) {
        CHECK(chunk["offset"] == offset);
        const auto size = chunk["size"].get<std::uint64_t>();
        CHECK(chunk["hash"] == hash_hex(content.substr(offset, size)));
        offset += size;
    }
    CHECK(offset == kLargeSize);

    // A small file is one chunk: its hash is the hash of the whole content.
    const auto small = ls_json(box, "docs:small.txt");
    CHECK(small["size"] == kSmall.size());
    REQUIRE(small["chunks"].size() == 1);
    CHECK(small["chunks"][0]["hash"] == hash_hex(kSmall));
    CHECK(small["chunks"][0]["offset"] == 0);
    CHECK(small["mtime"].get<std::string>().size() == 30);  // 2026-11-25T13:35:59.123456789Z

    // A path relative to the current directory.
    CHECK(ls_json(box, "nested.txt", docs + "/sub")["path"] == "sub/nested.txt");

    const auto link = ls_json(box, docs + "/link");
    CHECK(link["kind"] == "symlink");
    CHECK(link["symlink_target"] == "small.txt");

    const Run text = box.ferry({"ls", "docs:small.txt"});
    REQUIRE(text.status == 0);
    CHECK_THAT(text.out, Catch::Contains("docs:small.txt") && Catch::Contains("chunks") &&
                             Catch::Contains(hash_hex(kSmall)) && Catch::Contains("(this device)"));
}

TEST_CASE("ls of a directory lists its indexed children", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    REQUIRE(scan(box).status == 0);

    const auto root = ls_json(box, docs);
    REQUIRE(root["children"].is_array());
    std::vector<std::string> names;
    for (const auto& child : root["children"]) names.push_back(child["name"]);
    CHECK(names == std::vector<std::string>{"empty", "large.bin", "link", "small.txt", "sub"});

    const auto sub = ls_json(box, "docs:sub");
    CHECK(sub["kind"] == "directory");
    REQUIRE(sub["children"].size() == 1);
    CHECK(sub["children"][0]["name"] == "nested.txt");

    const Run text = box.ferry({"ls", docs + "/sub"});
    REQUIRE(text.status == 0);
    CHECK_THAT(text.out, Catch::Contains("nested.txt") && Catch::Contains("entries"));
}

TEST_CASE("ls of what is not indexed fails with a hint", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    const Run before = box.ferry({"ls", docs + "/small.txt"});
    CHECK(before.status == 1);
    CHECK_THAT(before.err,
               Catch::Contains("not in the index") && Catch::Contains("ferry scan docs"));

    REQUIRE(scan(box).status == 0);
    const Run missing = box.ferry({"ls", "docs:no/such/file"});
    CHECK(missing.status == 1);
    CHECK_THAT(missing.err, Catch::StartsWith("ferry: ") && Catch::Contains("docs:no/such/file"));

    const Run outside = box.ferry({"ls", box.root()});
    CHECK(outside.status == 1);
    CHECK_THAT(outside.err, Catch::Contains("not inside any folder"));
}

TEST_CASE("status reports the indexed numbers and the last scan", "[cli][status]") {
    Sandbox box;
    box.init();
    make_sample(box);
    const Run never = box.ferry({"status"});
    REQUIRE(never.status == 0);
    CHECK_THAT(never.out, Catch::Contains("never scanned") && Catch::Contains("ferry scan docs"));
    CHECK(parse_json(box.ferry({"status", "--json"}).out)["folders"][0]["last_scan"].is_null());

    REQUIRE(scan(box).status == 0);
    const Run run = box.ferry({"status", "--json"});
    REQUIRE(run.status == 0);
    const auto folder = parse_json(run.out)["folders"][0];
    CHECK(folder["id"] == "docs");
    CHECK(folder["mode"] == "send-receive");
    CHECK(folder["files"] == 3);
    CHECK(folder["directories"] == 2);
    CHECK(folder["symlinks"] == 1);
    CHECK(folder["bytes"] == kSmall.size() + kLargeSize + 7);
    CHECK(folder["last_scan"].is_string());
    CHECK(folder["last_scan_ns"].get<std::int64_t>() > 0);
    CHECK(folder["issues"].empty());

    const Run text = box.ferry({"status"});
    CHECK_THAT(text.out, Catch::Contains("3 files") && Catch::Contains("no issues"));
}

TEST_CASE("a rescan after a change records a new version; a deletion a tombstone", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    REQUIRE(scan(box).status == 0);
    const auto before = ls_json(box, "docs:small.txt");

    const std::string changed = "hello again, ferry: longer now\n";
    write_file(docs + "/small.txt", changed);
    std::filesystem::remove(docs + "/sub/nested.txt");
    const Run run = scan(box, {"docs"});
    REQUIRE(run.status == 0);
    CHECK_THAT(run.out, Catch::Contains("2 changed") && Catch::Contains("1 deleted"));

    const auto after = ls_json(box, "docs:small.txt");
    CHECK(after["size"] == changed.size());
    CHECK(after["chunks"][0]["hash"] == hash_hex(changed));
    CHECK(after["version"][0]["counter"] == 2);
    CHECK(after["sequence"].get<std::int64_t>() > before["sequence"].get<std::int64_t>());

    const auto gone = ls_json(box, "docs:sub/nested.txt");
    CHECK(gone["deleted"] == true);
    CHECK(gone["version"][0]["counter"] == 2);

    // Nothing changed: nothing written.
    const Run again = scan(box, {"--quiet"});
    CHECK(again.status == 0);
    CHECK(again.out.empty());
    const Run third = scan(box);
    CHECK_THAT(third.out, Catch::Contains("; 0 changed"));
}

TEST_CASE("a special file is reported while the rest is indexed", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    REQUIRE(::mkfifo((docs + "/pipe").c_str(), 0644) == 0);
    const bool can_deny = ::geteuid() != 0;  // root reads anything
    if (can_deny) {
        write_file(docs + "/secret.txt", "no");
        REQUIRE(::chmod((docs + "/secret.txt").c_str(), 0) == 0);
    }
    const Run run = scan(box);
    INFO(run.err);
    CHECK(run.status == 0);
    CHECK_THAT(run.err, Catch::Contains("ferry: docs/pipe: "));
    const std::string count = can_deny ? "2 files" : "1 file";
    CHECK_THAT(run.err, Catch::EndsWith(count + " could not be indexed; see above\n"));
    if (can_deny) CHECK_THAT(run.err, Catch::Contains("ferry: docs/secret.txt: "));

    CHECK(ls_json(box, "docs:small.txt")["size"] == kSmall.size());
    CHECK(box.ferry({"ls", "docs:pipe"}).status == 1);
    const auto folder = parse_json(box.ferry({"status", "--json"}).out)["folders"][0];
    REQUIRE(folder["issues"].size() == (can_deny ? 2u : 1u));
    CHECK(folder["issues"][0]["path"] == "pipe");
}

TEST_CASE("scan fails with status 1 when a folder is gone, and scans the others", "[cli][scan]") {
    Sandbox box;
    box.init();
    const std::string docs = make_sample(box);
    const std::string gone = box.add_folder("gone");
    std::filesystem::remove_all(gone);
    const Run run = scan(box);
    CHECK(run.status == 1);
    CHECK_THAT(run.err, Catch::Contains("cannot scan folder gone") && Catch::Contains(gone));
    CHECK_THAT(run.out, Catch::Contains("docs: "));
    CHECK(ls_json(box, "docs:small.txt")["size"] == kSmall.size());

    const Run unknown = box.ferry({"scan", "nope"});
    CHECK(unknown.status == 1);
    CHECK_THAT(unknown.err, Catch::Contains("no folder with that id"));
}

TEST_CASE("scan on a terminal draws a progress bar in place", "[cli][scan]") {
    Sandbox box;
    box.init();
    make_sample(box);
    const Run run = box.ferry_on_terminal({"scan"});
    INFO(run.err);
    CHECK(run.status == 0);
    CHECK_THAT(run.err, Catch::Contains("\rdocs  [") && Catch::Contains("%") &&
                            Catch::Contains("/s") && Catch::Contains("\x1b[K"));
    CHECK_THAT(run.out, Catch::Contains("docs: 3 files"));

    const Run quiet = box.ferry_on_terminal({"scan", "--quiet"});
    CHECK(quiet.status == 0);
    CHECK(quiet.err.empty());
    CHECK(quiet.out.empty());
}
