#include "core/conflict_name.hh"

#include <algorithm>
#include <chrono>

#include "core/path_rules.hh"

namespace ferry {
namespace {

constexpr std::string_view kMarker = ".sync-conflict-";
// ".sync-conflict-" YYYYMMDD "-" HHMMSS "-" SSSSSSS
constexpr std::size_t kSuffixSize = kMarker.size() + 8 + 1 + 6 + 1 + 7;
constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void append_digits(std::string& out, long long value, int width) {
    std::string digits(static_cast<std::size_t>(width), '0');
    for (int i = width - 1; i >= 0 && value > 0; --i, value /= 10)
        digits[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
    out += digits;
}

// The suffix without locale or clock: only calendar arithmetic on mtime_ns.
std::string conflict_suffix(std::int64_t mtime_ns, ShortId modified_by) {
    using namespace std::chrono;
    const sys_time<nanoseconds> t{nanoseconds{mtime_ns}};
    const sys_days day = floor<days>(t);
    const year_month_day date{day};
    const hh_mm_ss<seconds> time{floor<seconds>(t) - day};

    std::string out(kMarker);
    append_digits(out, static_cast<int>(date.year()), 4);
    append_digits(out, static_cast<unsigned>(date.month()), 2);
    append_digits(out, static_cast<unsigned>(date.day()), 2);
    out.push_back('-');
    append_digits(out, time.hours().count(), 2);
    append_digits(out, time.minutes().count(), 2);
    append_digits(out, time.seconds().count(), 2);
    out.push_back('-');
    // The device id's first 7 base32 characters are the short id's top 35 bits.
    for (int shift = 59; shift >= 29; shift -= 5)
        out.push_back(kBase32[(modified_by.value >> shift) & 31]);
    return out;
}

// `text` cut to at most `limit` bytes, never inside a UTF-8 sequence.
std::string_view cut_utf8(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t cut = limit;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
    return text.substr(0, cut);
}

bool is_digits(std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Whether `name` holds a conflict suffix at `at`, followed by the end or an
// extension.
bool suffix_at(std::string_view name, std::size_t at) {
    if (name.size() - at < kSuffixSize) return false;
    const std::string_view s = name.substr(at, kSuffixSize);
    std::size_t pos = kMarker.size();
    if (!is_digits(s.substr(pos, 8)) || s[pos + 8] != '-') return false;
    pos += 9;
    if (!is_digits(s.substr(pos, 6)) || s[pos + 6] != '-') return false;
    pos += 7;
    for (const char c : s.substr(pos, 7)) {
        if (kBase32.find(c) == std::string_view::npos) return false;
    }
    return name.size() == at + kSuffixSize || name[at + kSuffixSize] == '.';
}

}  // namespace

std::string conflict_copy_path(std::string_view path, std::int64_t mtime_ns, ShortId modified_by) {
    const std::size_t slash = path.rfind('/');
    const std::string_view dir = slash == std::string_view::npos ? "" : path.substr(0, slash);
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);

    std::string_view stem = name;
    std::string_view extension;
    if (const std::size_t dot = name.rfind('.'); dot != std::string_view::npos && name[0] != '.') {
        stem = name.substr(0, dot);
        extension = name.substr(dot);
    }

    // The name fits kMaxNameBytes, and the path kMaxPathBytes where the
    // directory leaves room; the stem gives way first, then the extension.
    const std::size_t dir_bytes = dir.empty() ? 0 : dir.size() + 1;
    const std::size_t path_room = kMaxPathBytes > dir_bytes ? kMaxPathBytes - dir_bytes : 0;
    const std::size_t name_room = std::max(std::min(kMaxNameBytes, path_room), kSuffixSize);
    const std::size_t room = name_room - kSuffixSize;
    if (stem.size() + extension.size() > room) {
        extension = cut_utf8(extension, room);
        stem = cut_utf8(stem, room - extension.size());
    }

    std::string out;
    out.reserve(dir_bytes + stem.size() + kSuffixSize + extension.size());
    if (!dir.empty()) out.append(dir).push_back('/');
    out.append(stem).append(conflict_suffix(mtime_ns, modified_by)).append(extension);
    return out;
}

bool is_conflict_copy(std::string_view path) {
    const std::size_t slash = path.rfind('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    for (std::size_t at = name.find(kMarker); at != std::string_view::npos;
         at = name.find(kMarker, at + 1)) {
        if (suffix_at(name, at)) return true;
    }
    return false;
}

}  // namespace ferry
