// hash-file-bench: chunk and hash one file with hash_file, as the scanner does.
//
// Usage: hash-file-bench PATH [--threads N] [--segment BYTES] [--repeat N]
// Reads PATH through PosixFilesystem (rooted at its directory) and prints the
// elapsed wall-clock seconds (best of --repeat runs), GB/s and the chunk
// count, as a line of text and a line of JSON. bench/scan.sh runs it next to
// `openssl dgst -sha256`, `b2sum` and `b3sum --num-threads 1` on the same file.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "fs/file_hasher.hh"
#include "fs/posix_filesystem.hh"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s PATH [--threads N] [--segment BYTES] [--repeat N]\n", argv[0]);
        return 2;
    }
    ferry::HashOptions options;
    int repeat = 1;
    for (int i = 2; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--threads") == 0) options.threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
        else if (std::strcmp(argv[i], "--segment") == 0) options.segment_size = std::strtoull(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--repeat") == 0) repeat = std::max(1, std::atoi(argv[i + 1]));
        else {
            std::fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    const std::filesystem::path path = std::filesystem::absolute(argv[1]);
    ferry::PosixFilesystem fs(path.parent_path().string());

    double best = 1e9;
    std::size_t chunks = 0;
    std::uint64_t size = 0;
    for (int r = 0; r < repeat; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto result = ferry::hash_file(fs, path.filename().string(), options);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!result) {
            std::fprintf(stderr, "hash-file-bench: %s\n", result.error().message.c_str());
            return 1;
        }
        best = std::min(best, seconds);
        chunks = result->chunks.size();
        size = result->stat.size;
    }
    const double gbps = static_cast<double>(size) / best / 1e9;
    std::printf("%s: %.3f s, %.2f GB/s, %zu chunks (threads %u)\n", path.c_str(), best, gbps, chunks,
                options.threads);
    std::printf("{\"bench\":\"hash-file\",\"bytes\":%llu,\"seconds\":%.4f,\"gbps\":%.3f,\"chunks\":%zu,\"threads\":%u}\n",
                static_cast<unsigned long long>(size), best, gbps, chunks, options.threads);
    return 0;
}
