// Chunk-list deltas: a new version of a file's chunk list said as changes to
// a version the receiver already has (proto/messages.md, "ChunkDelta").
//
// A 256 MiB file has ~4,000 chunks (147 KB of list); a 1 KiB edit changes
// one or two of them. A delta is a list of runs; each run copies
// `copy_count` chunks of the base starting at `copy_from`, then appends
// `insert`. The base is named by its digest, so a receiver whose copy of the
// base differs notices and asks for the full list instead of building a
// wrong one.
//
// Pure. apply_chunk_delta() takes untrusted input: Errc::corrupt for a digest
// mismatch is NOT its job (the caller compares digests first); it fails with
// Errc::corrupt for runs outside the base, more than `max_chunks` chunks in
// the result, or inserted chunks with sizes outside 1..kMaxChunkSize.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hh"
#include "core/file_record.hh"

namespace ferry {

// 16 bytes of BLAKE3 over encode_chunk_list(chunks).
struct ChunkListDigest {
    std::array<std::uint8_t, 16> bytes{};
    friend bool operator==(const ChunkListDigest&, const ChunkListDigest&) = default;
};
ChunkListDigest chunk_list_digest(std::span<const ChunkRef> chunks);

struct DeltaRun {
    std::uint32_t copy_from = 0;
    std::uint32_t copy_count = 0;
    std::vector<ChunkRef> insert;
    friend bool operator==(const DeltaRun&, const DeltaRun&) = default;
};

struct ChunkDelta {
    ChunkListDigest base;
    std::vector<DeltaRun> runs;
    friend bool operator==(const ChunkDelta&, const ChunkDelta&) = default;
};

// A short delta turning `base` into `target` (copies the longest runs of
// chunks the base has, in any order; inserts the rest). Greedy, in time
// linear in the lists: at each chunk the longest copy from the first 8
// places of that chunk in the base or from where the previous copy ended.
// The result applied to `base` gives exactly `target`.
ChunkDelta make_chunk_delta(std::span<const ChunkRef> base, std::span<const ChunkRef> target);

// The number of chunks a delta inserts (what it costs on the wire).
std::size_t inserted_chunks(const ChunkDelta& delta);

// `base` with `runs` applied.
Result<std::vector<ChunkRef>> apply_chunk_delta(std::span<const ChunkRef> base,
                                                std::span<const DeltaRun> runs,
                                                std::size_t max_chunks);

}  // namespace ferry
