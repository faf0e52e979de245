#include "cli/stop_signal.hh"

#include <csignal>

namespace ferry::cli {
namespace {

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_stop_signal(int) {
    g_stop.store(true);
}

}  // namespace

std::atomic<bool>& stop_requested() {
    return g_stop;
}

void stop_on_signals() {
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    // Reads and writes carry on; poll(2) and nanosleep(2) return EINTR
    // regardless (signal(7)).
    action.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
}

}  // namespace ferry::cli
