#include "fs/file_hasher.hh"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/chunk_hash.hh"
#include "fs/fault_filesystem.hh"
#include "fs/memory_filesystem.hh"
#include "fs/posix_filesystem.hh"

using ferry::ChunkerParams;
using ferry::ChunkRef;
using ferry::Errc;
using ferry::HashOptions;

namespace {

constexpr ChunkerParams kSmall{1024, 4096, 16384};

// Random bytes with a run of zeros in the middle, so max_size cuts occur too.
std::vector<std::uint8_t> test_bytes(std::size_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<std::uint8_t> out(n);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    if (n > 200000) std::fill(out.begin() + 100000, out.begin() + 160000, std::uint8_t{0});
    return out;
}

// The chunk list one sequential pass over the whole buffer gives.
std::vector<ChunkRef> sequential(const std::vector<std::uint8_t>& data, ChunkerParams params) {
    std::vector<ChunkRef> out;
    std::size_t pos = 0;
    for (const std::uint32_t size : ferry::chunk_sizes(data, params)) {
        out.push_back({ferry::hash_chunk(std::span(data).subspan(pos, size)), size});
        pos += size;
    }
    return out;
}

struct TempDir {
    std::string path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "ferry-hasher-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

}  // namespace

TEST_CASE("hash_file equals sequential chunking and hashing for any threads and segment size", "[file_hasher]") {
    ferry::MemoryFilesystem fs;
    const std::vector<std::size_t> sizes = {0,
                                            1,
                                            kSmall.min_size - 1,
                                            kSmall.min_size,
                                            kSmall.max_size,
                                            kSmall.max_size + 1,
                                            3 * 1024 * 1024 + 17,
                                            std::mt19937_64(9)() % 2000000};
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        const auto data = test_bytes(sizes[i], i);
        const std::string name = "f" + std::to_string(i);
        REQUIRE(ferry::write_whole_file(fs, name, data));
        const auto expected = sequential(data, kSmall);
        for (const unsigned threads : {1U, 2U, 3U}) {
            for (const std::uint64_t segment : {std::uint64_t{0}, std::uint64_t{1000}, std::uint64_t{kSmall.min_size},
                                                std::uint64_t{100000}, std::uint64_t{1} << 20}) {
                HashOptions options;
                options.params = kSmall;
                options.threads = threads;
                options.segment_size = segment;
                const auto result = ferry::hash_file(fs, name, options);
                INFO("size " << sizes[i] << " threads " << threads << " segment " << segment);
                REQUIRE(result);
                CHECK(result->chunks == expected);
                CHECK(result->stat.size == sizes[i]);
            }
        }
    }
}

TEST_CASE("hash_file with the protocol parameters and defaults", "[file_hasher]") {
    ferry::MemoryFilesystem fs;
    const auto data = test_bytes(5 * 1024 * 1024 + 3, 77);
    REQUIRE(ferry::write_whole_file(fs, "big", data));
    HashOptions options;
    options.segment_size = 1024 * 1024;
    const auto result = ferry::hash_file(fs, "big", options);
    REQUIRE(result);
    CHECK(result->chunks == sequential(data, ferry::kChunkerParams));
    const auto defaults = ferry::hash_file(fs, "big");
    REQUIRE(defaults);
    CHECK(defaults->chunks == result->chunks);
}

TEST_CASE("hash_file reports progress up to the file size", "[file_hasher]") {
    ferry::MemoryFilesystem fs;
    const auto data = test_bytes(2 * 1024 * 1024, 5);
    REQUIRE(ferry::write_whole_file(fs, "p", data));
    std::vector<std::uint64_t> seen;
    HashOptions options;
    options.params = kSmall;
    options.threads = 2;
    options.segment_size = 300000;
    options.on_bytes = [&](std::uint64_t total) { seen.push_back(total); };  // never called concurrently
    REQUIRE(ferry::hash_file(fs, "p", options));
    REQUIRE(!seen.empty());
    CHECK(std::is_sorted(seen.begin(), seen.end()));
    CHECK(seen.back() == data.size());
}

