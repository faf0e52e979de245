#include "core/byte_size.hh"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

namespace ferry {

namespace {

constexpr std::size_t kMaxNumberLength = 32;

std::string lower(std::string_view text) {
    std::string out;
    for (char c : text) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    return out;
}

// The multiplier of a unit ("", "b", "k", "kb", "kib", ...), or 0.
double unit_factor(const std::string& unit) {
    static constexpr std::string_view kPrefixes = "kmgtp";
    if (unit.empty() || unit == "b") return 1;
    const std::size_t power = kPrefixes.find(unit[0]);
    if (power == std::string_view::npos) return 0;
    const std::string rest = unit.substr(1);
    const double exponent = static_cast<double>(power + 1);
    if (rest.empty() || rest == "b") return std::pow(1000.0, exponent);
    if (rest == "ib") return std::pow(1024.0, exponent);
    return 0;
}

}  // namespace

Result<std::uint64_t> parse_byte_size(std::string_view text) {
    const auto bad = [&](const char* why) {
        return fail(Errc::invalid_argument,
                    "size \"" + std::string(text.substr(0, 40)) + "\": " + why +
                        " (examples: 500MiB, 10G, 1.5TB, unlimited)");
    };
    const std::string s = lower(text);
    if (s == "unlimited") return 0;
    std::size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) != 0 || s[i] == '.')) ++i;
    const std::string number = s.substr(0, i);
    if (number.empty() || number.front() == '.' || number.back() == '.' ||
        number.find('.') != number.rfind('.')) {
        return bad("not a number");
    }
    // Longer numbers cannot name a size below 2^63 bytes usefully, and would
    // overflow (or underflow) a double.
    if (number.size() > kMaxNumberLength) return bad("too many digits");
    while (i < s.size() && s[i] == ' ') ++i;
    const double factor = unit_factor(s.substr(i));
    if (factor == 0) return bad("unknown unit");
    double parsed = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), parsed);
    if (error != std::errc{} || end != number.data() + number.size()) return bad("not a number");
    const double value = parsed * factor;
    if (!(value < 9.2e18)) return bad("too large");
    return static_cast<std::uint64_t>(std::llround(value));
}

std::string human_bytes(std::uint64_t bytes) {
    static constexpr std::array<const char*, 6> units{"kB", "MB", "GB", "TB", "PB", "EB"};
    if (bytes < 1000) return std::to_string(bytes) + " B";
    double value = static_cast<double>(bytes) / 1000.0;
    std::size_t unit = 0;
    // Round first, so 999,999 bytes shows as "1.0 MB", not "1000.0 kB".
    while (value >= 999.95 && unit + 1 < units.size()) {
        value /= 1000.0;
        ++unit;
    }
    std::array<char, 32> buf{};
    std::snprintf(buf.data(), buf.size(), "%.1f %s", value, units[unit]);
    return buf.data();
}

}  // namespace ferry
