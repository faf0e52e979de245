#include "core/chunk_delta.hh"

#include <algorithm>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "core/chunk_hash.hh"

using namespace ferry;

namespace {

ChunkRef chunk(std::uint64_t seed, std::uint32_t size = 4096) {
    ChunkRef c;
    for (std::size_t i = 0; i < 8; ++i)
        c.hash.bytes[i] = static_cast<std::uint8_t>(seed >> (8 * i));
    c.hash.bytes[31] = 0x5a;
    c.size = size;
    return c;
}

std::vector<ChunkRef> distinct_chunks(std::size_t n, std::uint64_t first = 1) {
    std::vector<ChunkRef> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(chunk(first + i));
    return out;
}

std::vector<ChunkRef> rebuilt(std::span<const ChunkRef> base, const ChunkDelta& delta) {
    auto out = apply_chunk_delta(base, delta.runs, 1'000'000);
    REQUIRE(out.has_value());
    return *out;
}

// A random edit of `base`: inserted, deleted, replaced, moved and duplicated
// ranges, the kinds of change files go through.
std::vector<ChunkRef> edited(const std::vector<ChunkRef>& base, std::mt19937_64& rng) {
    std::vector<ChunkRef> out = base;
    const int edits = static_cast<int>(rng() % 6);
    std::uint64_t fresh = 1'000'000 + rng() % 1'000'000;
    for (int e = 0; e < edits; ++e) {
        const std::size_t at = out.empty() ? 0 : rng() % (out.size() + 1);
        const std::size_t len = 1 + rng() % 5;
        switch (rng() % 5) {
            case 0:  // insert new chunks
                for (std::size_t i = 0; i < len; ++i)
                    out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), chunk(fresh++));
                break;
            case 1:  // delete
                out.erase(
                    out.begin() + static_cast<std::ptrdiff_t>(at),
                    out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), at + len)));
                break;
            case 2:  // replace
                for (std::size_t i = at; i < std::min(out.size(), at + len); ++i)
                    out[i] = chunk(fresh++);
                break;
            case 3: {  // duplicate a range of the base somewhere
                if (base.empty()) break;
                const std::size_t from = rng() % base.size();
                const auto first = base.begin() + static_cast<std::ptrdiff_t>(from);
                const auto last =
                    base.begin() + static_cast<std::ptrdiff_t>(std::min(base.size(), from + len));
                out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), first, last);
                break;
            }
            default:  // move the tail to the front
                std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(at), out.end());
        }
    }
    return out;
}

}  // namespace

TEST_CASE("chunk delta: digest is 16 bytes of BLAKE3 over the encoded list", "[chunk_delta]") {
    // BLAKE3 of no bytes starts af1349b9f5f9a1a6a0404dea36dcc949.
    const ChunkListDigest empty = chunk_list_digest({});
    const std::array<std::uint8_t, 16> expected{0xaf, 0x13, 0x49, 0xb9, 0xf5, 0xf9, 0xa1, 0xa6,
                                                0xa0, 0x40, 0x4d, 0xea, 0x36, 0xdc, 0xc9, 0x49};
    CHECK(empty.bytes == expected);

    const auto list = distinct_chunks(3);
    const std::string encoded = encode_chunk_list(list);
    const ChunkHash full = hash_chunk(std::span<const std::uint8_t>(
        reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size()));
    CHECK(std::equal(full.bytes.begin(), full.bytes.begin() + 16,
                     chunk_list_digest(list).bytes.begin()));

    // Sizes count too, not only hashes.
    auto resized = list;
    resized[1].size = 4097;
    CHECK_FALSE(chunk_list_digest(resized) == chunk_list_digest(list));
}

TEST_CASE("chunk delta: round trips on random edits", "[chunk_delta]") {
    std::mt19937_64 rng(4);
    for (int round = 0; round < 500; ++round) {
        const auto base = distinct_chunks(rng() % 60, rng() % 1000);
        const auto target = edited(base, rng);
        const ChunkDelta delta = make_chunk_delta(base, target);
        CAPTURE(round, base.size(), target.size());
        CHECK(delta.base == chunk_list_digest(base));
        CHECK(rebuilt(base, delta) == target);
        // Inserting only what the base lacks.
        std::size_t novel = 0;
        for (const auto& c : target) novel += std::find(base.begin(), base.end(), c) == base.end();
        CHECK(inserted_chunks(delta) == novel);
    }
}

