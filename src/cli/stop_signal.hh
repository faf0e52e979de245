// SIGINT and SIGTERM as a request to stop, for commands that stop early
// (`ferry scan`: the scanner stops at its next check instead of the process
// dying in the middle of a store transaction) or run until interrupted
// (`ferry log --follow`, which then exits 0). After stop_on_signals(), those
// signals set stop_requested() instead of ending the process; they also
// interrupt a blocking poll(2) or nanosleep(2), which return EINTR.
// Thread rule: install from the main thread; the flag may be read anywhere.
#pragma once

#include <atomic>

namespace ferry::cli {

std::atomic<bool>& stop_requested();
void stop_on_signals();

}  // namespace ferry::cli
