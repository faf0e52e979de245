// The scan progress bar, redrawn in place on a terminal:
//
//   docs  [#########.......]  56%  1.2 GB/2.1 GB  10,234 entries  410 MB/s
//
// While the walk is still finding files the total is shown as a lower bound
// ("2.1 GB+"). The line fits the terminal's width. Thread rule: one thread
// (the scanner calls progress on the scanning thread); writes to stderr only.
#pragma once

#include <chrono>
#include <string>

#include "fs/scanner.hh"

namespace ferry::cli {

class ProgressBar {
public:
    explicit ProgressBar(std::string label);
    // Redraws the line for `progress`.
    void update(const ScanProgress& progress);
    // Erases the line, leaving the cursor at its start.
    void clear();

    // The line for `progress` after `elapsed`, `width` columns at most.
    static std::string render(const std::string& label, const ScanProgress& progress,
                              std::chrono::duration<double> elapsed, std::size_t width);

private:
    std::string m_label;
    std::chrono::steady_clock::time_point m_start;
    bool m_drawn = false;
};

}  // namespace ferry::cli
