// VersionVector::decode on arbitrary bytes: accepted input re-encodes to itself.
#include <span>

#include "core/version_vector.hh"
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    auto decoded = ferry::VersionVector::decode(bytes);
    if (decoded) {
        const std::string again = decoded->encode();
        FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data,
                                                      [](char a, std::uint8_t b) {
                                                          return static_cast<std::uint8_t>(a) == b;
                                                      }));
        FUZZ_CHECK(decoded->compare(*decoded) == ferry::Ordering::equal);
    }
    return 0;
}
