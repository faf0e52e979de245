// `ferry log [-n N] [--follow]`: the daemon's recent log lines from
// FERRY_HOME/ferry.log (and its rotated predecessor), whether or not the
// daemon runs; with --follow, then the lines it appends, until SIGINT or
// SIGTERM (exit 0).
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include <poll.h>
#include <unistd.h>

#include "cli/commands.hh"
#include "cli/home.hh"
#include "cli/log_file.hh"
#include "cli/log_reader.hh"
#include "cli/stop_signal.hh"

namespace ferry::cli {
namespace {

constexpr std::size_t kDefaultLines = 50;
constexpr std::size_t kMaxLines = 100'000;
// How often --follow looks for new lines.
constexpr int kFollowPollMs = 200;

struct LogCommandOptions {
    std::size_t lines = kDefaultLines;
    bool follow = false;
};

Outcome<void> print(std::string_view text) {
    if (!write_whole(STDOUT_FILENO, text)) {
        return failed("cannot write to standard output", std::strerror(errno));
    }
    return {};
}

// Prints new lines as they come until a stop signal.
int follow(LogReader& reader) {
    stop_on_signals();
    while (!stop_requested().load()) {
        auto fresh = reader.read_new();
        if (!fresh) return report(Failure{"cannot follow the log", fresh.error().message});
        if (!fresh->empty()) {
            if (auto printed = print(*fresh); !printed) return report(printed.error());
            continue;  // there may be more right away
        }
        ::poll(nullptr, 0, kFollowPollMs);  // a stop signal ends it early
    }
    return kExitOk;
}

int run_log(const LogCommandOptions& options) {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    const std::string path = paths->log_file();
    LogReader reader(path);
    auto recent = reader.last(options.lines);
    if (!recent) return report(Failure{"cannot read the log", recent.error().message});
    if (!*recent) {
        std::fprintf(stderr, "No log yet in %s; the daemon (`ferry run`) writes it.\n",
                     path.c_str());
    } else {
        std::string text = std::move(**recent);
        // Whole lines only, unless --follow completes the last one.
        if (!options.follow && !text.empty() && text.back() != '\n') text += '\n';
        if (auto printed = print(text); !printed) return report(printed.error());
    }
    return options.follow ? follow(reader) : kExitOk;
}

}  // namespace

void add_log_command(CLI::App& app, int& status) {
    auto options = std::make_shared<LogCommandOptions>();
    CLI::App* log = app.add_subcommand(
        "log",
        "Show the daemon's recent log lines (FERRY_HOME/ferry.log, the events `ferry run` "
        "logged at its --log-level), whether or not it runs.");
    log->add_option("-n,--lines", options->lines,
                    "How many of the last lines to show (default 50; 0 with --follow: only new "
                    "ones)")
        ->check(CLI::Range(std::size_t{0}, kMaxLines))
        ->type_name("N");
    log->add_flag("--follow,-f", options->follow,
                  "Then show new lines as the daemon logs them, until interrupted (Ctrl-C)");
    log->callback([options, &status] { status = run_log(*options); });
}

}  // namespace ferry::cli
