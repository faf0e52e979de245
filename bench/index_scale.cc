// index-scale-bench: how the store behaves with a million files.
//
//   index-scale-bench [--files N] [--chunks-per-file M] [--db PATH]
//
// Inserts N file records (M chunks each, random hashes and sizes, ~1,000
// files a directory) through Store::put_files in batches of 1,000, as the
// scanner does, then reports the insert time, the database size (main file
// plus WAL after the last connection closed, which checkpoints), bytes per
// file and per chunk, the mean find_chunk time over 10,000 existing hashes,
// and the time to list one directory. A second, small database measures what
// a no-change rescan of 100,000 files in 1,000 directories spends in
// children(), and the cost of a one-record commit (one fsync: the price of
// synchronous=FULL). Prints a table, then one line of JSON. The databases
// are deleted at the end.
#include <stdlib.h>
#include <sys/stat.h>

#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "store/store.hh"

using namespace ferry;

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of this process: on a shared machine the wall time also counts
// other people's work, so both are reported.
double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void die(const std::string& message) {
    std::fprintf(stderr, "index-scale-bench: %s\n", message.c_str());
    std::exit(1);
}

template <class T>
T check(Result<T> result, const char* what) {
    if (!result) die(std::string(what) + ": " + result.error().message);
    if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// splitmix64: fast, and the same figures on every run.
struct Random {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9e3779b97f4a7c15);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
        z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
        return z ^ (z >> 31);
    }
    ChunkHash hash() {
        ChunkHash h;
        for (std::size_t i = 0; i < 32; i += 8) {
            const std::uint64_t v = next();
            std::memcpy(h.bytes.data() + i, &v, 8);
        }
        return h;
    }
};

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<std::uint64_t>(st.st_size) : 0;
}

void remove_database(const std::string& path) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
}

std::string dir_name(std::size_t i) {
    char name[32];
    std::snprintf(name, sizeof name, "dir-%05zu", i);
    return name;
}

struct Fill {
    std::size_t files = 0;
    std::size_t chunks_per_file = 0;
    std::size_t files_per_dir = 0;
    std::size_t sample_every = 0;        // keep every n-th chunk hash; 0: none
    std::vector<ChunkHash> samples = {};
    double seconds = 0;
    double cpu = 0;
};

