#include "cli/parse_time.hh"

#include <charconv>
#include <cstdio>
#include <ctime>

namespace ferry::cli {
namespace {

constexpr std::int64_t kSecondNs = 1'000'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// algorithm), so no time zone or locale is involved.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool valid_date(int y, int mo, int d, int h, int mi, int s) {
    static constexpr int kDays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1]) return false;
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (mo == 2 && d == 29 && !leap) return false;
    return h >= 0 && h < 24 && mi >= 0 && mi < 60 && s >= 0 && s < 60;
}

}  // namespace

Outcome<std::int64_t> parse_duration_ns(const std::string& text, std::int64_t max_ns) {
    const std::string what = "invalid duration '" + text + "'";
    const std::string hint = "give a number with a unit: 90s, 30m, 1h or 7d";
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [next, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || text.empty()) return failed(what, "it does not start with a number", hint);
    const std::string unit(next, end);
    double scale = 0;
    if (unit.empty() || unit == "s") {
        scale = 1;
    } else if (unit == "m") {
        scale = 60;
    } else if (unit == "h") {
        scale = 3600;
    } else if (unit == "d") {
        scale = 86400;
    } else {
        return failed(what, "unknown unit '" + unit + "'", hint);
    }
    const double ns = value * scale * static_cast<double>(kSecondNs);
    if (!(ns >= 1e6)) return failed(what, "it is not positive (at least 1 ms)", hint);
    if (ns > static_cast<double>(max_ns)) {
        return failed(what, "it is longer than " + std::to_string(max_ns / kSecondNs / 86400) +
                                " days", hint);
    }
    return static_cast<std::int64_t>(ns);
}

Outcome<std::int64_t> parse_time_ns(const std::string& text) {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
    std::string rest = text;
    if (!rest.empty() && rest.back() == 'Z') rest.pop_back();
    const char* c = rest.c_str();
    const auto full = [&](int fields, int expected) {
        return fields == expected && static_cast<std::size_t>(used) == rest.size();
    };
    bool parsed = full(std::sscanf(c, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used), 6) ||
                  full(std::sscanf(c, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used), 6) ||
                  full(std::sscanf(c, "%4d%2d%2d-%2d%2d%2d%n", &y, &mo, &d, &h, &mi, &s, &used), 6);
    if (!parsed) {
        h = mi = s = 0;
        parsed = full(std::sscanf(c, "%4d-%2d-%2d%n", &y, &mo, &d, &used), 3);
    }
    if (!parsed || !valid_date(y, mo, d, h, mi, s)) {
        return failed("invalid time '" + text + "'", "it is not a UTC date and time",
                      "write it as 2026-11-25T16:20:01Z, 2026-11-25 16:20:01 or 2026-11-25");
    }
    const std::int64_t seconds = days_from_civil(y, static_cast<unsigned>(mo),
                                                 static_cast<unsigned>(d)) * 86400 +
                                 h * 3600 + mi * 60 + s;
    return seconds * kSecondNs;
}

}  // namespace ferry::cli
