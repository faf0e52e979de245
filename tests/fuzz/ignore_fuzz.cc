// IgnoreMatcher::parse on arbitrary .ferryignore text, then matching paths
// taken from the same bytes: no crash, and matching is a pure function.
#include <string_view>

#include "core/ignore.hh"
#include "fuzz_target.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const auto matcher = ferry::IgnoreMatcher::parse(text);
    // Every line of the input doubles as a path to match.
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t end = text.find('\n', start);
        if (end == std::string_view::npos) end = text.size();
        const std::string_view path = text.substr(start, end - start);
        for (bool is_dir : {false, true}) {
            const bool first = matcher.is_ignored(path, is_dir);
            FUZZ_CHECK(first == matcher.is_ignored(path, is_dir));
            (void)matcher.is_ignored_entry(path, is_dir);
        }
        (void)ferry::is_internal_path(path);
        start = end + 1;
    }
    return 0;
}
