#include "core/chunker.hh"

#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <vector>

using ferry::ChunkerParams;

namespace {

// Test input of proto/chunking.md, "Golden boundaries": splitmix64 seeded with
// 1, each output written as 8 little-endian bytes.
std::vector<std::uint8_t> splitmix_bytes(std::size_t n, std::uint64_t seed = 1) {
    std::vector<std::uint8_t> out;
    out.reserve(n + 8);
    std::uint64_t state = seed;
    while (out.size() < n) {
        state += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::uint8_t>(z >> (8 * i)));
    }
    out.resize(n);
    return out;
}

// The byte-at-a-time algorithm exactly as proto/chunking.md states it; the
// fast two-bytes-a-step chunker must produce the same boundaries.
std::vector<std::uint32_t> reference_chunks(const std::vector<std::uint8_t>& data, ChunkerParams p) {
    const auto& gear = ferry::gear_table();
    unsigned bits = 0;
    while ((1U << bits) < p.avg_size) ++bits;
    const auto mask = [](unsigned n) { return ((std::uint64_t{1} << n) - 1) << (63 - n); };
    const std::uint64_t mask_small = mask(bits + 2);
    const std::uint64_t mask_large = mask(bits - 2);
    std::vector<std::uint32_t> sizes;
    std::size_t start = 0;
    while (start < data.size()) {
        const std::size_t remaining = data.size() - start;
        std::size_t length = std::min<std::size_t>(p.max_size, remaining);
        std::uint64_t fp = 0;
        for (std::size_t i = p.min_size; i < length; ++i) {
            fp = (fp << 1) + gear[data[start + i]];
            if ((fp & (i < p.avg_size ? mask_small : mask_large)) == 0) {
                length = i + 1;
                break;
            }
        }
        sizes.push_back(static_cast<std::uint32_t>(length));
        start += length;
    }
    return sizes;
}

// Feeds `data` to a Chunker in pieces whose sizes come from `rng`.
std::vector<std::uint32_t> chunks_with_splits(const std::vector<std::uint8_t>& data, ChunkerParams p,
                                              std::mt19937_64& rng, std::size_t max_piece) {
    ferry::Chunker chunker(p);
    std::vector<std::uint32_t> sizes;
    std::uint64_t current = 0;
    std::size_t pos = 0;
    std::uniform_int_distribution<std::size_t> piece(0, max_piece);
    while (pos < data.size()) {
        const std::size_t len = std::min(piece(rng), data.size() - pos);
        std::span<const std::uint8_t> buf(data.data() + pos, len);
        while (!buf.empty()) {
            const auto s = chunker.scan(buf);
            current += s.consumed;
            buf = buf.subspan(s.consumed);
            if (s.cut) {
                sizes.push_back(static_cast<std::uint32_t>(current));
                current = 0;
            }
        }
        REQUIRE(chunker.pending() == current);
        pos += len;
    }
    if (chunker.pending() > 0) sizes.push_back(static_cast<std::uint32_t>(chunker.pending()));
    return sizes;
}

}  // namespace

TEST_CASE("gear table is splitmix64 from the seed in proto/chunking.md", "[chunker]") {
    const auto& gear = ferry::gear_table();
    CHECK(gear[0] == 0x69bed38dda3ce46eULL);
    CHECK(gear[1] == 0xeeb8faecc6bcfff7ULL);
    CHECK(gear[2] == 0xe5e496c1bbb8e969ULL);
    CHECK(gear[3] == 0xd915469db4822d12ULL);
    CHECK(gear[255] == 0x7d9eec2942384865ULL);
}

TEST_CASE("chunker rejects parameters outside its contract", "[chunker]") {
    CHECK_THROWS(ferry::Chunker(ChunkerParams{1024, 3000, 16384}));   // avg not a power of two
    CHECK_THROWS(ferry::Chunker(ChunkerParams{4096, 4096, 16384}));   // min == avg
    CHECK_THROWS(ferry::Chunker(ChunkerParams{1024, 4096, 4096}));    // max == avg
    CHECK_THROWS(ferry::Chunker(ChunkerParams{32, 4096, 16384}));     // min below 64
    CHECK_THROWS(ferry::Chunker(ChunkerParams{1024, 4096, 32u << 20}));  // max above 16 MiB
    CHECK_NOTHROW(ferry::Chunker(ChunkerParams{1024, 4096, 16384}));
}

