// hash-file-bench: chunk and hash one file with hash_file, as the scanner does.
//
// Usage: hash-file-bench PATH [--threads N] [--segment BYTES] [--repeat N]
// Reads PATH through PosixFilesystem (rooted at its directory) and prints the
// elapsed wall-clock seconds (best of --repeat runs), GB/s, the chunk count
// and the process CPU seconds (user + system) of that run, as a line of text
// and a line of JSON. On a shared machine the CPU time shows what the run
// cost when the wall time includes other processes' turns. bench/scan.sh runs it next to
// `openssl dgst -sha256`, `b2sum` and `b3sum --num-threads 1` on the same file.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <sys/resource.h>

#include "fs/file_hasher.hh"
#include "fs/posix_filesystem.hh"

namespace {

double process_cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6; };
    return sec(usage.ru_utime) + sec(usage.ru_stime);
}

}  // namespace

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
    double best_cpu = 0;
    std::size_t chunks = 0;
    std::uint64_t size = 0;
    for (int r = 0; r < repeat; ++r) {
        const double cpu0 = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        const auto result = ferry::hash_file(fs, path.filename().string(), options);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        const double cpu = process_cpu_seconds() - cpu0;
        if (!result) {
            std::fprintf(stderr, "hash-file-bench: %s\n", result.error().message.c_str());
            return 1;
        }
        if (seconds < best) {
            best = seconds;
            best_cpu = cpu;
        }
        chunks = result->chunks.size();
        size = result->stat.size;
    }
    const double gbps = static_cast<double>(size) / best / 1e9;
    std::printf("%s: %.3f s, %.2f GB/s, %zu chunks, %.3f s CPU (threads %u)\n", path.c_str(), best, gbps, chunks,
                best_cpu, options.threads);
    std::printf("{\"bench\":\"hash-file\",\"bytes\":%llu,\"seconds\":%.4f,\"gbps\":%.3f,\"chunks\":%zu,"
                "\"cpu_seconds\":%.4f,\"threads\":%u}\n",
                static_cast<unsigned long long>(size), best, gbps, chunks, best_cpu, options.threads);
    return 0;
}
