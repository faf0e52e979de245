#include "core/utf8.hh"

#include <cstdlib>
#include <memory>

#include <utf8proc.h>

namespace ferry {

namespace {

std::optional<std::string> utf8_map(std::string_view text, int options) {
    utf8proc_uint8_t* out = nullptr;
    const auto n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                static_cast<utf8proc_ssize_t>(text.size()), &out,
                                static_cast<utf8proc_option_t>(options));
    const std::unique_ptr<utf8proc_uint8_t, decltype(&std::free)> owned(out, &std::free);
    if (n < 0) return std::nullopt;
    return std::string(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
}

}  // namespace

Utf8Char utf8_decode(std::string_view text, std::size_t pos) {
    utf8proc_int32_t cp = 0;
    const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                                    static_cast<utf8proc_ssize_t>(text.size() - pos), &cp);
    if (n <= 0) return {};
    return {static_cast<char32_t>(cp), static_cast<std::size_t>(n)};
}

std::optional<std::string> utf8_nfc(std::string_view text) {
    return utf8_map(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE);
}

std::optional<std::string> utf8_nfc_casefold(std::string_view text) {
    return utf8_map(text, UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD);
}

bool iequals_ascii(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

}  // namespace ferry