TEST_CASE("hash_file notices a file that grows while it is read", "[file_hasher]") {
    ferry::MemoryFilesystem mem;
    ferry::FaultInjectingFilesystem fs(mem);
    REQUIRE(ferry::write_whole_file(mem, "g", test_bytes(500000, 1)));
    const std::vector<std::uint8_t> more(10, 1);
    std::atomic<bool> grown{false};
    fs.set_hook([&](ferry::FsOp op, std::string_view path) -> ferry::Result<void> {
        if (op == ferry::FsOp::read && !grown.exchange(true)) return mem.append(path, more);
        return {};
    });
    for (const unsigned threads : {1U, 2U}) {
        grown = false;
        HashOptions options;
        options.params = kSmall;
        options.threads = threads;
        options.segment_size = 100000;
        const auto result = ferry::hash_file(fs, "g", options);
        REQUIRE(!result);
        CHECK(result.error().code == Errc::changed);
        CHECK(result.error().message.find("'g'") != std::string::npos);
    }
}

TEST_CASE("hash_file notices a file that shrinks while it is read", "[file_hasher]") {
    ferry::MemoryFilesystem mem;
    ferry::FaultInjectingFilesystem fs(mem);
    REQUIRE(ferry::write_whole_file(mem, "s", test_bytes(500000, 2)));
    bool truncated = false;
    fs.set_hook([&](ferry::FsOp op, std::string_view path) -> ferry::Result<void> {
        if (op != ferry::FsOp::read || truncated) return {};
        truncated = true;
        auto writer = mem.open_write(path, 0644);  // truncates the same file
        if (!writer) return tl::unexpected(writer.error());
        return {};
    });
    HashOptions options;
    options.params = kSmall;
    options.threads = 1;
    const auto result = ferry::hash_file(fs, "s", options);
    REQUIRE(!result);
    CHECK(result.error().code == Errc::changed);
}

TEST_CASE("hash_file notices a file replaced before a second thread opens it", "[file_hasher]") {
    ferry::MemoryFilesystem mem;
    ferry::FaultInjectingFilesystem fs(mem);
    const auto data = test_bytes(800000, 3);
    REQUIRE(ferry::write_whole_file(mem, "r", data));
    int opens = 0;
    fs.set_hook([&](ferry::FsOp op, std::string_view) -> ferry::Result<void> {
        if (op != ferry::FsOp::open_read || ++opens != 2) return {};
        // Same size and contents, new inode: what an editor's save looks like.
        if (auto w = ferry::write_whole_file(mem, "r.tmp", data); !w) return w;
        return mem.rename("r.tmp", "r");
    });
    HashOptions options;
    options.params = kSmall;
    options.threads = 2;
    options.segment_size = 100000;
    const auto result = ferry::hash_file(fs, "r", options);
    REQUIRE(!result);
    CHECK(result.error().code == Errc::changed);
}

TEST_CASE("hash_file passes filesystem errors on", "[file_hasher]") {
    ferry::MemoryFilesystem mem;
    ferry::FaultInjectingFilesystem fs(mem);
    REQUIRE(ferry::write_whole_file(mem, "e", test_bytes(300000, 4)));
    CHECK(ferry::hash_file(fs, "missing").error().code == Errc::not_found);
    fs.fail_always(ferry::FsOp::read, "e", Errc::io);
    HashOptions options;
    options.params = kSmall;
    options.segment_size = 50000;
    options.threads = 2;
    const auto result = ferry::hash_file(fs, "e", options);
    REQUIRE(!result);
    CHECK(result.error().code == Errc::io);
}

TEST_CASE("hash_file on a real file through PosixFilesystem", "[file_hasher]") {
    TempDir dir;
    ferry::PosixFilesystem fs(dir.path);
    const auto data = test_bytes(3 * 1024 * 1024 + 5, 6);
    REQUIRE(ferry::write_whole_file(fs, "real.bin", data));
    HashOptions options;
    options.threads = 2;
    options.segment_size = 512 * 1024;
    const auto result = ferry::hash_file(fs, "real.bin", options);
    REQUIRE(result);
    CHECK(result->chunks == sequential(data, ferry::kChunkerParams));
    CHECK(result->stat.size == data.size());
}
