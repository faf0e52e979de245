// ferry-sim: runs seeded cluster simulations (sim_cluster.hh) and reports
// every seed that breaks an invariant, with the shrunk list of steps that
// still breaks it. See `ferry-sim --help`; `./dev sim` runs it.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "scenario.hh"
#include "shrink.hh"
#include "sim_cluster.hh"
#include "support/crashable_store.hh"

using namespace ferry::sim;

namespace {

constexpr const char* kUsage = R"(usage: ferry-sim [options]
Runs deterministic simulations of a ferry cluster: real engines on in-memory
disks and networks, in virtual time, with random changes and faults. Prints
each seed that breaks an invariant, shrunk to the steps that still break it.

  --seed N         first seed (default 1)
  --seeds COUNT    how many seeds, from --seed on (default 1)
  --devices N      devices per cluster, 3-5 (default 3)
  --steps N        steps per scenario (default 40)
  --keep I,J,...   replay only these steps of the scenario (from a report)
  --no-faults      changes only, no crashes, partitions or disk faults
  --relay MODE     none (default): devices connect directly; also: and a
                   ferry-relay carries what they cannot send directly; only:
                   no direct connections, everything goes through the relay.
                   With a relay, faults include relay restarts and devices
                   running alone (the others stopped), so devices that are
                   never online together sync through mailboxes
  --no-shrink      report failures without shrinking them
  --jobs N         processes to run seeds in (default 1); with more than
                   one, each failing seed's first line is also printed to
                   stderr at once, so a long run that is stopped still
                   names its failures
  --seed-timeout S a run of a seed that takes over S seconds of real time
                   fails ("wall time": livelock suspected; not replayed or
                   shrunk, since the limit depends on the machine); 0: no
                   limit (default 300)
  --replay-every K re-run every K-th passing seed to check the trace is the
                   same (default 50; every failing seed is re-run)
  --verbose        print every step of each failing scenario
  --crash-points   for each seed, count the writing disk calls (changes and
                   syncs) and store commits of one device (seed modulo
                   devices) in the scenario, then re-run it with a power cut
                   on that device right after each of them in turn; use
                   short scenarios (--steps 8)
  --max-points N   at most N crash points of each kind per seed, spread
                   evenly (default 300)
  --crash-at D:disk:N | D:commit:N
                   one run, device D losing power after its N-th writing disk
                   call or store commit (from a crash-points report)
  --regressions FILE
                   run the seeds FILE lists (lines "SEED [options]  # note")
  --known FILE     seeds FILE lists (lines "SEED [RELAY-MODE]  # the bug"; no
                   mode: none) fail for a known, not yet fixed bug: reported,
                   not counted as failures; such a seed that passes is
                   counted as a failure (take it off)
)";

struct Options {
    std::uint64_t seed = 1;
    std::uint64_t seeds = 1;
    int devices = 3;
    int steps = 40;
    bool faults = true;
    RelayMode relay = RelayMode::none;
    bool shrink = true;
    int jobs = 1;
    std::chrono::milliseconds seed_timeout{300'000};
    std::uint64_t replay_every = 50;
    bool verbose = false;
    std::vector<std::size_t> keep;
    bool crash_points = false;
    std::uint64_t max_points = 300;
    std::optional<CrashPoint> crash_at;
    std::string regressions;
    std::string known_file;
    std::set<std::uint64_t> known;  // seeds that fail for a known bug
};

[[noreturn]] void usage_error(const std::string& message) {
    std::cerr << "ferry-sim: " << message << "\n" << kUsage;
    std::exit(2);
}

std::uint64_t number(const std::string& flag, const char* text, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value > max || text[0] == '-')
        usage_error(flag + " takes a number up to " + std::to_string(max) + ", not \"" + text + "\"");
    return value;
}

