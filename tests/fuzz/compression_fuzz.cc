// decompress() on arbitrary bytes, with the expected size taken from the
// input's first three bytes: never crashes, never returns another size.
// The rest, as plain data, must survive compress_if_smaller and decompress.
#include <algorithm>
#include <span>

#include "fuzz_target.hh"
#include "core/compression.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    const std::size_t expected = (std::size_t{data[0]} << 16) | (std::size_t{data[1]} << 8) | data[2];
    const std::span<const std::uint8_t> rest(data + 3, size - 3);
    auto out = ferry::decompress(rest, expected);
    if (out) {
        FUZZ_CHECK(out->size() == expected);
    } else {
        FUZZ_CHECK(out.error().code == ferry::Errc::corrupt);
    }

    const auto packed = ferry::compress_if_smaller(rest);
    if (packed) {
        FUZZ_CHECK(packed->size() <= rest.size() - std::max<std::size_t>(1, rest.size() / 16));
        const auto back = ferry::decompress(
            std::span(reinterpret_cast<const std::uint8_t*>(packed->data()), packed->size()),
            rest.size());
        FUZZ_CHECK(back && std::equal(back->begin(), back->end(), rest.begin(), rest.end(),
                                      [](char a, std::uint8_t b) {
                                          return static_cast<std::uint8_t>(a) == b;
                                      }));
    }
    return 0;
}