// Inserts the records, 1,000 a batch, directory by directory.
void fill(Store& store, Fill& spec, Random& rng) {
    const ShortId device{0x1234'5678'9abc'def0};
    VersionVector version;
    version.increment(device);
    std::vector<FileUpdate> batch;
    std::size_t chunk_counter = 0;
    const auto start = Clock::now();
    const double cpu_start = cpu_seconds();
    for (std::size_t i = 0; i < spec.files; ++i) {
        FileUpdate update;
        FileRecord& r = update.record;
        char name[32];
        std::snprintf(name, sizeof name, "file-%04zu.dat", i % spec.files_per_dir);
        r.path = dir_name(i / spec.files_per_dir) + "/" + name;
        r.mtime_ns = 1'700'000'000'000'000'000 + static_cast<std::int64_t>(rng.next() % 1'000'000'000'000'000);
        r.mode = 0644;
        r.version = version;
        r.modified_by = device;
        r.chunks.reserve(spec.chunks_per_file);
        for (std::size_t c = 0; c < spec.chunks_per_file; ++c) {
            // Sizes as a content-defined chunker gives them: 16 KiB to 256 KiB.
            const auto size = static_cast<std::uint32_t>(16384 + rng.next() % (256 * 1024 - 16384));
            r.chunks.push_back(ChunkRef{rng.hash(), size});
            r.size += size;
            if (spec.sample_every && chunk_counter++ % spec.sample_every == 0)
                spec.samples.push_back(r.chunks.back().hash);
        }
        update.inode = rng.next();
        batch.push_back(std::move(update));
        if (batch.size() == 1000 || i + 1 == spec.files) {
            check(store.put_files("bench", batch), "insert a batch");
            batch.clear();
        }
    }
    spec.seconds = seconds_since(start);
    spec.cpu = cpu_seconds() - cpu_start;
}

std::unique_ptr<Store> open_with_folder(const std::string& path) {
    auto store = check(Store::open(path), "open the database");
    check(store->add_folder(Folder{"bench", "/bench", FolderMode::send_receive}), "add a folder");
    return store;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t files = 1'000'000;
    std::size_t chunks_per_file = 10;
    std::string db_path;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (i + 1 >= argc) die("usage: index-scale-bench [--files N] [--chunks-per-file M] [--db PATH]");
        if (arg == "--files") files = std::stoul(argv[++i]);
        else if (arg == "--chunks-per-file") chunks_per_file = std::stoul(argv[++i]);
        else if (arg == "--db") db_path = argv[++i];
        else die("unknown argument " + arg);
    }
    if (files == 0 || chunks_per_file == 0) die("--files and --chunks-per-file must be positive");
    std::string temp_dir;
    if (db_path.empty()) {
        std::string pattern = (std::filesystem::temp_directory_path() / "ferry-index-XXXXXX").string();
        if (!mkdtemp(pattern.data())) die("cannot create a temporary directory under /tmp");
        temp_dir = pattern;
        db_path = temp_dir + "/index.db";
    }
    if (std::filesystem::exists(db_path)) die(db_path + " exists already: give a new path");
    const std::string small_path = db_path + ".rescan";
    Random rng{42};

    // The big index.
    Fill big{files, chunks_per_file, 1000, 0};
    big.sample_every = std::max<std::size_t>(1, files * chunks_per_file / 10'000);
    {
        auto store = open_with_folder(db_path);
        fill(*store, big, rng);
    }  // closing the last connection checkpoints the WAL into the main file
    const std::uint64_t db_bytes = file_size(db_path) + file_size(db_path + "-wal");
    const double total_chunks = static_cast<double>(files * chunks_per_file);

    auto store = check(Store::open(db_path), "reopen the database");
    std::size_t missing = 0;
    auto start = Clock::now();
    double cpu_start = cpu_seconds();
    for (const auto& hash : big.samples) {
        if (check(store->find_chunk(hash, 1), "look up a chunk").empty()) ++missing;
    }
    const double lookups = static_cast<double>(big.samples.size());
    const double lookup_us = seconds_since(start) * 1e6 / lookups;
    const double lookup_cpu_us = (cpu_seconds() - cpu_start) * 1e6 / lookups;
    if (missing) die(std::to_string(missing) + " inserted chunks were not found");

    const std::size_t dirs = (files + 999) / 1000;
    const std::size_t list_count = std::min<std::size_t>(dirs, 100);
    std::size_t listed = 0;
    start = Clock::now();
    cpu_start = cpu_seconds();
    for (std::size_t i = 0; i < list_count; ++i) {
        listed += check(store->children("bench", dir_name(i * dirs / list_count)), "list a directory").size();
    }
    const double list_ms = seconds_since(start) * 1e3 / static_cast<double>(list_count);
    const double list_cpu_ms = (cpu_seconds() - cpu_start) * 1e3 / static_cast<double>(list_count);
    store.reset();
    remove_database(db_path);

    // The no-change rescan's share: children() of 1,000 directories of 100 files.
    Fill small{100'000, chunks_per_file, 100, 0};
    auto rescan_store = open_with_folder(small_path);
    fill(*rescan_store, small, rng);
    std::size_t entries = 0;
    start = Clock::now();
    cpu_start = cpu_seconds();
    for (std::size_t d = 0; d < 1000; ++d)
        entries += check(rescan_store->children("bench", dir_name(d)), "list a directory").size();
    const double rescan_s = seconds_since(start);
    const double rescan_cpu_s = cpu_seconds() - cpu_start;
    if (entries != 100'000) die("the rescan listing saw " + std::to_string(entries) + " entries");

    // One record per commit, as the watcher will write single changes.
    const int commits = 200;
    start = Clock::now();
    for (int i = 0; i < commits; ++i) {
        std::vector<FileUpdate> one(1);
        one[0].record.path = "single/file-" + std::to_string(i % 10);
        one[0].record.version.increment(ShortId{1});
        check(rescan_store->put_files("bench", one), "commit one record");
    }
    const double commit_ms = seconds_since(start) * 1e3 / commits;
    rescan_store.reset();
    remove_database(small_path);
    if (!temp_dir.empty()) std::filesystem::remove_all(temp_dir);

    const double per_file = static_cast<double>(db_bytes) / static_cast<double>(files);
    const double per_chunk = static_cast<double>(db_bytes) / total_chunks;
    std::printf("%-46s %12s %12s\n", "measure", "wall", "cpu");
    std::printf("%-46s %12zu\n", "files", files);
    std::printf("%-46s %12.0f\n", "chunks", total_chunks);
    std::printf("%-46s %12.1f %12.1f  (target < 120 s)\n", "insert, s (batches of 1,000)", big.seconds,
                big.cpu);
    std::printf("%-46s %12llu\n", "database bytes (main + WAL, checkpointed)",
                static_cast<unsigned long long>(db_bytes));
    std::printf("%-46s %12.1f\n", "bytes per file", per_file);
    std::printf("%-46s %12.1f  (target < 120)\n", "bytes per chunk", per_chunk);
    std::printf("%-46s %12.1f %12.1f\n", "find_chunk, us (mean of 10,000 hashes)", lookup_us,
                lookup_cpu_us);
    std::printf("%-46s %12.2f %12.2f\n", "children() of a 1,000-entry directory, ms", list_ms,
                list_cpu_ms);
    std::printf("%-46s %12.3f %12.3f  (target well under 0.2 s)\n",
                "rescan share: children() of 1,000 x 100, s", rescan_s, rescan_cpu_s);
    std::printf("%-46s %12.2f\n", "one-record commit (synchronous=FULL), ms", commit_ms);
    std::printf(
        "{\"files\":%zu,\"chunks\":%.0f,\"insert_s\":%.2f,\"insert_cpu_s\":%.2f,\"db_bytes\":%llu,"
        "\"bytes_per_file\":%.1f,\"bytes_per_chunk\":%.1f,\"lookup_us\":%.2f,\"lookup_cpu_us\":%.2f,"
        "\"list_dir_ms\":%.3f,\"rescan_children_s\":%.4f,\"rescan_children_cpu_s\":%.4f,"
        "\"commit_ms\":%.3f}\n",
        files, total_chunks, big.seconds, big.cpu, static_cast<unsigned long long>(db_bytes), per_file,
        per_chunk, lookup_us, lookup_cpu_us, list_ms, rescan_s, rescan_cpu_s, commit_ms);
    return 0;
}
