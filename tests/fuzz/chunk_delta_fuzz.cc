// apply_chunk_delta on arbitrary runs over a base: never a crash, never more
// than max_chunks, never a chunk of a bad size; what it accepts is rebuilt
// exactly by make_chunk_delta's own delta.
#include <algorithm>
#include <vector>

#include "core/chunk_delta.hh"
#include "fuzz_target.hh"

namespace {

class Reader {
public:
    Reader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
    bool done() const { return m_pos >= m_size; }
    std::uint8_t byte() { return m_pos < m_size ? m_data[m_pos++] : 0; }
    // Mostly small numbers, sometimes near the 32-bit limits.
    std::uint32_t number() {
        const std::uint8_t b = byte();
        if (b == 0xff) return UINT32_MAX - byte();
        if (b == 0xfe) return ferry::kMaxChunkSize + byte() - 128;
        return b;
    }

private:
    const std::uint8_t* m_data;
    std::size_t m_size;
    std::size_t m_pos = 0;
};

ferry::ChunkRef chunk(std::uint8_t id, std::uint32_t size) {
    ferry::ChunkRef c;
    c.hash.bytes[0] = id;
    c.size = size;
    return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Reader in(data, size);
    // Few distinct ids, so bases repeat chunks the way real files do; a base
    // chunk's size follows from its id, as a real chunk's from its hash (a
    // base with one hash at two sizes is not a chunk list, and
    // make_chunk_delta looks a hash's places up by hash alone). Inserted
    // chunks may carry any id and size.
    std::vector<ferry::ChunkRef> base(in.byte() % 64);
    for (auto& c : base) {
        const std::uint8_t id = in.byte() % 16;
        c = chunk(id, 1 + id * 1000u);
    }
    const std::size_t max_chunks = in.byte();

    std::vector<ferry::DeltaRun> runs;
    while (!in.done()) {
        ferry::DeltaRun run;
        run.copy_from = in.number();
        run.copy_count = in.number();
        const std::size_t inserts = in.byte() % 8;
        for (std::size_t i = 0; i < inserts; ++i)
            run.insert.push_back(chunk(in.byte(), in.number()));
        runs.push_back(std::move(run));
    }

    const auto out = ferry::apply_chunk_delta(base, runs, max_chunks);
    if (!out) {
        FUZZ_CHECK(!out.error().message.empty());
        return 0;
    }
    FUZZ_CHECK(out->size() <= max_chunks);
    for (const auto& c : *out) FUZZ_CHECK(c.size >= 1 && c.size <= ferry::kMaxChunkSize);

    const ferry::ChunkDelta delta = ferry::make_chunk_delta(base, *out);
    FUZZ_CHECK(delta.base == ferry::chunk_list_digest(base));
    const auto again = ferry::apply_chunk_delta(base, delta.runs, max_chunks);
    FUZZ_CHECK(again.has_value() && *again == *out);
    std::size_t novel = 0;
    for (const auto& c : *out) novel += std::find(base.begin(), base.end(), c) == base.end();
    FUZZ_CHECK(ferry::inserted_chunks(delta) == novel);
    return 0;
}
