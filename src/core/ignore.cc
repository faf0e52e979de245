#include "core/ignore.hh"

#include "core/path_rules.hh"
#include "core/utf8.hh"

namespace ferry {

namespace {

constexpr std::string_view kInternalDir = ".ferry";
constexpr std::string_view kTempPrefix = ".ferry-tmp.";
constexpr std::size_t kUniqueDigits = 16;

// Git's rule: trailing spaces go unless the last of them is escaped with
// '\'; tabs and other blanks stay.
std::string_view trim_trailing_spaces(std::string_view line) {
    std::size_t keep = line.size();
    bool in_spaces = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        if (line[i] == ' ') {
            if (!in_spaces) keep = i;
            in_spaces = true;
            continue;
        }
        in_spaces = false;
        if (line[i] == '\\') ++i;  // the escaped character is kept, even a space
    }
    return in_spaces ? line.substr(0, keep) : line;
}

std::vector<std::string_view> split_components(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        out.push_back(path.substr(start, slash - start));
        start = slash + 1;
    }
    return out;
}

bool is_temporary_name(std::string_view name) {
    if (name.size() < kTempPrefix.size() + 1 + kUniqueDigits || !name.starts_with(kTempPrefix))
        return false;
    const std::string_view tail = name.substr(name.size() - kUniqueDigits - 1);
    if (tail[0] != '.') return false;
    for (const char c : tail.substr(1)) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

}  // namespace

IgnoreMatcher IgnoreMatcher::parse(std::string_view text) {
    IgnoreMatcher out;
    if (text.starts_with("\xef\xbb\xbf")) text.remove_prefix(3);  // a UTF-8 BOM, as git skips it
    std::size_t start = 0;
    while (start < text.size()) {
        const std::size_t newline = std::min(text.find('\n', start), text.size());
        std::string_view line = text.substr(start, newline - start);
        start = newline + 1;
        if (line.ends_with('\r')) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;
        line = trim_trailing_spaces(line);

        const std::optional<std::string> nfc = utf8_nfc(line);
        std::string_view p = nfc ? std::string_view(*nfc) : line;
        Pattern pattern;
        if (p.starts_with('!')) {
            pattern.negated = true;
            p.remove_prefix(1);
        }
        if (p.ends_with('/')) {
            pattern.dir_only = true;
            p.remove_suffix(1);
        }
        pattern.anchored = p.find('/') != std::string_view::npos;
        if (p.starts_with('/')) p.remove_prefix(1);
        if (p.empty()) continue;
        pattern.glob = Glob::compile(p);
        out.m_patterns.push_back(std::move(pattern));
    }
    return out;
}

bool IgnoreMatcher::last_match_ignores(std::span<const std::string_view> components,
                                       bool is_dir) const {
    for (auto it = m_patterns.rbegin(); it != m_patterns.rend(); ++it) {
        if (it->dir_only && !is_dir) continue;
        const auto target = it->anchored ? components : components.last(1);
        if (it->glob.matches(target)) return !it->negated;
    }
    return false;
}

bool IgnoreMatcher::is_ignored(std::string_view path, bool is_dir) const {
    if (m_patterns.empty() || path.empty()) return false;
    const auto components = split_components(path);
    const std::span<const std::string_view> all(components);
    for (std::size_t depth = 1; depth < all.size(); ++depth) {
        if (last_match_ignores(all.first(depth), true)) return true;
    }
    return last_match_ignores(all, is_dir);
}

bool IgnoreMatcher::is_ignored_entry(std::string_view path, bool is_dir) const {
    if (m_patterns.empty() || path.empty()) return false;
    const auto components = split_components(path);
    return last_match_ignores(components, is_dir);
}

bool is_internal_path(std::string_view path) {
    const auto components = split_components(path);
    if (iequals_ascii(components.front(), kInternalDir)) return true;
    for (const std::string_view name : components) {
        if (is_temporary_name(name)) return true;
    }
    return false;
}

std::optional<std::string_view> temporary_target(std::string_view name) {
    if (!is_temporary_name(name)) return std::nullopt;
    return name.substr(kTempPrefix.size(), name.size() - kTempPrefix.size() - 1 - kUniqueDigits);
}

std::string temporary_name(std::string_view name, std::uint64_t unique) {
    const std::size_t room = kMaxNameBytes - kTempPrefix.size() - 1 - kUniqueDigits;
    if (name.size() > room) {
        std::size_t cut = room;
        while (cut > 0 && (static_cast<unsigned char>(name[cut]) & 0xc0) == 0x80) --cut;
        name = name.substr(0, cut);
    }
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(kMaxNameBytes);
    out.append(kTempPrefix).append(name).push_back('.');
    for (int shift = 60; shift >= 0; shift -= 4) out.push_back(digits[(unique >> shift) & 0xf]);
    return out;
}

}  // namespace ferry
