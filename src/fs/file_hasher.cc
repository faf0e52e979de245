#include "fs/file_hasher.hh"

#include <algorithm>
#include <atomic>
#include <limits>
#include <memory>
#include <new>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "core/chunk_hash.hh"

namespace ferry {
namespace {

// Per thread. 256 KiB stays in L2 while the chunker and then the hasher read
// it. CPU seconds for 1 GiB on one thread, best of 3: 64 KiB 1.24 s,
// 256 KiB 1.19 s, 1 MiB 1.18 s.
constexpr std::size_t kBufferSize = 256 * 1024;

// A read buffer on a page boundary: the kernel copies into a misaligned
// buffer about 4x slower (pread of 1 GiB from page cache here: 0.75 s of
// system time at a malloc'ed +16 offset, 0.18 s page-aligned).
class ReadBuffer {
public:
    explicit ReadBuffer(std::size_t size)
        : m_data(new (std::align_val_t{kAlignment}) std::uint8_t[size]), m_size(size) {}
    std::span<std::uint8_t> span() { return {m_data.get(), m_size}; }

private:
    static constexpr std::size_t kAlignment = 4096;
    struct Free {
        void operator()(std::uint8_t* p) const { ::operator delete[](p, std::align_val_t{kAlignment}); }
    };
    std::unique_ptr<std::uint8_t[], Free> m_data;
    std::size_t m_size;
};

std::string quoted(std::string_view path) { return "'" + std::string(path) + "'"; }

bool same_file_version(const FileStat& a, const FileStat& b) {
    return a.size == b.size && a.mtime_ns == b.mtime_ns && a.ctime_ns == b.ctime_ns &&
           a.inode == b.inode && a.device == b.device;
}

Error changed_error(std::string_view path, const std::string& what) {
    return Error{Errc::changed, quoted(path) + ": changed while being hashed (" + what +
                                    "); it needs to be scanned again"};
}

// Reports the running total of bytes read, one call at a time.
class Progress {
public:
    explicit Progress(const std::function<void(std::uint64_t)>& callback) : m_callback(callback) {}
    void add(std::uint64_t bytes) {
        if (!m_callback) return;
        const std::lock_guard lock(m_mutex);
        m_total += bytes;
        m_callback(m_total);
    }

private:
    const std::function<void(std::uint64_t)>& m_callback;
    std::mutex m_mutex;
    std::uint64_t m_total = 0;
};

// What chunking a range found, starting as if a chunk began at `begin`.
struct Pass {
    std::uint64_t begin = 0;
    std::vector<ChunkRef> chunks;       // complete chunks, from `begin` on
    std::vector<std::uint64_t> starts;  // their offsets in the file
    std::uint64_t tail = 0;             // where the unfinished chunk starts (the file size if none)
};

struct PassInput {
    ReadFile& file;
    std::string_view path;
    std::uint64_t file_size;
    const ChunkerParams& params;
    std::span<std::uint8_t> buffer;
};

// Chunks and hashes [begin, end) of the file; at the end of the file the
// remaining bytes are the last chunk. Returns after `max_chunks` chunks, or
// early (with a partial pass) once `stop` is set.
Result<Pass> chunk_pass(const PassInput& in, std::uint64_t begin, std::uint64_t end, std::size_t max_chunks,
                        Progress* progress, const std::atomic<bool>* stop) {
    Pass pass;
    pass.begin = begin;
    Chunker chunker(in.params);
    ChunkHasher hasher;
    std::uint64_t chunk_start = begin;
    std::uint64_t pos = begin;
    const auto add_chunk = [&](std::uint64_t chunk_end) {
        pass.chunks.push_back(ChunkRef{hasher.finish(), static_cast<std::uint32_t>(chunk_end - chunk_start)});
        pass.starts.push_back(chunk_start);
        chunk_start = chunk_end;
    };
    while (pos < end && pass.chunks.size() < max_chunks) {
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) break;
        const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(in.buffer.size(), end - pos));
        const Result<std::size_t> got = in.file.read_at(pos, in.buffer.first(want));
        if (!got) return tl::unexpected(got.error());
        if (*got == 0) {
            return tl::unexpected(changed_error(in.path, "it ended at byte " + std::to_string(pos) +
                                                             ", before its size of " +
                                                             std::to_string(in.file_size)));
        }
        if (progress != nullptr) progress->add(*got);
        std::span<const std::uint8_t> data = in.buffer.first(*got);
        while (!data.empty() && pass.chunks.size() < max_chunks) {
            const Chunker::Scan scan = chunker.scan(data);
            hasher.update(data.first(scan.consumed));
            data = data.subspan(scan.consumed);
            pos += scan.consumed;
            if (scan.cut) add_chunk(pos);
        }
    }
    if (pos == in.file_size && chunk_start < pos && pass.chunks.size() < max_chunks) add_chunk(pos);
    pass.tail = chunk_start;
    return pass;
}

