// Large files between real daemons: what a rename and a small insertion cost
// on the wire (the daemons' own byte counters, `ferry devices --json`), and a
// receiving daemon killed with SIGKILL, or stopped with SIGTERM, in the
// middle of a transfer.
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <csignal>

#include "cluster_util.hh"

using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kMiB = 1024 * 1024;

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

// Watches a file arriving on `device`: how far its temporary file has grown,
// and whether the target path ever held anything but the complete file.
struct ReceiveWatch {
    const TestDevice& device;
    std::string name;
    std::uintmax_t size;
    std::string digest;
    bool partial_seen = false;

    std::uintmax_t temporary_size() const {
        std::uintmax_t largest = 0;
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(device.folder, ec)) {
            if (e.path().filename().string().starts_with(".ferry-tmp."))
                largest = std::max(largest, e.file_size(ec));
        }
        return largest;
    }
    void check_target() {
        std::error_code ec;
        const std::string target = device.file(name);
        if (fs::exists(target, ec) &&
            (fs::file_size(target, ec) != size || file_digest(target) != digest)) {
            partial_seen = true;
        }
    }
    // Until the temporary file holds `bytes` (or the file is complete).
    bool wait_until_received(std::uintmax_t bytes) {
        return wait_until(
            [&] {
                check_target();
                return temporary_size() >= bytes || fs::exists(device.file(name));
            },
            120s, 20ms);
    }
    bool wait_until_complete() {
        return wait_until(
            [&] {
                check_target();
                return fs::exists(device.file(name));
            },
            120s, 50ms);
    }
};

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
    ReceiveWatch watch{b, "big.raw", 256 * kMiB, expected};
    INFO(b.daemon_log());
    REQUIRE(watch.wait_until_received(32 * kMiB));
    const bool interrupted = !fs::exists(b.file("big.raw"));
    b.daemon->kill_hard();
    watch.check_target();
    CHECK(!watch.partial_seen);
    UNSCOPED_INFO("killed in the middle of the transfer: " << interrupted);

    b.start();
    REQUIRE(watch.wait_until_complete());
    CHECK(!watch.partial_seen);
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

TEST_CASE("SIGTERM in the middle of a transfer: exit 0 within 5 s, no partial file, index intact",
          "[cli][daemon][crash]") {
    TestCluster cluster(2);
    cluster.setup();
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    write_big_file(a.file("big.raw"), 128 * kMiB, 21);
    write_file(a.file("small.txt"), "small\n");
    ReceiveWatch watch{b, "big.raw", 128 * kMiB, file_digest(a.file("big.raw"))};
    cluster.scan(0);

    INFO(b.daemon_log());
    REQUIRE(watch.wait_until_received(16 * kMiB));
    const auto asked = std::chrono::steady_clock::now();
    CHECK(b.daemon->stop(5s) == 0);  // -1: still running after 5 s (then killed)
    CHECK(std::chrono::steady_clock::now() - asked < 5s);
    watch.check_target();
    CHECK(!watch.partial_seen);
    CHECK_THAT(b.daemon_log(), Catch::Contains("stopped"));

    // The index opens and answers; what was received before the stop is in it.
    const Run ls = b.ferry({"ls", "docs:", "--json"});
    INFO(ls.err);
    CHECK(ls.status == 0);
    b.start();
    REQUIRE(watch.wait_until_complete());
    CHECK(!watch.partial_seen);
    REQUIRE(cluster.wait_converged(120s));
    CHECK(file_digest(b.file("big.raw")) == file_digest(a.file("big.raw")));
}
