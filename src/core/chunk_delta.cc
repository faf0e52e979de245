#include "core/chunk_delta.hh"

#include <algorithm>
#include <string>
#include <unordered_map>

#include "core/chunk_hash.hh"

namespace ferry {
namespace {

// A file of repeated content (zeros, a disk image) has one chunk hash at
// many positions; trying every one at every target chunk would be
// quadratic. The first few positions, plus the one continuing the previous
// copy, find the long runs in real files.
constexpr std::size_t kMaxCandidates = 8;

struct Match {
    std::size_t from = 0;
    std::size_t length = 0;
};

std::size_t match_length(std::span<const ChunkRef> base, std::size_t from,
                         std::span<const ChunkRef> target, std::size_t at) {
    std::size_t n = 0;
    while (from + n < base.size() && at + n < target.size() && base[from + n] == target[at + n])
        ++n;
    return n;
}

}  // namespace

ChunkListDigest chunk_list_digest(std::span<const ChunkRef> chunks) {
    const std::string encoded = encode_chunk_list(chunks);
    const ChunkHash full = hash_chunk(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size()));
    ChunkListDigest out;
    std::copy_n(full.bytes.begin(), out.bytes.size(), out.bytes.begin());
    return out;
}

ChunkDelta make_chunk_delta(std::span<const ChunkRef> base, std::span<const ChunkRef> target) {
    ChunkDelta delta;
    delta.base = chunk_list_digest(base);

    std::unordered_map<ChunkHash, std::vector<std::size_t>> positions;
    positions.reserve(base.size());
    for (std::size_t i = 0; i < base.size(); ++i) {
        auto& at = positions[base[i].hash];
        if (at.size() < kMaxCandidates) at.push_back(i);
    }

    std::size_t next_base = 0;  // where the previous copy ended: the likeliest next match
    std::size_t i = 0;
    while (i < target.size()) {
        Match best;
        if (next_base < base.size()) best = {next_base, match_length(base, next_base, target, i)};
        if (const auto found = positions.find(target[i].hash); found != positions.end()) {
            for (const std::size_t from : found->second) {
                const std::size_t n = match_length(base, from, target, i);
                if (n > best.length) best = {from, n};
            }
        }
        if (best.length == 0) {
            if (delta.runs.empty()) delta.runs.emplace_back();
            delta.runs.back().insert.push_back(target[i]);
            ++i;
            continue;
        }
        DeltaRun run;
        run.copy_from = static_cast<std::uint32_t>(best.from);
        run.copy_count = static_cast<std::uint32_t>(best.length);
        delta.runs.push_back(std::move(run));
        next_base = best.from + best.length;
        i += best.length;
    }
    return delta;
}

std::size_t inserted_chunks(const ChunkDelta& delta) {
    std::size_t n = 0;
    for (const DeltaRun& run : delta.runs) n += run.insert.size();
    return n;
}

Result<std::vector<ChunkRef>> apply_chunk_delta(std::span<const ChunkRef> base,
                                                std::span<const DeltaRun> runs,
                                                std::size_t max_chunks) {
    // Sizes are checked before anything is allocated: a hostile delta may copy
    // the whole base many times over.
    std::uint64_t total = 0;
    for (std::size_t r = 0; r < runs.size(); ++r) {
        const DeltaRun& run = runs[r];
        const auto where = [&] { return "chunk delta: run " + std::to_string(r); };
        if (std::uint64_t{run.copy_from} + run.copy_count > base.size()) {
            return fail(Errc::corrupt,
                        where() + " copies chunks " + std::to_string(run.copy_from) + ".." +
                            std::to_string(std::uint64_t{run.copy_from} + run.copy_count) +
                            " of a base of " + std::to_string(base.size()) +
                            "; ask the peer for the full chunk list");
        }
        for (std::size_t c = 0; c < run.insert.size(); ++c) {
            const std::uint32_t size = run.insert[c].size;
            if (size == 0 || size > kMaxChunkSize) {
                return fail(Errc::corrupt, where() + " inserts chunk " + std::to_string(c) +
                                               " of size " + std::to_string(size) +
                                               ", outside 1.." + std::to_string(kMaxChunkSize));
            }
        }
        total += std::uint64_t{run.copy_count} + run.insert.size();
        if (total > max_chunks) {
            return fail(Errc::corrupt, where() + " makes the list longer than " +
                                           std::to_string(max_chunks) + " chunks");
        }
    }
    std::vector<ChunkRef> out;
    out.reserve(static_cast<std::size_t>(total));
    for (const DeltaRun& run : runs) {
        const auto first = base.begin() + run.copy_from;
        out.insert(out.end(), first, first + run.copy_count);
        out.insert(out.end(), run.insert.begin(), run.insert.end());
    }
    return out;
}

}  // namespace ferry