TEST_CASE("chunk delta: a one-chunk edit of a 4,000-chunk list is a few chunks", "[chunk_delta]") {
    const auto base = distinct_chunks(4000);

    auto replaced = base;
    replaced[2000] = chunk(99'999);
    const ChunkDelta r = make_chunk_delta(base, replaced);
    CHECK(inserted_chunks(r) == 1);
    CHECK(r.runs.size() == 2);
    CHECK(rebuilt(base, r) == replaced);

    auto inserted = base;
    inserted.insert(inserted.begin() + 1234, chunk(99'998));
    const ChunkDelta i = make_chunk_delta(base, inserted);
    CHECK(inserted_chunks(i) == 1);
    CHECK(i.runs.size() == 2);
    CHECK(rebuilt(base, i) == inserted);

    auto removed = base;
    removed.erase(removed.begin() + 10, removed.begin() + 12);
    const ChunkDelta d = make_chunk_delta(base, removed);
    CHECK(inserted_chunks(d) == 0);
    CHECK(d.runs.size() == 2);
    CHECK(rebuilt(base, d) == removed);

    // The full list would be 4,000 chunks; identical lists need one run.
    const ChunkDelta same = make_chunk_delta(base, base);
    REQUIRE(same.runs.size() == 1);
    CHECK(same.runs[0].copy_from == 0);
    CHECK(same.runs[0].copy_count == 4000);
}

TEST_CASE("chunk delta: repeated chunks stay cheap and correct", "[chunk_delta]") {
    // A file of zeros: one chunk hash at every position.
    const std::vector<ChunkRef> zeros(4000, chunk(7));
    std::vector<ChunkRef> longer(4001, chunk(7));
    const ChunkDelta delta = make_chunk_delta(zeros, longer);
    CHECK(inserted_chunks(delta) == 0);
    CHECK(delta.runs.size() == 2);
    CHECK(rebuilt(zeros, delta) == longer);

    // Blocks of the base in another order, some twice.
    const auto base = distinct_chunks(100);
    std::vector<ChunkRef> target(base.begin() + 50, base.end());
    target.insert(target.end(), base.begin(), base.begin() + 50);
    target.insert(target.end(), base.begin() + 10, base.begin() + 20);
    const ChunkDelta moved = make_chunk_delta(base, target);
    CHECK(inserted_chunks(moved) == 0);
    CHECK(moved.runs.size() == 3);
    CHECK(rebuilt(base, moved) == target);
}

TEST_CASE("chunk delta: empty lists", "[chunk_delta]") {
    const auto list = distinct_chunks(5);
    const ChunkDelta to_empty = make_chunk_delta(list, {});
    CHECK(to_empty.runs.empty());
    CHECK(rebuilt(list, to_empty).empty());

    const ChunkDelta from_empty = make_chunk_delta({}, list);
    REQUIRE(from_empty.runs.size() == 1);
    CHECK(from_empty.runs[0].copy_count == 0);
    CHECK(from_empty.runs[0].insert == list);
    CHECK(rebuilt({}, from_empty) == list);
}

TEST_CASE("chunk delta: apply refuses runs outside the base", "[chunk_delta]") {
    const auto base = distinct_chunks(10);
    const auto refused = [&](std::vector<DeltaRun> runs, std::size_t max = 1000) {
        const auto out = apply_chunk_delta(base, runs, max);
        if (out) return false;
        CHECK(out.error().code == Errc::corrupt);
        return true;
    };
    CHECK(refused({DeltaRun{0, 11, {}}}));
    CHECK(refused({DeltaRun{10, 1, {}}}));
    CHECK(refused({DeltaRun{11, 0, {}}}));
    CHECK(refused({DeltaRun{UINT32_MAX, 2, {}}}));  // no 32-bit wrap
    CHECK(refused({DeltaRun{2, UINT32_MAX, {}}}));
    CHECK_FALSE(refused({DeltaRun{10, 0, {}}}));
    CHECK_FALSE(refused({DeltaRun{0, 10, {}}}));
}

TEST_CASE("chunk delta: apply refuses bad inserted sizes", "[chunk_delta]") {
    const auto base = distinct_chunks(2);
    const auto error_of = [&](std::uint32_t size) {
        const std::vector<DeltaRun> runs{DeltaRun{0, 1, {chunk(9, size)}}};
        return apply_chunk_delta(base, runs, 100);
    };
    CHECK_FALSE(error_of(0).has_value());
    CHECK_FALSE(error_of(kMaxChunkSize + 1).has_value());
    CHECK(error_of(kMaxChunkSize).has_value());
    CHECK(error_of(1).has_value());
    CHECK(error_of(0).error().message.find("run 0 inserts chunk 0 of size 0") != std::string::npos);
}

TEST_CASE("chunk delta: apply stops at max_chunks before allocating", "[chunk_delta]") {
    const auto base = distinct_chunks(4000);
    // 1,000,000 runs each copying the whole base would be 4e9 chunks.
    const std::vector<DeltaRun> runs(1'000'000, DeltaRun{0, 4000, {}});
    const auto out = apply_chunk_delta(base, runs, 100'000);
    REQUIRE_FALSE(out.has_value());
    CHECK(out.error().code == Errc::corrupt);
    CHECK(out.error().message.find("longer than 100000 chunks") != std::string::npos);

    const std::vector<DeltaRun> exact{DeltaRun{0, 4000, {chunk(1)}}};
    CHECK(apply_chunk_delta(base, exact, 4001).has_value());
    CHECK_FALSE(apply_chunk_delta(base, exact, 4000).has_value());
}
