#include "core/compression.hh"

#include <memory>

// ZSTD_getFrameHeader (the window size) is in zstd's "static" API.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "core/file_record.hh"

namespace ferry {

namespace {

// Level 1: on 64 KiB chunks (CPU time, one core) it sends 20.6 % of text
// at 318 MB/s and 45.4 % of executables at 175 MB/s, against level 3's
// 19.6 % at 248 MB/s and 42.9 % at 115 MB/s; on a LAN the CPU, not the
// link, is the bottleneck. Random data is refused at 3.8 GB/s. The level
// is no part of the format: a peer may change it freely.
constexpr int kLevel = 1;

// A chunk of at least 4 probes' size is first tried on its first kProbeBytes:
// when those do not shrink by 1/16 either, the chunk is taken as
// incompressible without compressing the rest (on random chunks of 1-64 KiB
// with cold caches, 13 us a chunk instead of 23). The cost: a chunk whose
// start is incompressible and the rest is not goes out uncompressed.
constexpr std::size_t kProbeBytes = 4096;

struct CCtxFree {
    void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
    void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

// One context per thread: creating one costs more than compressing a
// small chunk, and contexts are not safe to share.
ZSTD_CCtx* compressor() {
    thread_local const std::unique_ptr<ZSTD_CCtx, CCtxFree> ctx = [] {
        std::unique_ptr<ZSTD_CCtx, CCtxFree> c(ZSTD_createCCtx());
        if (!c) throw std::bad_alloc();
        ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, kLevel);
        ZSTD_CCtx_setParameter(c.get(), ZSTD_c_contentSizeFlag, 1);
        // The chunk's BLAKE3 hash checks the result; zstd's checksum would
        // only add 4 bytes.
        ZSTD_CCtx_setParameter(c.get(), ZSTD_c_checksumFlag, 0);
        return c;
    }();
    return ctx.get();
}

ZSTD_DCtx* decompressor() {
    thread_local const std::unique_ptr<ZSTD_DCtx, DCtxFree> ctx = [] {
        std::unique_ptr<ZSTD_DCtx, DCtxFree> d(ZSTD_createDCtx());
        if (!d) throw std::bad_alloc();
        return d;
    }();
    return ctx.get();
}

tl::unexpected<Error> corrupt(const std::string& what) {
    return fail(Errc::corrupt, "compressed chunk: " + what);
}

// `data` compressed into `out` if that saves at least 1/16 of its size.
bool compress_into(std::span<const std::uint8_t> data, std::string& out) {
    const std::size_t saving = std::max<std::size_t>(1, data.size() / 16);
    if (data.size() <= saving) return false;
    // An output buffer of the largest size worth sending: zstd stops as soon
    // as the frame would not fit.
    out.resize(data.size() - saving);
    ZSTD_CCtx* ctx = compressor();
    const std::size_t n = ZSTD_compress2(ctx, out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) {
        // dstSize_tooSmall is the usual "not worth it"; any error leaves the
        // context to be reset, and the data goes out as it is.
        ZSTD_CCtx_reset(ctx, ZSTD_reset_session_only);
        return false;
    }
    out.resize(n);
    return true;
}

}  // namespace

std::optional<std::string> compress_if_smaller(std::span<const std::uint8_t> data) {
    std::string out;
    if (data.size() >= 4 * kProbeBytes && !compress_into(data.first(kProbeBytes), out))
        return std::nullopt;
    if (!compress_into(data, out)) return std::nullopt;
    return out;
}

Result<std::string> decompress(std::span<const std::uint8_t> compressed, std::size_t expected_size) {
    if (expected_size == 0 || expected_size > kMaxChunkSize) {
        return corrupt("expected size " + std::to_string(expected_size) + " is outside 1.." +
                       std::to_string(kMaxChunkSize));
    }
    ZSTD_frameHeader header{};
    const std::size_t got = ZSTD_getFrameHeader(&header, compressed.data(), compressed.size());
    if (ZSTD_isError(got)) return corrupt(std::string("zstd frame header: ") + ZSTD_getErrorName(got));
    if (got != 0) return corrupt("truncated zstd frame header");
    // A skippable frame carries no content, whatever it declares.
    if (header.frameType != ZSTD_frame) return corrupt("a skippable frame instead of a zstd frame");
    if (header.frameContentSize == ZSTD_CONTENTSIZE_UNKNOWN) {
        return corrupt("the zstd frame does not declare its size");
    }
    if (header.frameContentSize != expected_size) {
        return corrupt("the zstd frame declares " + std::to_string(header.frameContentSize) +
                       " bytes, expected " + std::to_string(expected_size));
    }
    // One-shot decompression needs no window buffer, and zstd 1.5.4 then
    // ignores ZSTD_d_windowLogMax (it accepted a 2^27 window with the limit
    // at 2^24): the limit is checked here.
    if (header.windowSize > (std::uint64_t{1} << kMaxWindowLog)) {
        return corrupt("the zstd frame asks for a window of " + std::to_string(header.windowSize) +
                       " bytes, above 2^" + std::to_string(kMaxWindowLog));
    }
    const std::size_t frame = ZSTD_findFrameCompressedSize(compressed.data(), compressed.size());
    if (ZSTD_isError(frame)) {
        return corrupt(std::string("truncated or invalid zstd frame: ") + ZSTD_getErrorName(frame));
    }
    if (frame != compressed.size()) {
        return corrupt(std::to_string(compressed.size() - frame) + " bytes after the zstd frame");
    }
    std::string out(expected_size, '\0');
    ZSTD_DCtx* ctx = decompressor();
    const std::size_t n = ZSTD_decompressDCtx(ctx, out.data(), out.size(), compressed.data(),
                                              compressed.size());
    if (ZSTD_isError(n)) {
        ZSTD_DCtx_reset(ctx, ZSTD_reset_session_only);
        return corrupt(std::string("zstd: ") + ZSTD_getErrorName(n));
    }
    if (n != expected_size) {
        return corrupt("decompressed to " + std::to_string(n) + " bytes, expected " +
                       std::to_string(expected_size));
    }
    return out;
}

}  // namespace ferry
