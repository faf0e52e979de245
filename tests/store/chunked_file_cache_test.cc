// ChunkedFileCache: offsets, recency order and its bounds.
#include "store/chunked_file_cache.hh"

#include <catch2/catch.hpp>

namespace ferry::store {
namespace {

std::shared_ptr<const ChunkedFile> file_of(std::size_t chunks, std::uint32_t size = 100) {
    std::vector<ChunkRef> list(chunks, ChunkRef{ChunkHash{}, size});
    return std::make_shared<const ChunkedFile>("f", "path", std::move(list));
}

TEST_CASE("chunked file cache: offsets are where each chunk starts", "[store]") {
    const ChunkedFile file("f", "a", {{ChunkHash{}, 10}, {ChunkHash{}, 20}, {ChunkHash{}, 5}});
    CHECK(file.offsets == std::vector<std::uint64_t>{0, 10, 30});
}

TEST_CASE("chunked file cache: finds, forgets and clears", "[store]") {
    ChunkedFileCache cache;
    CHECK(cache.find(1) == nullptr);
    const auto one = file_of(3);
    cache.put(1, one);
    cache.put(2, file_of(4));
    CHECK(cache.find(1) == one);
    cache.put(1, file_of(5));  // replaces, not duplicates
    CHECK(cache.size() == 2);
    CHECK(cache.find(1)->chunks.size() == 5);
    cache.forget(1);
    CHECK(cache.find(1) == nullptr);
    CHECK(cache.find(2) != nullptr);
    cache.clear();
    CHECK(cache.size() == 0);
}

TEST_CASE("chunked file cache: the least recently used goes first, within its bounds", "[store]") {
    ChunkedFileCache cache;
    for (std::int64_t id = 0; id < static_cast<std::int64_t>(ChunkedFileCache::kMaxFiles); ++id)
        cache.put(id, file_of(1));
    CHECK(cache.find(0) != nullptr);  // now the most recent
    cache.put(100, file_of(1));
    CHECK(cache.size() == ChunkedFileCache::kMaxFiles);
    CHECK(cache.find(1) == nullptr);  // the least recent left
    CHECK(cache.find(0) != nullptr);

    // The chunk bound: a big file pushes out others; one over it is not kept.
    cache.put(200, file_of(ChunkedFileCache::kMaxChunks - 1));
    CHECK(cache.find(200) != nullptr);
    CHECK(cache.size() == 2);  // it and the most recent one-chunk file
    cache.put(300, file_of(ChunkedFileCache::kMaxChunks + 1));
    CHECK(cache.find(300) == nullptr);
    CHECK(cache.find(200) != nullptr);
}

}  // namespace
}  // namespace ferry::store
