// wire::decode on arbitrary bytes: never crashes; an accepted message
// re-encodes to exactly the input (every message has one encoding) and that
// decodes to the same value.
#include <algorithm>
#include <span>

#include "fuzz_target.hh"
#include "net/messages.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::span<const std::uint8_t> bytes(data, size);
    auto decoded = ferry::wire::decode(bytes);
    if (!decoded) {
        FUZZ_CHECK(decoded.error().code == ferry::Errc::corrupt);
        return 0;
    }
    const auto again = ferry::wire::encode(*decoded);
    FUZZ_CHECK(std::equal(again.begin(), again.end(), bytes.begin(), bytes.end()));
    auto twice = ferry::wire::decode(again);
    FUZZ_CHECK(twice && *twice == *decoded);
    return 0;
}
