#include "core/path_rules.hh"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/utf8.hh"

namespace ferry {

namespace {

constexpr std::size_t kPrintableBytes = 200;

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

std::string hex_byte(unsigned char c) {
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "\\x%02X", c);
    return buf.data();
}

tl::unexpected<Error> refuse(std::string_view path, const std::string& reason) {
    return fail(Errc::invalid_argument, printable_path(path) + ": " + reason);
}

// The reserved device name `name` starts with, if its stem is one. Windows
// ignores the extension and the spaces before it: "nul .txt" is NUL.
std::optional<std::string_view> reserved_device(std::string_view name) {
    std::string_view stem = name.substr(0, name.find('.'));
    while (!stem.empty() && stem.back() == ' ') stem.remove_suffix(1);
    static constexpr std::array<std::string_view, 6> fixed = {"CON", "PRN",    "AUX",
                                                              "NUL", "CONIN$", "CONOUT$"};
    for (const std::string_view r : fixed) {
        if (iequals_ascii(stem, r)) return r;
    }
    for (const std::string_view port : {"COM", "LPT"}) {
        if (stem.size() < 4 || !iequals_ascii(stem.substr(0, 3), port)) continue;
        const std::string_view number = stem.substr(3);
        const bool digit = number.size() == 1 && number[0] >= '1' && number[0] <= '9';
        // Superscript one, two and three (U+00B9, U+00B2, U+00B3).
        const bool superscript =
            number == "\xc2\xb9" || number == "\xc2\xb2" || number == "\xc2\xb3";
        if (digit || superscript) return stem;
    }
    return std::nullopt;
}

std::optional<std::string> windows_component_problem(std::string_view name) {
    static constexpr std::string_view forbidden = "<>:\"\\|?*";
    for (const char c : name) {
        if (forbidden.find(c) != std::string_view::npos) {
            return "'" + std::string(1, c) + "' is not allowed in Windows names";
        }
    }
    if (name.back() == '.' || name.back() == ' ') {
        return std::string("a name ending in '") + name.back() + "' is changed by Windows";
    }
    if (const auto device = reserved_device(name)) {
        return std::string(*device) + " is a reserved device name on Windows";
    }
    return std::nullopt;
}

}  // namespace

std::string printable_path(std::string_view path) {
    std::string out;
    std::size_t i = 0;
    while (i < path.size() && out.size() < kPrintableBytes) {
        const auto c = static_cast<unsigned char>(path[i]);
        const std::size_t n = is_control(c) ? 0 : utf8_decode(path, i).length;
        if (n == 0) {
            out += hex_byte(c);
            ++i;
        } else {
            out.append(path.substr(i, n));
            i += n;
        }
    }
    if (i < path.size()) out += "...";
    return out;
}

Result<std::string> normalize_path(std::string_view path) {
    if (path.empty())
        return fail(Errc::invalid_argument,
                    "empty path: a path must name something inside the folder");
    // NFC shrinks text by at most a factor of 3 (three Hangul jamo compose
    // into one syllable), so this input cannot fit: refuse it unnormalised.
    if (path.size() > 4 * kMaxPathBytes) {
        return refuse(path, "path is " + std::to_string(path.size()) + " bytes, over the " +
                                std::to_string(kMaxPathBytes) + "-byte limit");
    }
    for (std::size_t i = 0; i < path.size();) {
        const auto c = static_cast<unsigned char>(path[i]);
        if (c == 0) return refuse(path, "contains a NUL byte at byte " + std::to_string(i));
        if (is_control(c)) {
            return refuse(path, "contains the control character " + hex_byte(c) + " at byte " +
                                    std::to_string(i));
        }
        const std::size_t n = utf8_decode(path, i).length;
        if (n == 0) return refuse(path, "is not valid UTF-8 at byte " + std::to_string(i));
        i += n;
    }
    if (path.front() == '/')
        return refuse(path, "is absolute; paths are relative to the folder root");

    auto nfc = utf8_nfc(path);
    if (!nfc) return refuse(path, "cannot be normalised to NFC");
    if (nfc->size() > kMaxPathBytes) {
        return refuse(path, "path is " + std::to_string(nfc->size()) + " bytes, over the " +
                                std::to_string(kMaxPathBytes) + "-byte limit");
    }
    const std::string_view whole = *nfc;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = whole.find('/', start);
        const std::string_view name =
            whole.substr(start, slash == std::string_view::npos ? slash : slash - start);
        if (name.empty()) return refuse(path, "has an empty component ('//' or a trailing '/')");
        if (name == ".") return refuse(path, "'.' component is not allowed");
        if (name == "..") return refuse(path, "'..' component is not allowed");
        if (name.size() > kMaxNameBytes) {
            return refuse(path, "component '" + printable_path(name) + "' is " +
                                    std::to_string(name.size()) + " bytes, over the " +
                                    std::to_string(kMaxNameBytes) + "-byte limit");
        }
        if (slash == std::string_view::npos) break;
        start = slash + 1;
    }
    return std::move(*nfc);
}

std::optional<std::string> windows_name_problem(std::string_view path) {
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        const std::string_view name = path.substr(start, slash - start);
        if (!name.empty()) {
            if (auto problem = windows_component_problem(name)) {
                return printable_path(path) + ": '" + printable_path(name) + "': " + *problem;
            }
        }
        start = slash + 1;
    }
    return std::nullopt;
}

std::string case_fold_key(std::string_view normalized_path) {
    auto folded = utf8_nfc_casefold(normalized_path);
    return folded ? std::move(*folded) : std::string(normalized_path);
}

std::string join_path(std::string_view parent, std::string_view name) {
    if (parent.empty()) return std::string(name);
    std::string out;
    out.reserve(parent.size() + 1 + name.size());
    out.append(parent).append(1, '/').append(name);
    return out;
}

bool is_within(std::string_view path, std::string_view dir) {
    if (dir.empty()) return true;
    return path.starts_with(dir) && (path.size() == dir.size() || path[dir.size()] == '/');
}

}  // namespace ferry
