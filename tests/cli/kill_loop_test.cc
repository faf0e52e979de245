// Issue 7: the receiving daemon killed with SIGKILL twenty times at random
// moments of a large sync (index exchange, the middle of a file, between a
// rename and its index commit) and restarted each time on the same
// FERRY_HOME and port, while the sender edits, deletes, renames and rewrites
// a few files. Afterwards the receiver must hold the sender's tree exactly,
// no temporary file, an index that agrees with its disk and with the
// sender's (no change of its own invented after a crash), and a log without
// database errors.
//
// Seeded: the seed is printed; FERRY_KILL_SEED=N repeats a run's tree, waits
// and changes (the daemons' own timing still varies). Without it every run
// draws a new seed.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "cluster_util.hh"
#include "core/conflict_name.hh"
#include "crypto/device_id.hh"
#include "store/store.hh"

using namespace ferry::test;
namespace fs = std::filesystem;

namespace {

constexpr std::size_t kKiB = 1024;
constexpr std::size_t kMiB = 1024 * kKiB;
constexpr int kKills = 20;
constexpr int kSmallFiles = 600;
constexpr int kMediumFiles = 6;

std::uint64_t test_seed() {
    if (const char* text = std::getenv("FERRY_KILL_SEED"); text != nullptr && *text != '\0')
        return std::strtoull(text, nullptr, 10);
    return std::random_device{}();
}

std::string medium_file(int i) { return "media/m" + std::to_string(i) + ".bin"; }

// The sender's tree: small files (0-24 KiB) in directories nested up to
// three deep, medium ones of 1-4 MiB, two of tens of MiB. Returns the small
// files' paths.
std::vector<std::string> write_source_tree(const std::string& root, std::mt19937_64& rng) {
    std::vector<std::string> small;
    for (int i = 0; i < kSmallFiles; ++i) {
        std::string path;
        for (auto depth = rng() % 4; depth > 0; --depth) path += "d" + std::to_string(rng() % 3) + "/";
        path += "f" + std::to_string(i) + ".txt";
        write_file(root + "/" + path, random_bytes(rng() % (24 * kKiB), rng()));
        small.push_back(path);
    }
    for (int i = 0; i < kMediumFiles; ++i)
        write_big_file(root + "/" + medium_file(i), kMiB + rng() % (3 * kMiB), rng());
    write_big_file(root + "/big/video.raw", 40 * kMiB, rng());
    write_big_file(root + "/big/disk.img", 24 * kMiB, rng());
    return small;
}

// One change on the sender, made as an editor makes it (written beside the
// folder, renamed in: its scan never sees half a file), then scanned.
// `kind` cycles through edit, delete, rename into another directory, and
// rewrites of a medium and of a large file; `small` follows the small files.
// Returns what it did.
std::string change_source(TestCluster& cluster, std::vector<std::string>& small, int kind,
                          std::mt19937_64& rng) {
    TestDevice& a = cluster[0];
    const std::string scratch = cluster.root() + "/scratch";
    const std::size_t pick = rng() % small.size();
    std::string what;
    switch (kind % 5) {
        case 0:
            write_file(scratch, random_bytes(rng() % (24 * kKiB), rng()));
            fs::rename(scratch, a.file(small[pick]));
            what = "edited " + small[pick];
            break;
        case 1:
            fs::remove(a.file(small[pick]));
            what = "deleted " + small[pick];
            small.erase(small.begin() + static_cast<std::ptrdiff_t>(pick));
            break;
        case 2: {
            const std::string to = "moved/" + fs::path(small[pick]).filename().string();
            fs::create_directories(a.file("moved"));
            fs::rename(a.file(small[pick]), a.file(to));
            what = "renamed " + small[pick] + " to " + to;
            small[pick] = to;
            break;
        }
        case 3: {
            const std::string medium = medium_file(static_cast<int>(rng() % kMediumFiles));
            write_big_file(scratch, 2 * kMiB, rng());
            fs::rename(scratch, a.file(medium));
            what = "rewrote " + medium;
            break;
        }
        default:
            write_big_file(scratch, 24 * kMiB, rng());
            fs::rename(scratch, a.file("big/disk.img"));
            what = "rewrote big/disk.img";
    }
    cluster.scan(0);
    return what;
}

// What the receiver holds at a moment: regular files, and ferry's temporary
// files (anywhere, .ferry/ included) with their bytes.
struct Holdings {
    std::size_t files = 0;
    std::size_t temporaries = 0;
    std::uintmax_t temporary_bytes = 0;
    std::vector<std::string> temporary_paths;
};

Holdings holdings(const std::string& folder) {
    Holdings out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(folder, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        std::error_code entry_ec;
        if (!it->is_regular_file(entry_ec)) continue;
        if (it->path().filename().string().starts_with(".ferry-tmp.")) {
            ++out.temporaries;
            out.temporary_bytes += it->file_size(entry_ec);
            out.temporary_paths.push_back(it->path().lexically_relative(folder).string());
        } else {
            ++out.files;
        }
    }
    return out;
}

std::string listen_address(const TestDevice& device) {
    const Run status = device.ferry({"status", "--json"});
    INFO(status.err);
    REQUIRE(status.status == 0);
    const auto listening = parse_json(status.out)["listen"];
    REQUIRE(!listening.empty());
    return listening[0].get<std::string>();
}

std::unique_ptr<ferry::Store> open_index(const TestDevice& device) {
    auto store = ferry::Store::open(device.home + "/index.db");
    INFO((store ? "" : store.error().message));
    REQUIRE(store);
    return std::move(*store);
}

// Every record of the folder, by path.
std::map<std::string, ferry::FileRecord> index_records(ferry::Store& store) {
    std::map<std::string, ferry::FileRecord> out;
    const auto read = store.for_each_file("docs", [&](const ferry::FileRecord& r) -> ferry::Result<void> {
        out[r.path] = r;
        return {};
    });
    INFO((read ? "" : read.error().message));
    REQUIRE(read);
    return out;
}

}  // namespace

