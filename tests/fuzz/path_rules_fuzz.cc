// normalize_path on arbitrary names: accepted paths are normalised for good
// (idempotent), within the limits, and the other path rules accept them.
#include <string_view>

#include "core/path_rules.hh"
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view raw(reinterpret_cast<const char*>(data), size);
    auto normalized = ferry::normalize_path(raw);
    if (normalized) {
        auto again = ferry::normalize_path(*normalized);
        FUZZ_CHECK(again && *again == *normalized);
        FUZZ_CHECK(normalized->size() <= ferry::kMaxPathBytes);
        FUZZ_CHECK(normalized->find('\0') == std::string::npos);
        (void)ferry::windows_name_problem(*normalized);
        FUZZ_CHECK(!ferry::case_fold_key(*normalized).empty());
    } else {
        FUZZ_CHECK(!normalized.error().message.empty());
    }
    return 0;
}