CrashPoint parse_crash_point(const std::string& text) {
    const auto first = text.find(':');
    const auto second = text.find(':', first == std::string::npos ? first : first + 1);
    if (first == std::string::npos || second == std::string::npos)
        usage_error("--crash-at takes DEVICE:disk:N or DEVICE:commit:N, not \"" + text + "\"");
    CrashPoint point;
    point.device = static_cast<int>(number("--crash-at", text.substr(0, first).c_str(), 4));
    const std::string kind = text.substr(first + 1, second - first - 1);
    if (kind != "disk" && kind != "commit")
        usage_error("--crash-at: the kind is disk or commit, not \"" + kind + "\"");
    point.at_commit = kind == "commit";
    point.after = number("--crash-at", text.substr(second + 1).c_str(), UINT64_MAX / 2);
    if (point.after == 0) usage_error("--crash-at: N counts from 1");
    return point;
}

std::string crash_point_text(const CrashPoint& point) {
    return std::to_string(point.device) + (point.at_commit ? ":commit:" : ":disk:") +
           std::to_string(point.after);
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage_error(arg + " needs a value");
            return argv[++i];
        };
        if (arg == "--help" || arg == "-h") {
            std::cout << kUsage;
            std::exit(0);
        } else if (arg == "--seed") {
            o.seed = number(arg, value(), UINT64_MAX / 2);
        } else if (arg == "--seeds") {
            o.seeds = number(arg, value(), 1'000'000'000);
        } else if (arg == "--devices") {
            o.devices = static_cast<int>(number(arg, value(), 5));
            if (o.devices < 3) usage_error("--devices takes 3 to 5");
        } else if (arg == "--steps") {
            o.steps = static_cast<int>(number(arg, value(), 10'000));
        } else if (arg == "--keep") {
            std::stringstream list(value());
            std::string item;
            while (std::getline(list, item, ','))
                o.keep.push_back(number(arg, item.c_str(), 10'000));
        } else if (arg == "--no-faults") {
            o.faults = false;
        } else if (arg == "--relay") {
            const std::string mode = value();
            if (mode == "none")
                o.relay = RelayMode::none;
            else if (mode == "also")
                o.relay = RelayMode::also;
            else if (mode == "only")
                o.relay = RelayMode::only;
            else
                usage_error("--relay takes none, also or only, not \"" + mode + "\"");
        } else if (arg == "--no-shrink") {
            o.shrink = false;
        } else if (arg == "--jobs") {
            o.jobs = static_cast<int>(number(arg, value(), 64));
            if (o.jobs < 1) usage_error("--jobs takes 1 or more");
        } else if (arg == "--seed-timeout") {
            o.seed_timeout = std::chrono::seconds(number(arg, value(), 86'400));
        } else if (arg == "--replay-every") {
            o.replay_every = number(arg, value(), 1'000'000'000);
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else if (arg == "--crash-points") {
            o.crash_points = true;
        } else if (arg == "--max-points") {
            o.max_points = number(arg, value(), 1'000'000);
        } else if (arg == "--crash-at") {
            o.crash_at = parse_crash_point(value());
        } else if (arg == "--regressions") {
            o.regressions = value();
        } else if (arg == "--known") {
            o.known_file = value();
        } else {
            usage_error("unknown argument \"" + arg + "\"");
        }
    }
    return o;
}

std::string relay_mode_name(RelayMode mode) {
    switch (mode) {
        case RelayMode::none: return "none";
        case RelayMode::also: return "also";
        case RelayMode::only: return "only";
    }
    return "?";
}

ScenarioOptions scenario_options(const Options& o) {
    return ScenarioOptions{o.devices, o.steps, o.faults, o.relay != RelayMode::none};
}

std::string command_for(const Options& o, std::uint64_t seed) {
    std::string out = "./dev sim --seed " + std::to_string(seed) + " --devices " +
                      std::to_string(o.devices) + " --steps " + std::to_string(o.steps);
    if (!o.faults) out += " --no-faults";
    if (o.relay != RelayMode::none) out += " --relay " + relay_mode_name(o.relay);
    if (o.crash_at) out += " --crash-at " + crash_point_text(*o.crash_at);
    return out;
}

// Crash-point mode for one seed: a counting run, then a run per crash
// point; reports the first few that break an invariant.
bool run_crash_points(const Options& o, std::uint64_t seed, const std::vector<Step>& steps,
                      std::ostream& out) {
    const int device = static_cast<int>(seed % static_cast<std::uint64_t>(o.devices));
    SimConfig config{seed, o.devices, CrashPoint{device, false, UINT64_MAX / 2}, o.relay,
                     o.seed_timeout};
    ferry::test::seed_sqlite_random(static_cast<int>(seed));
    const RunOutcome counted = run_scenario(config, steps);
    int failures = 0;
    auto report = [&](const std::string& what, const std::vector<Violation>& violations) {
        ++failures;
        out << "FAIL seed " << seed << " (" << o.devices << " devices, " << steps.size()
            << " steps) " << what << ": " << violations.front().invariant << ": "
            << violations.front().detail << "\n";
    };
    if (!counted.violations.empty()) report("without a crash point", counted.violations);
    for (const bool at_commit : {false, true}) {
        const std::uint64_t total = at_commit ? counted.commits : counted.writing_calls;
        const std::uint64_t points = std::min(total, o.max_points);
        for (std::uint64_t i = 0; i < points && failures < 3; ++i) {
            // After the first call or commit up to after the last one.
            config.crash_point = CrashPoint{device, at_commit, 1 + i * total / points};
            ferry::test::seed_sqlite_random(static_cast<int>(seed));
            const RunOutcome outcome = run_scenario(config, steps);
            if (outcome.violations.empty()) continue;
            report("with a power cut on d" + std::to_string(device) + " right after " +
                       (at_commit ? "store commit " : "writing disk call ") +
                       std::to_string(config.crash_point->after) + " of " +
                       std::to_string(total),
                   outcome.violations);
            out << "  replay: " << command_for(o, seed) << " --crash-at "
                << crash_point_text(*config.crash_point) << "\n";
        }
    }
    if (o.verbose)
        out << "seed " << seed << ": d" << device << " made " << counted.writing_calls
            << " writing disk calls and " << counted.commits << " store commits\n";
    return failures == 0;
}

// Runs one seed; returns whether it passed, writing any report to `out`.
bool run_seed(const Options& o, std::uint64_t seed, std::ostream& out) {
    // SQLite's random() makes each index's id: seeded, it is the same each run.
    const SimConfig config{seed, o.devices, o.crash_at, o.relay, o.seed_timeout};
    std::vector<Step> steps = make_scenario(seed, scenario_options(o));
    std::vector<std::size_t> indexes;
    if (!o.keep.empty()) {
        std::vector<Step> kept;
        for (std::size_t i : o.keep)
            if (i < steps.size()) {
                kept.push_back(steps[i]);
                indexes.push_back(i);
            }
        steps = std::move(kept);
    } else {
        for (std::size_t i = 0; i < steps.size(); ++i) indexes.push_back(i);
    }
    if (o.crash_points) return run_crash_points(o, seed, steps, out);
    ferry::test::seed_sqlite_random(static_cast<int>(seed));
    RunOutcome outcome = run_scenario(config, steps);
    const bool failed = !outcome.violations.empty();
    const bool timed_out = failed && outcome.violations.front().invariant == kWallTimeInvariant;
    if (!timed_out && (failed || (o.replay_every != 0 && seed % o.replay_every == 0))) {
        ferry::test::seed_sqlite_random(static_cast<int>(seed));
        const RunOutcome again = run_scenario(config, steps);
        if (again.trace != outcome.trace)
            outcome.violations.push_back(
                {"determinism", "a second run of the seed took another course (trace " +
                                    std::to_string(outcome.trace) + " then " +
                                    std::to_string(again.trace) + ")"});
    }
    if (outcome.violations.empty()) return true;

    const Violation& first = outcome.violations.front();
    out << "FAIL seed " << seed << " (" << o.devices << " devices, " << steps.size()
        << " steps): " << first.invariant << ": " << first.detail << "\n";
    for (std::size_t i = 1; i < outcome.violations.size(); ++i)
        out << "  also " << outcome.violations[i].invariant << ": " << outcome.violations[i].detail
            << "\n";
    std::vector<std::size_t> shown = indexes;
    std::vector<Step> shown_steps = steps;
    if (o.shrink && first.invariant != "determinism" && !timed_out) {
        const Shrunk shrunk =
            shrink(simulation_runner(config, first.invariant), steps, first, 300);
        shown.clear();
        for (std::size_t k : shrunk.kept) shown.push_back(indexes[k]);
        shown_steps = shrunk.steps;
        out << "  shrunk to " << shown.size() << " of " << steps.size() << " steps ("
            << shrunk.runs << " runs): " << shrunk.violation.invariant << ": "
            << shrunk.violation.detail << "\n";
    }
    if (o.shrink || o.verbose)
        for (std::size_t i = 0; i < shown.size(); ++i)
            out << "    #" << shown[i] << " " << describe(shown_steps[i]) << "\n";
    std::string keep;
    for (std::size_t i : shown) keep += (keep.empty() ? "" : ",") + std::to_string(i);
    out << "  replay: " << command_for(o, seed) << " --keep " << keep
        << (timed_out ? " --seed-timeout 0" : "") << "\n";
    return false;
}

struct Tally {
    std::uint64_t passed = 0;
    std::uint64_t failed = 0;
    std::uint64_t known = 0;  // failed for a known bug
};

// Lines "SEED [RELAY-MODE]  # the bug": the seeds listed for `mode` (a line
// without a mode is for runs without a relay).
std::set<std::uint64_t> read_known(const std::string& file, RelayMode mode) {
    std::ifstream in(file);
    if (!in) usage_error("cannot read " + file);
    std::set<std::uint64_t> seeds;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream words(line.substr(0, line.find('#')));
        std::string seed;
        std::string relay = "none";
        if (!(words >> seed)) continue;
        words >> relay;
        if (relay == relay_mode_name(mode))
            seeds.insert(number("--known", seed.c_str(), UINT64_MAX / 2));
    }
    return seeds;
}

// Counts one seed's outcome, minding the known failures.
void count(const Options& o, std::uint64_t seed, bool passed, const std::string& report,
           Tally& tally, std::ostream& out) {
    const bool known = o.known.count(seed) != 0;
    if (passed && !known) {
        ++tally.passed;
    } else if (passed) {
        ++tally.failed;
        out << "FAIL seed " << seed << " passes, but " << o.known_file
            << " lists it as failing for a known bug: take it off the list\n";
    } else if (known) {
        ++tally.known;
        std::istringstream lines(report);
        std::string first;
        std::getline(lines, first);
        out << "KNOWN " << first.substr(first.rfind("FAIL ", 0) == 0 ? 5 : 0) << "\n";
    } else {
        ++tally.failed;
        out << report;
    }
}

Tally run_share(const Options& o, int job, std::ostream& out) {
    Tally tally;
    for (std::uint64_t i = static_cast<std::uint64_t>(job); i < o.seeds;
         i += static_cast<std::uint64_t>(o.jobs)) {
        std::ostringstream report;
        const bool passed = run_seed(o, o.seed + i, report);
        if (!passed && o.jobs > 1) {
            const std::string text = report.str();
            std::cerr << "ferry-sim: job " << job << ": " << text.substr(0, text.find('\n'))
                      << std::endl;
        }
        count(o, o.seed + i, passed, report.str(), tally, out);
        out.flush();
        const std::uint64_t done = tally.passed + tally.failed + tally.known;
        if (o.seeds >= 10'000 && done % 5'000 == 0)
            std::cerr << "ferry-sim: job " << job << ": " << done << " seeds, " << tally.failed
                      << " failed\n";
    }
    return tally;
}

// The seeds a regressions file lists, each with its own options.
Tally run_regressions(const std::string& file, std::ostream& out) {
    std::ifstream in(file);
    if (!in) usage_error("cannot read " + file);
    Tally tally;
    std::string line;
    while (std::getline(in, line)) {
        line = line.substr(0, line.find('#'));
        std::istringstream words(line);
        std::vector<std::string> args{"ferry-sim"};
        for (std::string word; words >> word;) args.push_back(word);
        if (args.size() == 1) continue;
        args.insert(args.begin() + 1, "--seed");
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        Options o = parse(static_cast<int>(argv.size()), argv.data());
        o.shrink = false;
        if (run_seed(o, o.seed, out))
            ++tally.passed;
        else
            ++tally.failed;
    }
    return tally;
}

}  // namespace

int main(int argc, char** argv) {
    Options o = parse(argc, argv);
    if (!o.known_file.empty()) o.known = read_known(o.known_file, o.relay);
    const auto started = std::chrono::steady_clock::now();
    Tally total;
    if (!o.regressions.empty()) {
        total = run_regressions(o.regressions, std::cout);
        std::cout << "ferry-sim: " << total.passed + total.failed << " regression seeds, "
                  << total.failed << " failed\n";
        return total.failed == 0 ? 0 : 1;
    }
    if (o.jobs == 1) {
        total = run_share(o, 0, std::cout);
    } else {
        // One process per job (the simulation's virtual time and SQLite's
        // seeded generator are per process); each reports through a file.
        std::vector<std::pair<pid_t, std::FILE*>> children;
        for (int job = 0; job < o.jobs; ++job) {
            std::FILE* report = std::tmpfile();
            if (report == nullptr) {
                std::perror("ferry-sim: tmpfile");
                return 2;
            }
            std::cout.flush();
            const pid_t pid = fork();
            if (pid < 0) {
                std::perror("ferry-sim: fork");
                return 2;
            }
            if (pid == 0) {
                std::ostringstream out;
                const Tally tally = run_share(o, job, out);
                std::fprintf(report, "%s%llu %llu %llu\n", out.str().c_str(),
                             static_cast<unsigned long long>(tally.passed),
                             static_cast<unsigned long long>(tally.failed),
                             static_cast<unsigned long long>(tally.known));
                std::fflush(report);
                _exit(0);
            }
            children.emplace_back(pid, report);
        }
        bool lost = false;
        for (auto& [pid, report] : children) {
            int status = 0;
            waitpid(pid, &status, 0);
            std::rewind(report);
            std::string text;
            char buffer[4096];
            std::size_t n;
            while ((n = std::fread(buffer, 1, sizeof buffer, report)) > 0) text.append(buffer, n);
            std::fclose(report);
            const auto last = text.rfind('\n', text.size() >= 2 ? text.size() - 2 : 0);
            const std::string summary = last == std::string::npos ? text : text.substr(last + 1);
            unsigned long long passed = 0;
            unsigned long long failed = 0;
            unsigned long long known = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
                std::sscanf(summary.c_str(), "%llu %llu %llu", &passed, &failed, &known) != 3) {
                std::cout << "ferry-sim: job process " << pid << " died (status " << status
                          << ")\n";
                lost = true;
                continue;
            }
            std::cout << text.substr(0, last == std::string::npos ? 0 : last + 1);
            total.passed += passed;
            total.failed += failed;
            total.known += known;
        }
        if (lost) ++total.failed;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    const std::uint64_t seeds = total.passed + total.failed + total.known;
    std::cout << "ferry-sim: " << seeds << " seeds (" << o.devices << " devices, " << o.steps
              << " steps" << (o.faults ? ", faults" : "")
              << (o.relay != RelayMode::none ? ", relay " + relay_mode_name(o.relay) : "")
              << (o.crash_points ? ", crash points" : "")
              << "), " << total.failed << " failed, " << total.known
              << " failed for known bugs, " << seconds << " s, "
              << (seconds > 0 ? static_cast<double>(seeds) / seconds : 0.0) << " seeds/s on "
              << o.jobs << " job(s)\n";
    return total.failed == 0 ? 0 : 1;
}
