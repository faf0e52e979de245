// Chunk compression (core/compression.hh): round trips, the "only when
// smaller" rule, and zstd frames a hostile peer could send.
#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>
#include <zstd.h>

#include "core/file_record.hh"
#include "core/compression.hh"

using namespace ferry;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::span<const std::uint8_t> as_bytes(const std::string& s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

Bytes text_like(std::size_t size) {
    static constexpr std::string_view words[] = {"chunk ", "index ", "folder ", "sync ", "peer\n",
                                                 "version ", "record ", "the ", "a ", "of "};
    std::mt19937_64 rng(7);
    Bytes out;
    while (out.size() < size) {
        const auto w = words[rng() % std::size(words)];
        out.insert(out.end(), w.begin(), w.end());
    }
    out.resize(size);
    return out;
}

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes out(size);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

Bytes to_bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

// A zstd frame written by hand (RFC 8878): magic, a header with a 4-byte
// content size and, unless single-segment, a window descriptor, then one
// raw block holding `content`.
Bytes raw_frame(const Bytes& content, std::uint32_t declared, int window_log) {
    Bytes f = {0x28, 0xb5, 0x2f, 0xfd};
    f.push_back(0x80);  // FCS field 4 bytes, not single-segment, no checksum, no dictionary
    f.push_back(static_cast<std::uint8_t>((window_log - 10) << 3));  // exponent, mantissa 0
    for (int i = 0; i < 4; ++i) f.push_back(static_cast<std::uint8_t>(declared >> (8 * i)));
    const std::uint32_t block = (static_cast<std::uint32_t>(content.size()) << 3) | 1;  // raw, last
    for (int i = 0; i < 3; ++i) f.push_back(static_cast<std::uint8_t>(block >> (8 * i)));
    f.insert(f.end(), content.begin(), content.end());
    return f;
}

}  // namespace

TEST_CASE("compressible chunks shrink and come back unchanged", "[compression]") {
    for (std::size_t size : {std::size_t{1000}, std::size_t{64} << 10, std::size_t{256} << 10,
                             std::size_t{kMaxChunkSize}}) {
        INFO(size);
        const Bytes data = text_like(size);
        const auto packed = compress_if_smaller(data);
        REQUIRE(packed);
        CHECK(packed->size() <= size - size / 16);
        const auto back = decompress(as_bytes(*packed), size);
        REQUIRE(back);
        CHECK(to_bytes(*back) == data);
    }
}

TEST_CASE("incompressible and tiny chunks are sent as they are", "[compression]") {
    CHECK(!compress_if_smaller(random_bytes(64 << 10, 1)));
    CHECK(!compress_if_smaller(random_bytes(1, 2)));
    CHECK(!compress_if_smaller(Bytes{}));
    CHECK(!compress_if_smaller(Bytes(8, 'a')));  // a frame is larger than 8 bytes
    // Mostly random with a compressible 1/32: saves less than 1/16.
    Bytes mixed = random_bytes(64 << 10, 3);
    std::fill(mixed.begin(), mixed.begin() + (2 << 10), 'a');
    CHECK(!compress_if_smaller(mixed));
    // With a compressible quarter it is worth it.
    std::fill(mixed.begin(), mixed.begin() + (16 << 10), 'a');
    const auto packed = compress_if_smaller(mixed);
    REQUIRE(packed);
    CHECK(to_bytes(*decompress(as_bytes(*packed), mixed.size())) == mixed);
}

TEST_CASE("a chunk of 16 KiB or more is judged by its first 4 KiB", "[compression]") {
    // Random first 4 KiB: sent as it is, though the rest would compress.
    Bytes data = random_bytes(64 << 10, 4);
    std::fill(data.begin() + (4 << 10), data.end(), 'a');
    CHECK(!compress_if_smaller(data));
    // Below 16 KiB the whole chunk is tried.
    Bytes small = random_bytes(12 << 10, 5);
    std::fill(small.begin() + (4 << 10), small.end(), 'a');
    const auto packed = compress_if_smaller(small);
    REQUIRE(packed);
    CHECK(to_bytes(*decompress(as_bytes(*packed), small.size())) == small);
}

TEST_CASE("the compressed frame declares its size and carries no checksum", "[compression]") {
    const Bytes data = text_like(10000);
    const auto packed = compress_if_smaller(data);
    REQUIRE(packed);
    CHECK(ZSTD_getFrameContentSize(packed->data(), packed->size()) == data.size());
    CHECK(ZSTD_findFrameCompressedSize(packed->data(), packed->size()) == packed->size());
    // Frame header descriptor: bit 2 is the checksum flag.
    CHECK((static_cast<std::uint8_t>((*packed)[4]) & 0x04) == 0);
}

TEST_CASE("a hand-written frame decodes, so the hostile variants below fail for their reason", "[compression]") {
    const Bytes content = text_like(1000);
    const auto out = decompress(raw_frame(content, 1000, kMaxWindowLog), 1000);
    REQUIRE(out);
    CHECK(to_bytes(*out) == content);
}

