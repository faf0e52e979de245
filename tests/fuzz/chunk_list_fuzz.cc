// decode_chunk_list on arbitrary bytes: accepted input re-encodes to itself.
#include <algorithm>
#include <span>

#include "core/file_record.hh"
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto decoded = ferry::decode_chunk_list(std::span<const std::uint8_t>(data, size));
    if (decoded) {
        const std::string again = ferry::encode_chunk_list(*decoded);
        FUZZ_CHECK(again.size() == size);
        FUZZ_CHECK(std::equal(again.begin(), again.end(), data, [](char a, std::uint8_t b) {
            return static_cast<std::uint8_t>(a) == b;
        }));
        for (const auto& chunk : *decoded) FUZZ_CHECK(chunk.size > 0);
    }
    return 0;
}
