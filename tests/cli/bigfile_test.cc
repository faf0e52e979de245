// Large files between real daemons: what a rename and a small insertion cost
// on the wire (the daemons' own byte counters, `ferry devices --json`), and a
// receiving daemon killed with SIGKILL in the middle of a transfer.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <csignal>

#include "cluster_util.hh"

using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// Writes `size` pseudo-random bytes without holding them all in memory.
void write_big_file(const std::string& path, std::size_t size, std::uint64_t seed) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (std::size_t done = 0; done < size; done += 8 * kMiB) {
        const std::string block = random_bytes(std::min(8 * kMiB, size - done), seed + done);
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    REQUIRE(out.good());
}

// Copies `from` to `to` with `insert` placed at `offset`.
void write_with_insertion(const std::string& from, const std::string& to, std::size_t offset,
                          const std::string& insert) {
    std::ifstream in(from, std::ios::binary);
    std::ofstream out(to, std::ios::binary | std::ios::trunc);
    std::vector<char> buf(8 * kMiB);
    std::size_t copied = 0;
    bool inserted = false;
    while (in) {
        const std::size_t want = !inserted ? std::min(buf.size(), offset - copied) : buf.size();
        in.read(buf.data(), static_cast<std::streamsize>(want));
        out.write(buf.data(), in.gcount());
        copied += static_cast<std::size_t>(in.gcount());
        if (!inserted && copied == offset) {
            out.write(insert.data(), static_cast<std::streamsize>(insert.size()));
            inserted = true;
        }
    }
    REQUIRE(inserted);
    REQUIRE(out.good());
}

}  // namespace

TEST_CASE("renaming a 64 MiB file moves under 64 KiB", "[cli][daemon][bytes]") {
    TestCluster cluster(2);
    write_big_file(cluster[0].folder + "/video.raw", 64 * kMiB, 7);
    cluster.setup();
    REQUIRE(cluster.wait_converged(120s));
    REQUIRE(cluster[0].ferry({"status", "--wait", "--timeout", "60"}).status == 0);

    const std::uint64_t before = cluster.traffic(0);
    fs::rename(cluster[0].file("video.raw"), cluster[0].file("renamed.raw"));
    cluster.scan(0);
    REQUIRE(cluster.wait_converged());
    REQUIRE(cluster[0].ferry({"status", "--wait", "--timeout", "60"}).status == 0);
    const std::uint64_t moved = cluster.traffic(0) - before;
    INFO("bytes on the wire for the rename: " << moved);
    CHECK(moved < 64 * 1024);
    CHECK(fs::exists(cluster[1].file("renamed.raw")));
    CHECK(!fs::exists(cluster[1].file("video.raw")));
}

TEST_CASE("a 256 MiB transfer survives kill -9 of the receiver, and a 1 KiB insertion moves "
          "less than rsync",
          "[cli][daemon][bytes][crash]") {
    TestCluster cluster(2);
    cluster.setup();
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    const std::string big = a.file("big.raw");
    write_big_file(big, 256 * kMiB, 11);
    const std::string expected = file_digest(big);
    cluster.scan(0);

    // Kill the receiver once its temporary file has grown; meanwhile the
    // target path must never show a partial file.
    bool partial_seen = false;
    const auto temporary_size = [&] {
        std::uintmax_t size = 0;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(b.folder, ec)) {
            if (e.path().filename().string().starts_with(".ferry-tmp.")) {
                size = std::max(size, e.file_size(ec));
            }
        }
        return size;
    };
    const auto check_target = [&] {
        std::error_code ec;
        if (fs::exists(b.file("big.raw"), ec) &&
            (fs::file_size(b.file("big.raw"), ec) != 256 * kMiB ||
             file_digest(b.file("big.raw")) != expected)) {
            partial_seen = true;
        }
    };
    const bool growing = wait_until(
        [&] {
            check_target();
            return temporary_size() >= 32 * kMiB || fs::exists(b.file("big.raw"));
        },
        120s, 20ms);
    INFO(b.daemon_log());
    REQUIRE(growing);
    const bool interrupted = !fs::exists(b.file("big.raw"));
    b.daemon->kill_hard();
    check_target();
    CHECK(!partial_seen);
    UNSCOPED_INFO("killed in the middle of the transfer: " << interrupted);

    b.start();
    const bool done = wait_until(
        [&] {
            check_target();
            return fs::exists(b.file("big.raw"));
        },
        120s, 50ms);
    REQUIRE(done);
    CHECK(!partial_seen);
    CHECK(file_digest(b.file("big.raw")) == expected);
    REQUIRE(cluster.wait_converged(120s));
    REQUIRE(a.ferry({"status", "--wait", "--timeout", "60"}).status == 0);

    // 1 KiB in the middle; rsync moves ~184 KB for this edit.
    const std::uint64_t before = cluster.traffic(0);
    // Written outside the folder, then renamed in: no rescan sees it half-made.
    const std::string edited = cluster.root() + "/big.raw.new";
    write_with_insertion(big, edited, 128 * kMiB, random_bytes(1024, 99));
    fs::rename(edited, big);
    cluster.scan(0);
    REQUIRE(cluster.wait_converged(120s));
    REQUIRE(a.ferry({"status", "--wait", "--timeout", "60"}).status == 0);
    const std::uint64_t moved = cluster.traffic(0) - before;
    INFO("bytes on the wire for a 1 KiB insertion into 256 MiB: " << moved);
    CHECK(moved < 184'000);
}
