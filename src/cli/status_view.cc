#include "cli/status_view.hh"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "cli/format.hh"

namespace ferry::cli {
namespace {

std::string percent_text(double percent) {
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), "%.1f %%", percent);
    return text.data();
}

std::string with_bar(const std::string& line, double percent, std::size_t bar_width) {
    if (bar_width == 0) return line;
    return percent_bar(percent, bar_width) + " " + line;
}

}  // namespace

std::string percent_bar(double percent, std::size_t width) {
    const double clamped = std::clamp(percent, 0.0, 100.0);
    const auto filled = static_cast<std::size_t>(std::floor(clamped / 100.0 * static_cast<double>(width)));
    return "[" + std::string(filled, '#') + std::string(width - filled, '.') + "]";
}

std::string human_duration(double seconds) {
    if (!(seconds >= 1.0)) return "less than a second";
    const auto s = static_cast<std::uint64_t>(std::llround(std::min(seconds, 1e12)));
    const auto part = [](std::uint64_t n, const char* unit) { return std::to_string(n) + " " + unit; };
    if (s < 60) return part(s, "s");
    if (s < 3600) return part(s / 60, "min") + (s % 60 ? " " + part(s % 60, "s") : "");
    if (s < 86400) return part(s / 3600, "h") + (s % 3600 / 60 ? " " + part(s % 3600 / 60, "min") : "");
    return part(s / 86400, "d") + (s % 86400 / 3600 ? " " + part(s % 86400 / 3600, "h") : "");
}

std::string folder_state_line(const nlohmann::json& f, std::size_t bar_width) {
    const std::string state = f.value("state", std::string());
    if (state == "paused") {
        return "paused (`ferry resume " + f.value("id", std::string()) + "` resumes it)";
    }
    if (state == "error") return "error: " + f.value("error", std::string());
    if (state == "scanning") {
        const auto& completion = f["scan_completion"];
        if (completion.is_number()) {
            const double pct = completion.get<double>();
            return with_bar("scanning, " + percent_text(pct), pct, bar_width);
        }
        return "scanning, " + with_commas(f.value("scan_entries", std::uint64_t{0})) +
               " entries so far";
    }
    const auto need_files = f.value("need_files", std::uint64_t{0});
    if (state == "syncing" || need_files != 0) {
        std::string line = "syncing";
        if (need_files != 0) {
            line += " " + count_of(need_files, "file", "files") + " (" +
                    human_bytes(f.value("need_bytes", std::uint64_t{0})) + ")";
        }
        const double rate = f.value("receive_rate", 0.0);
        if (rate >= 1.0) line += " at " + human_bytes(static_cast<std::uint64_t>(rate)) + "/s";
        if (f["seconds_left"].is_number())
            line += ", about " + human_duration(f["seconds_left"].get<double>()) + " left";
        return line;
    }
    return "in sync";
}

std::string device_progress_line(const nlohmann::json& d, std::size_t bar_width) {
    if (d.value("relayed", false)) {
        return d.value("in_sync", false) ? "offline; in sync through the relay"
                                          : "offline; changes go through the relay";
    }
    if (!d.value("connected", false)) return "offline";
    if (d.value("in_sync", false)) return with_bar("in sync", 100.0, bar_width);
    const double pct = d.value("completion", 0.0);
    return with_bar("syncing, " + percent_text(pct), pct, bar_width);
}

std::string relay_status_line(const nlohmann::json& r) {
    if (!r.value("connected", false)) {
        const std::string error = r.value("error", std::string());
        return "not connected" + (error.empty() ? std::string() : ": " + error);
    }
    std::string line = "connected";
    if (r.contains("rtt_ms")) line += " (" + std::to_string(static_cast<long>(r["rtt_ms"].get<double>() + 0.5)) + " ms)";
    const auto quota = r.value("quota_bytes", std::uint64_t{0});
    line += ", uses " + human_bytes(r.value("used_bytes", std::uint64_t{0})) + " of " +
            (quota == 0 ? std::string("unlimited") : human_bytes(quota));
    return line;
}

}  // namespace ferry::cli