TEST_CASE("twenty kill -9 of the receiver during a large sync leave the sender's tree, no "
          "temporary file and an index that agrees with the disk",
          "[cli][daemon][crash][kill-loop]") {
    const std::uint64_t seed = test_seed();
    std::printf("kill loop: FERRY_KILL_SEED=%llu\n", static_cast<unsigned long long>(seed));
    INFO("FERRY_KILL_SEED=" << seed);
    std::mt19937_64 rng(seed);

    TestCluster cluster(2);
    TestDevice& a = cluster[0];
    TestDevice& b = cluster[1];
    std::vector<std::string> small = write_source_tree(a.folder, rng);
    cluster.setup();
    const std::string b_listen = listen_address(b);
    const auto started = std::chrono::steady_clock::now();

    // Waits between 5 ms and 1 s, even on a log scale: as many kills land
    // in the first few hundred milliseconds after a start (index exchange,
    // first files) as later in the transfer.
    std::uniform_real_distribution<double> log_wait(std::log(5.0), std::log(1000.0));
    for (int kill = 1; kill <= kKills; ++kill) {
        std::string change;
        if (kill % 2 == 0) change = change_source(cluster, small, kill / 2 - 1, rng);
        const auto wait = std::chrono::milliseconds(std::lround(std::exp(log_wait(rng))));
        std::this_thread::sleep_for(wait);
        const Holdings held = holdings(b.folder);
        b.daemon->kill_hard();
        std::printf("kill %2d after %4lld ms: %3zu files, %zu temporary (%.1f MiB)%s%s\n", kill,
                    static_cast<long long>(wait.count()), held.files, held.temporaries,
                    static_cast<double>(held.temporary_bytes) / kMiB,
                    change.empty() ? "" : "; sender ", change.c_str());
        std::fflush(stdout);
        b.start({"--listen", b_listen});
    }
    const std::chrono::duration<double> loop = std::chrono::steady_clock::now() - started;
    std::printf("kill loop: the kills took %.1f s\n", loop.count());

    REQUIRE(cluster.wait_converged(120s));
    std::printf("kill loop: converged %.1f s after the start of the loop\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    // No conflict: a kill between a file's rename into place and its index
    // commit, then a change of that file on the sender, once made the
    // restarted receiver take the file it had put in place for its own
    // edit (a false conflict). Its pending target now tells it apart.
    for (const auto& [path, digest] : tree_digest(a.folder)) {
        INFO(path);
        CHECK_FALSE(ferry::is_conflict_copy(path));
    }

    // The receiver knows it is in sync, and a rescan finds nothing its index
    // does not already say.
    const Run wait = b.ferry({"status", "--wait", "--timeout", "60", "--json"});
    if (wait.status != 0) FAIL(wait.err << b.daemon_log());
    const auto status = parse_json(wait.out);
    CHECK(status["in_sync"] == true);
    REQUIRE(status["folders"].size() == 1);
    const auto& folder = status["folders"][0];
    CHECK(folder["state"] != "error");
    CHECK(folder["error"] == "");
    CHECK(folder["need_files"] == 0);
    CHECK(folder["local_changes"].empty());
    CHECK(folder["problems"].empty());
    const Run scan = b.ferry({"scan"});
    INFO(scan.err);
    CHECK(scan.status == 0);
    CHECK_THAT(scan.out, Catch::Contains("; 0 changed"));

    CHECK(b.daemon->stop() == 0);
    CHECK(a.daemon->stop() == 0);
    const Holdings left = holdings(b.folder);
    INFO("temporary files left: " << left.temporary_paths.size());
    for (const std::string& path : left.temporary_paths) UNSCOPED_INFO("  " << path);
    CHECK(left.temporaries == 0);

    const std::string log = b.daemon_log();
    for (const char* word : {"corrupt", "malformed", "database", "SQLITE", "index.db"}) {
        INFO("the receiver's log mentions \"" << word << "\":\n" << log);
        CHECK(log.find(word) == std::string::npos);
    }

    // The receiver's index: every path of the disk, live, with its size,
    // mode and mtime; nothing live that the disk lacks; and each record the
    // sender's own version (the receiver changed nothing itself, so no
    // version of it may carry the receiver's counter).
    const auto b_id = ferry::DeviceId::parse(b.id());
    REQUIRE(b_id);
    const ferry::ShortId b_short = b_id->short_id();
    const auto a_records = index_records(*open_index(a));
    const auto b_records = index_records(*open_index(b));
    // (The sender's tombstones of files the receiver never had are not
    // needed there.)
    for (const auto& [path, record] : a_records) {
        INFO(path);
        if (!record.deleted) CHECK(b_records.count(path) == 1);
    }
    std::size_t live = 0;
    for (const auto& [path, record] : b_records) {
        INFO(path);
        const auto sender = a_records.find(path);
        REQUIRE(sender != a_records.end());
        CHECK(record.deleted == sender->second.deleted);
        CHECK(record.chunks == sender->second.chunks);
        CHECK(record.version.counter(b_short) == 0);
        CHECK(record.modified_by != b_short);
        CHECK(record.version == sender->second.version);
        struct stat st {};
        const bool on_disk = ::lstat(b.file(path).c_str(), &st) == 0;
        CHECK(on_disk == !record.deleted);
        if (!on_disk || record.deleted) continue;
        ++live;
        CHECK((st.st_mode & 07777) == record.mode);
        if (record.kind == ferry::FileKind::file) {
            CHECK(S_ISREG(st.st_mode));
            CHECK(static_cast<std::uint64_t>(st.st_size) == record.size);
            CHECK(st.st_mtim.tv_sec * 1'000'000'000LL + st.st_mtim.tv_nsec == record.mtime_ns);
        } else if (record.kind == ferry::FileKind::directory) {
            CHECK(S_ISDIR(st.st_mode));
        }
    }
    CHECK(live == tree_digest(b.folder).size());
}
