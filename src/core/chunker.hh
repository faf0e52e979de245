// Content-defined chunking: FastCDC (Xia et al., 2020 variant).
//
// Cuts a byte stream into chunks whose boundaries depend only on the content
// near them, so an insertion moves only the chunks around it. The exact
// algorithm (gear table, masks, normalized chunking, min/avg/max) is specified
// in proto/chunking.md; another implementation following that text produces
// the same boundaries, and tests/core check golden boundaries.
//
// Streaming: feed buffers of any size in order; memory does not depend on the
// stream's length. Pure logic, no I/O. A Chunker is not thread-safe; use one
// per stream.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace ferry {

struct ChunkerParams {
    std::uint32_t min_size;  // no cut before this many bytes (except at end of stream)
    std::uint32_t avg_size;  // normal size: a power of two; harder mask before, easier after
    std::uint32_t max_size;  // always cut here
};

// The parameters every ferry device uses (chosen by measurement, see
// proto/chunking.md). Changing them changes every chunk id: a protocol change.
inline constexpr ChunkerParams kChunkerParams{16 * 1024, 64 * 1024, 256 * 1024};

class Chunker {
public:
    // REQUIRES: min_size >= 64, avg_size a power of two, min < avg < max,
    // max_size <= 16 MiB.
    explicit Chunker(ChunkerParams params = kChunkerParams);

    struct Scan {
        std::size_t consumed;  // bytes of the input that belong to the current chunk
        bool cut;              // true: the current chunk ends after `consumed` bytes
    };

    // Scans the next bytes of the stream. When a cut point lies inside
    // `data`, returns {k, true}: the first k bytes complete the current chunk,
    // and a new chunk begins at data[k] (call scan again with the rest).
    // Otherwise returns {data.size(), false}: all of it belongs to the
    // current chunk, which continues with the next call.
    Scan scan(std::span<const std::uint8_t> data);

    // Bytes of the current, unfinished chunk. At end of stream a non-zero
    // value is the last chunk's size.
    std::uint64_t pending() const { return m_pending; }

    // Forget the current chunk: the next byte starts a new stream.
    void reset();

    const ChunkerParams& params() const { return m_params; }

private:
    ChunkerParams m_params;
    std::uint64_t m_mask_small;  // used until the chunk reaches avg_size (harder to hit)
    std::uint64_t m_mask_large;  // used after avg_size (easier to hit)
    std::uint64_t m_fingerprint = 0;
    std::uint64_t m_pending = 0;
};

// The 256-entry gear table of proto/chunking.md (splitmix64 outputs), exposed
// so tests and other implementations can check it.
const std::array<std::uint64_t, 256>& gear_table();

// Sizes of the chunks of a whole buffer, in order (convenience for tests and
// small inputs).
std::vector<std::uint32_t> chunk_sizes(std::span<const std::uint8_t> data,
                                       ChunkerParams params = kChunkerParams);

}  // namespace ferry
