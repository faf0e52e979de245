// chunk-params: measures FastCDC parameter candidates, to choose kChunkerParams.
//
// For avg in {8,16,32,64,128} KiB (min = avg/4, max = 4*avg) on a 256 MiB
// pseudo-random file: chunking throughput on one core, chunks per GiB, and for
// a 1 KiB insertion in the middle (several positions, averaged) the bytes of
// new chunks plus the chunk-list metadata a peer needs: (a) the whole new list
// at 36 bytes a chunk, (b) only the changed run. Prints a table, then JSON.
// Throughput is bytes per second of this thread's CPU time (the machine is shared).
//
// Usage: chunk-params [--mib N] [--edits N]
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/chunk_hash.hh"
#include "core/chunker.hh"

namespace {

constexpr double kRsyncBytes = 184e3;     // rsync's figure for this edit (DESIGN.md)
constexpr std::size_t kChunkRefBytes = 36;  // 32-byte hash + 4-byte size
constexpr std::size_t kRunHeaderBytes = 16;  // where the run starts, how many old chunks it replaces

std::vector<std::uint8_t> random_bytes(std::size_t n, std::uint64_t seed) {
    std::vector<std::uint8_t> out(n);
    std::uint64_t s = seed;
    for (std::size_t i = 0; i + 8 <= n; i += 8) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        std::memcpy(out.data() + i, &s, 8);
    }
    return out;
}

struct Chunk {
    std::uint64_t offset;
    std::uint32_t size;
};

std::vector<Chunk> chunk_all(const std::vector<std::uint8_t>& data, ferry::ChunkerParams p) {
    std::vector<Chunk> chunks;
    std::uint64_t start = 0;
    for (const std::uint32_t size : ferry::chunk_sizes(data, p)) {
        chunks.push_back({start, size});
        start += size;
    }
    return chunks;
}

std::vector<ferry::ChunkHash> hashes_of(const std::vector<std::uint8_t>& data, const std::vector<Chunk>& chunks) {
    std::vector<ferry::ChunkHash> out;
    out.reserve(chunks.size());
    for (const Chunk& c : chunks) out.push_back(ferry::hash_chunk({data.data() + c.offset, c.size}));
    return out;
}

// CPU time of this thread: the machine is shared, and wall time would count
// other processes' turns as chunking time.
double thread_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Row {
    std::uint32_t min, avg, max;
    double gbps;
    double chunks_per_gib;
    double mean_size;
    double new_bytes;      // bytes of new chunks, averaged over edits
    double changed_run;    // chunks in the changed run of the new list, averaged
    double meta_full;      // (a)
    double meta_run;       // (b)
};

}  // namespace

int main(int argc, char** argv) {
    std::size_t mib = 256;
    int edits = 5;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (std::strcmp(argv[i], "--mib") == 0) mib = std::strtoul(argv[i + 1], nullptr, 10);
        else if (std::strcmp(argv[i], "--edits") == 0) edits = std::atoi(argv[i + 1]);
    }
    const std::size_t size = mib << 20;
    const std::vector<std::uint8_t> base = random_bytes(size, 0x1234567);
    const std::vector<std::uint8_t> insertion = random_bytes(1024, 0xabcdef);

    std::vector<Row> rows;
    for (const std::uint32_t avg_kib : {8U, 16U, 32U, 64U, 128U}) {
        const ferry::ChunkerParams p{avg_kib * 1024 / 4, avg_kib * 1024, avg_kib * 1024 * 4};
        Row row{p.min_size, p.avg_size, p.max_size, 0, 0, 0, 0, 0, 0, 0};

        double best = 1e9;
        std::vector<Chunk> chunks;
        for (int rep = 0; rep < 3; ++rep) {
            const double t0 = thread_seconds();
            chunks = chunk_all(base, p);
            best = std::min(best, thread_seconds() - t0);
        }
        row.gbps = static_cast<double>(size) / best / 1e9;
        row.chunks_per_gib = static_cast<double>(chunks.size()) * (1024.0 / static_cast<double>(mib));
        row.mean_size = static_cast<double>(size) / static_cast<double>(chunks.size());

        const auto old_hashes = hashes_of(base, chunks);
        const std::unordered_set<ferry::ChunkHash> old_set(old_hashes.begin(), old_hashes.end());
        for (int e = 0; e < edits; ++e) {
            // Positions spread over the middle fifth of the file, not aligned to anything.
            const std::size_t at = size * 2 / 5 + (size / 5) * static_cast<std::size_t>(e) /
                                                      static_cast<std::size_t>(edits) + 4099 * static_cast<std::size_t>(e);
            std::vector<std::uint8_t> edited;
            edited.reserve(size + insertion.size());
            edited.insert(edited.end(), base.begin(), base.begin() + static_cast<std::ptrdiff_t>(at));
            edited.insert(edited.end(), insertion.begin(), insertion.end());
            edited.insert(edited.end(), base.begin() + static_cast<std::ptrdiff_t>(at), base.end());
            const auto new_chunks = chunk_all(edited, p);
            const auto new_hashes = hashes_of(edited, new_chunks);
            std::size_t first = 0, last = 0, new_bytes = 0;
            bool any = false;
            for (std::size_t i = 0; i < new_chunks.size(); ++i) {
                if (old_set.count(new_hashes[i]) != 0) continue;
                new_bytes += new_chunks[i].size;
                if (!any) first = i;
                last = i;
                any = true;
            }
            const double run = any ? static_cast<double>(last - first + 1) : 0.0;
            row.new_bytes += static_cast<double>(new_bytes) / edits;
            row.changed_run += run / edits;
            row.meta_full += static_cast<double>(new_chunks.size() * kChunkRefBytes) / edits;
            row.meta_run += (run * kChunkRefBytes + kRunHeaderBytes) / edits;
        }
        rows.push_back(row);
    }

    std::printf("file %zu MiB, %d insertions of 1 KiB; rsync moves %.0f KB for this edit\n", mib, edits,
                kRsyncBytes / 1e3);
    std::printf("%-20s %8s %12s %10s %12s %8s %14s %14s\n", "min/avg/max KiB", "GB/s", "chunks/GiB",
                "mean KiB", "new KB", "run", "new+list KB", "new+run KB");
    for (const Row& r : rows) {
        std::printf("%-20s %8.2f %12.0f %10.1f %12.1f %8.1f %14.1f %14.1f\n",
                    (std::to_string(r.min / 1024) + "/" + std::to_string(r.avg / 1024) + "/" +
                     std::to_string(r.max / 1024)).c_str(),
                    r.gbps, r.chunks_per_gib, r.mean_size / 1024, r.new_bytes / 1e3, r.changed_run,
                    (r.new_bytes + r.meta_full) / 1e3, (r.new_bytes + r.meta_run) / 1e3);
    }
    std::printf("{\"bench\":\"chunk-params\",\"file_mib\":%zu,\"edits\":%d,\"rows\":[", mib, edits);
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::printf("%s{\"min\":%u,\"avg\":%u,\"max\":%u,\"gbps\":%.3f,\"chunks_per_gib\":%.0f,"
                    "\"new_bytes\":%.0f,\"changed_run\":%.2f,\"wire_full_list\":%.0f,\"wire_run\":%.0f}",
                    i ? "," : "", r.min, r.avg, r.max, r.gbps, r.chunks_per_gib, r.new_bytes, r.changed_run,
                    r.new_bytes + r.meta_full, r.new_bytes + r.meta_run);
    }
    std::printf("]}\n");
    return 0;
}
