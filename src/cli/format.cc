#include "cli/format.hh"

#include <array>
#include <cstdio>
#include <ctime>

namespace ferry::cli {

std::string with_commas(std::uint64_t n) {
    std::string digits = std::to_string(n);
    std::string out;
    for (std::size_t i = 0; i < digits.size(); ++i) {
        if (i != 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
        out.push_back(digits[i]);
    }
    return out;
}

std::string iso_time_ns(std::int64_t ns_since_epoch) {
    constexpr std::int64_t kNs = 1'000'000'000;
    std::int64_t seconds = ns_since_epoch / kNs;
    std::int64_t fraction = ns_since_epoch % kNs;
    if (fraction < 0) {  // before 1970: floor, so the fraction stays positive
        fraction += kNs;
        --seconds;
    }
    const std::time_t t = static_cast<std::time_t>(seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::array<char, 64> buf{};
    std::snprintf(buf.data(), buf.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ",
                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(fraction));
    return buf.data();
}

std::string iso_time_ms(std::int64_t ns_since_epoch) {
    std::string text = iso_time_ns(ns_since_epoch);
    constexpr std::size_t kMicrosAndNanos = 6;  // of the 9 fraction digits before 'Z'
    text.erase(text.size() - 1 - kMicrosAndNanos, kMicrosAndNanos);
    return text;
}

std::string octal_mode(std::uint32_t mode) {
    std::array<char, 16> buf{};
    std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return buf.data();
}

std::string short_id_hex(ShortId id) {
    std::array<char, 24> buf{};
    std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(id.value));
    return buf.data();
}

std::string count_of(std::uint64_t n, const char* singular, const char* plural) {
    return with_commas(n) + " " + (n == 1 ? singular : plural);
}

}  // namespace ferry::cli
