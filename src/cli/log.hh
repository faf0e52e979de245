// The daemon's log: one line per event on stderr, prefixed with the UTC time
// ("2026-11-25T16:20:01.123Z ferry: connected to MFZWI3D (127.0.0.1:4100)").
// systemd and launchd keep stderr; nothing here writes files.
//
// Thread rule: any thread; each line is written with one write(2), so lines
// from several threads never interleave.
#pragma once

#include <string_view>

namespace ferry::cli {

void log_line(std::string_view message);

}  // namespace ferry::cli