// Joins the passes of consecutive segments into the chunk list a sequential
// pass gives. From each true cut, a complete chunk of the pass covering that
// offset starting exactly there means the rest of that pass is true too;
// otherwise one chunk is chunked again from the true cut.
Result<std::vector<ChunkRef>> stitch(const PassInput& in, std::uint64_t segment_size, const std::vector<Pass>& passes) {
    std::vector<ChunkRef> out;
    std::uint64_t pos = 0;
    while (pos < in.file_size) {
        const Pass& pass = passes[std::min<std::uint64_t>(pos / segment_size, passes.size() - 1)];
        const auto it = std::lower_bound(pass.starts.begin(), pass.starts.end(), pos);
        if (it != pass.starts.end() && *it == pos) {
            out.insert(out.end(), pass.chunks.begin() + (it - pass.starts.begin()), pass.chunks.end());
            pos = pass.tail;
            continue;
        }
        Result<Pass> one = chunk_pass(in, pos, in.file_size, 1, nullptr, nullptr);
        if (!one) return tl::unexpected(one.error());
        out.push_back(one->chunks.front());
        pos += one->chunks.front().size;
    }
    return out;
}

}  // namespace

Result<HashedFile> hash_file(Filesystem& fs, std::string_view path, const HashOptions& options) {
    Result<std::unique_ptr<ReadFile>> file = fs.open_read(path);
    if (!file) return tl::unexpected(file.error());
    const Result<FileStat> before = (*file)->stat();
    if (!before) return tl::unexpected(before.error());
    const std::uint64_t size = before->size;

    // Asked once: hardware_concurrency() reads /sys, too slow per small file.
    static const unsigned cores = std::max(1U, std::thread::hardware_concurrency());
    const unsigned wanted_threads = options.threads != 0 ? options.threads : cores;
    const std::uint64_t segment_size =
        options.segment_size != 0
            ? options.segment_size
            : std::clamp<std::uint64_t>(size / (2 * std::uint64_t{wanted_threads}), kMinSegmentSize, kMaxSegmentSize);
    const std::uint64_t segments = std::max<std::uint64_t>(1, (size + segment_size - 1) / segment_size);
    const auto threads = static_cast<unsigned>(std::min<std::uint64_t>(wanted_threads, segments));

    Progress progress(options.on_bytes);
    std::vector<Pass> passes(segments);
    std::atomic<std::uint64_t> next_segment{0};
    std::atomic<bool> stop{false};
    std::mutex error_mutex;
    std::optional<Error> first_error;
    const auto record_error = [&](Error error) {
        const std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::move(error);
        stop = true;
    };
    // Each thread takes the next segment until none is left, so a slow
    // thread (or one that could not start) does not hold the others back.
    const auto work = [&](ReadFile& reader) {
        ReadBuffer buffer(
            static_cast<std::size_t>(std::clamp<std::uint64_t>(std::min(size, segment_size), 1, kBufferSize)));
        const PassInput in{reader, path, size, options.params, buffer.span()};
        for (;;) {
            const std::uint64_t k = next_segment.fetch_add(1);
            if (k >= segments || stop) return;
            const std::uint64_t begin = k * segment_size;
            Result<Pass> pass = chunk_pass(in, begin, std::min(size, begin + segment_size),
                                           std::numeric_limits<std::size_t>::max(), &progress, &stop);
            if (!pass) return record_error(std::move(pass.error()));
            passes[k] = std::move(*pass);
        }
    };
    // A ReadFile serves one thread: each helper opens its own, and it must
    // be the same version of the same file.
    const auto helper = [&] {
        Result<std::unique_ptr<ReadFile>> own = fs.open_read(path);
        if (!own) return record_error(std::move(own.error()));
        const Result<FileStat> own_stat = (*own)->stat();
        if (!own_stat) return record_error(std::move(own_stat.error()));
        if (!same_file_version(*before, *own_stat)) {
            return record_error(changed_error(path, "it was replaced or modified while opening it again"));
        }
        work(**own);
    };

    {
        std::vector<std::jthread> helpers;
        for (unsigned t = 1; t < threads; ++t) {
            try {
                helpers.emplace_back(helper);
            } catch (const std::system_error&) {
                break;  // fewer threads: the others take the remaining segments
            }
        }
        work(**file);
    }
    if (first_error) return tl::unexpected(std::move(*first_error));

    Result<std::vector<ChunkRef>> chunks;
    if (segments == 1) {
        chunks = std::move(passes.front().chunks);
    } else {
        ReadBuffer buffer(std::min<std::size_t>(options.params.max_size, kBufferSize));
        chunks = stitch(PassInput{**file, path, size, options.params, buffer.span()}, segment_size, passes);
        if (!chunks) return tl::unexpected(chunks.error());
    }

    const Result<FileStat> after = (*file)->stat();
    if (!after) return tl::unexpected(after.error());
    if (!same_file_version(*before, *after)) {
        return tl::unexpected(changed_error(path, "its size, mtime, ctime or inode differ after reading"));
    }
    return HashedFile{std::move(*chunks), *before};
}

}  // namespace ferry