TEST_CASE("fast chunker equals the byte-at-a-time reference on random inputs and splits", "[chunker]") {
    std::mt19937_64 rng(42);
    const std::vector<ChunkerParams> params = {
        {64, 256, 1024}, {1024, 4096, 16384}, {2048, 8192, 65536}, ferry::kChunkerParams};
    for (const ChunkerParams& p : params) {
        for (int round = 0; round < 6; ++round) {
            const std::size_t size = std::uniform_int_distribution<std::size_t>(0, 24 * p.avg_size)(rng);
            std::vector<std::uint8_t> data(size);
            // Low-entropy rounds make runs of equal bytes, so max_size cuts happen too.
            const unsigned alphabet = round % 3 == 0 ? 2 : 256;
            for (auto& b : data) b = static_cast<std::uint8_t>(rng() % alphabet);
            const auto expected = reference_chunks(data, p);
            INFO("avg " << p.avg_size << " size " << size << " alphabet " << alphabet);
            CHECK(ferry::chunk_sizes(data, p) == expected);
            for (const std::size_t max_piece : {std::size_t{1}, std::size_t{7}, std::size_t{p.min_size},
                                                std::size_t{3 * p.avg_size}}) {
                CHECK(chunks_with_splits(data, p, rng, max_piece) == expected);
            }
        }
    }
}

TEST_CASE("chunks respect min and max, only the last may be short", "[chunker]") {
    const ChunkerParams p{1024, 4096, 16384};
    std::vector<std::uint8_t> data = splitmix_bytes(1 << 20);
    // A long run of zeros forces max_size cuts.
    std::fill(data.begin() + 100000, data.begin() + 200000, std::uint8_t{0});
    const auto sizes = ferry::chunk_sizes(data, p);
    std::uint64_t total = 0;
    bool saw_max = false;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        total += sizes[i];
        CHECK(sizes[i] <= p.max_size);
        if (i + 1 < sizes.size()) CHECK(sizes[i] >= p.min_size);
        saw_max = saw_max || sizes[i] == p.max_size;
    }
    CHECK(total == data.size());
    CHECK(saw_max);
}

TEST_CASE("golden boundaries on the proto/chunking.md test input", "[chunker]") {
    const std::vector<std::uint8_t> data = splitmix_bytes(4 << 20);
    CHECK(std::vector<std::uint8_t>(data.begin(), data.begin() + 8) ==
          std::vector<std::uint8_t>{0xc1, 0x5c, 0x02, 0x89, 0xec, 0x2d, 0x0a, 0x91});

    const auto small = ferry::chunk_sizes(std::span(data).first(1 << 20), ChunkerParams{1024, 4096, 16384});
    CHECK(small.size() == 225);
    const std::vector<std::uint32_t> small_first = {4886, 4245, 8214, 4200, 4242, 1955, 5332, 4579,
                                                    2189, 1489, 4993, 4911, 6691, 4733, 4669, 4580};
    CHECK(std::vector<std::uint32_t>(small.begin(), small.begin() + 16) == small_first);

    const auto sizes = ferry::chunk_sizes(data, ferry::kChunkerParams);
    CHECK(sizes.size() == 53);
    const std::vector<std::uint32_t> first = {67328, 68037, 72231, 86569, 94164, 49261,
                                              69180, 59404, 79768, 68224, 83967, 99629};
    CHECK(std::vector<std::uint32_t>(sizes.begin(), sizes.begin() + 12) == first);
    CHECK(sizes.back() == 39134);
}

TEST_CASE("an insertion changes only the chunks around it", "[chunker]") {
    const ChunkerParams p{1024, 4096, 16384};
    const std::vector<std::uint8_t> before = splitmix_bytes(1 << 20);
    std::vector<std::uint8_t> after = before;
    const std::vector<std::uint8_t> inserted = splitmix_bytes(100, 7);
    after.insert(after.begin() + 500000, inserted.begin(), inserted.end());
    const auto a = ferry::chunk_sizes(before, p);
    const auto b = ferry::chunk_sizes(after, p);
    std::size_t same_prefix = 0;
    while (same_prefix < std::min(a.size(), b.size()) && a[same_prefix] == b[same_prefix]) ++same_prefix;
    std::size_t same_suffix = 0;
    while (same_suffix < std::min(a.size(), b.size()) &&
           a[a.size() - 1 - same_suffix] == b[b.size() - 1 - same_suffix]) {
        ++same_suffix;
    }
    CHECK(same_prefix + same_suffix + 3 >= a.size());
    CHECK(same_prefix > 50);
    CHECK(same_suffix > 50);
}

TEST_CASE("reset starts a new stream", "[chunker]") {
    const ChunkerParams p{1024, 4096, 16384};
    const std::vector<std::uint8_t> data = splitmix_bytes(100000);
    ferry::Chunker chunker(p);
    chunker.scan(std::span<const std::uint8_t>(data.data(), 3000));
    CHECK(chunker.pending() > 0);
    chunker.reset();
    CHECK(chunker.pending() == 0);
    const auto s = chunker.scan(data);
    REQUIRE(s.cut);
    CHECK(s.consumed == ferry::chunk_sizes(data, p).front());
}