TEST_CASE("zstd bombs and malformed frames are refused", "[compression]") {
    const Bytes content = text_like(1000);
    const std::string packed = *compress_if_smaller(text_like(50000));
    const Bytes good(packed.begin(), packed.end());

    SECTION("declared size larger than expected") {
        CHECK_THAT(decompress(good, 49999).error().message, Catch::Contains("declares 50000 bytes, expected 49999"));
        CHECK_THAT(decompress(raw_frame(content, 1000, 20), 999).error().message, Catch::Contains("declares 1000"));
    }
    SECTION("declared size smaller than the content") {
        const auto r = decompress(raw_frame(content, 999, 20), 999);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::corrupt);
    }
    SECTION("a 1 KB frame claiming 4 GiB") {
        const Bytes bomb = raw_frame(content, 0xffffffff, 20);
        CHECK_THAT(decompress(bomb, kMaxChunkSize).error().message, Catch::Contains("declares 4294967295"));
    }
    SECTION("frame without a content size") {
        ZSTD_CCtx* c = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, 0);
        std::string out(ZSTD_compressBound(content.size()), '\0');
        // Streamed with no pledged size: the frame cannot declare one.
        ZSTD_inBuffer in{content.data(), content.size(), 0};
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        REQUIRE(ZSTD_compressStream2(c, &o, &in, ZSTD_e_end) == 0);
        ZSTD_freeCCtx(c);
        out.resize(o.pos);
        CHECK(ZSTD_getFrameContentSize(out.data(), out.size()) == ZSTD_CONTENTSIZE_UNKNOWN);
        CHECK_THAT(decompress(as_bytes(out), content.size()).error().message,
                   Catch::Contains("does not declare its size"));
    }
    SECTION("window too large") {
        CHECK(decompress(raw_frame(content, 1000, kMaxWindowLog), 1000));
        CHECK_THAT(decompress(raw_frame(content, 1000, kMaxWindowLog + 1), 1000).error().message,
                   Catch::Contains("asks for a window of 33554432 bytes"));
        const auto huge = decompress(raw_frame(content, 1000, 41), 1000);  // 2 TiB
        REQUIRE(!huge);
        CHECK(huge.error().code == Errc::corrupt);
    }
    SECTION("two frames, or bytes after the frame") {
        Bytes two = good;
        two.insert(two.end(), good.begin(), good.end());
        CHECK_THAT(decompress(two, 50000).error().message, Catch::Contains("bytes after the zstd frame"));
        Bytes extra = good;
        extra.push_back(0);
        CHECK_THAT(decompress(extra, 50000).error().message, Catch::Contains("1 bytes after the zstd frame"));
    }
    SECTION("a skippable frame") {
        Bytes skippable = {0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4};
        CHECK_THAT(decompress(skippable, 1000).error().message, Catch::Contains("skippable"));
        skippable.insert(skippable.end(), good.begin(), good.end());
        CHECK(!decompress(skippable, 50000));
    }
    SECTION("not zstd at all") {
        CHECK(!decompress(Bytes{}, 10));
        CHECK(!decompress(Bytes{1, 2, 3}, 10));
        CHECK(!decompress(text_like(100), 100));
    }
    SECTION("every truncation") {
        for (std::size_t n = 0; n < good.size(); ++n) {
            INFO(n);
            const auto r = decompress(std::span(good.data(), n), 50000);
            REQUIRE(!r);
            CHECK(r.error().code == Errc::corrupt);
        }
    }
    SECTION("corrupted block data") {
        std::mt19937_64 rng(9);
        int refused = 0;
        for (int i = 0; i < 300; ++i) {
            Bytes bad = good;
            bad[20 + rng() % (bad.size() - 20)] ^= static_cast<std::uint8_t>(1 + rng() % 255);
            const auto r = decompress(bad, 50000);
            // Without a checksum a flipped literal can decode to other bytes
            // of the right size (the chunk hash catches that); never more.
            if (r) {
                CHECK(r->size() == 50000);
            } else {
                ++refused;
            }
        }
        CHECK(refused > 0);
    }
    SECTION("expected sizes outside 1..kMaxChunkSize") {
        CHECK_THAT(decompress(good, 0).error().message, Catch::Contains("outside 1.."));
        CHECK_THAT(decompress(good, std::size_t{kMaxChunkSize} + 1).error().message, Catch::Contains("outside 1.."));
    }
}

TEST_CASE("compression works from several threads at once", "[compression]") {
    const Bytes data = text_like(64 << 10);
    std::vector<std::thread> threads;
    std::atomic<int> good{0};
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i) {
                const auto packed = compress_if_smaller(data);
                if (packed && to_bytes(*decompress(as_bytes(*packed), data.size())) == data) ++good;
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(good == 80);
}
