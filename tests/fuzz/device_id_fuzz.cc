// DeviceId::parse on arbitrary text: an accepted id prints in the canonical
// form, which parses back to the same id.
#include <string_view>

#include "crypto/device_id.hh"
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto id = ferry::DeviceId::parse(text);
    if (id) {
        const std::string shown = id->to_string();
        FUZZ_CHECK(shown.size() == ferry::DeviceId::kTextLength);
        auto again = ferry::DeviceId::parse(shown);
        FUZZ_CHECK(again && *again == *id);
    }
    return 0;
}
