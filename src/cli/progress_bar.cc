#include "cli/progress_bar.hh"

#include <algorithm>
#include <cstdio>

#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/format.hh"

namespace ferry::cli {
namespace {

std::size_t terminal_width() {
    winsize ws{};
    if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
    return 80;
}

}  // namespace

ProgressBar::ProgressBar(std::string label)
    : m_label(std::move(label)), m_start(std::chrono::steady_clock::now()) {}

std::string ProgressBar::render(const std::string& label, const ScanProgress& progress,
                                std::chrono::duration<double> elapsed, std::size_t width) {
    const std::uint64_t total = progress.bytes_to_hash;
    const std::uint64_t done = std::min(progress.bytes_hashed, total);
    const double fraction = total == 0 ? (progress.walk_done ? 1.0 : 0.0)
                                       : static_cast<double>(done) / static_cast<double>(total);
    const double seconds = elapsed.count();
    const std::uint64_t rate =
        seconds > 0.05
            ? static_cast<std::uint64_t>(static_cast<double>(progress.bytes_hashed) / seconds)
            : 0;

    std::array<char, 8> percent{};
    std::snprintf(percent.data(), percent.size(), "%3d%%", static_cast<int>(fraction * 100.0));
    const std::string tail = std::string("  ") + percent.data() + "  " + human_bytes(done) + "/" +
                             human_bytes(total) + (progress.walk_done ? "" : "+") + "  " +
                             count_of(progress.entries_seen, "entry", "entries") + "  " +
                             human_bytes(rate) + "/s";
    std::string name = label.size() > 20 ? label.substr(0, 19) + "~" : label;
    // What is left for the bar itself, between "[" and "]", 10 to 40 columns.
    const std::size_t fixed = name.size() + 2 + 2 + tail.size() + 1;
    const std::size_t bar = width > fixed + 10 ? std::min<std::size_t>(width - fixed, 40) : 10;
    const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar));
    std::string line =
        name + "  [" + std::string(filled, '#') + std::string(bar - filled, '.') + "]" + tail;
    if (line.size() >= width) line.resize(width - 1);
    return line;
}

void ProgressBar::update(const ScanProgress& progress) {
    const std::string line =
        render(m_label, progress, std::chrono::steady_clock::now() - m_start, terminal_width());
    // Carriage return, the line, then erase whatever an older, longer line left.
    std::fprintf(stderr, "\r%s\x1b[K", line.c_str());
    std::fflush(stderr);
    m_drawn = true;
}

void ProgressBar::clear() {
    if (!m_drawn) return;
    std::fprintf(stderr, "\r\x1b[K");
    std::fflush(stderr);
    m_drawn = false;
}

}  // namespace ferry::cli
