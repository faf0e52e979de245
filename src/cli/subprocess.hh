// Running another program (systemctl, launchctl) and collecting its output.
//
// The program is found through PATH, as a shell would; its stdin is
// /dev/null, its stdout and stderr are captured (each up to kMaxOutputBytes;
// more is read and dropped). A program still running at the deadline is
// killed (SIGKILL) and reported as a failure.
// Thread rule: blocking; one caller thread; the child is waited for before
// run_program() returns, so no zombie is left.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "cli/failure.hh"

namespace ferry::cli {

inline constexpr std::size_t kMaxOutputBytes = 1024 * 1024;

struct ProgramResult {
    int status = 0;  // exit status; 128 + signal number if killed by a signal
    std::string out;
    std::string err;
};

// Whether `name` is an executable file in one of PATH's folders.
bool program_on_path(const std::string& name);

// Runs argv[0] (looked up in PATH) with argv. A Failure when it cannot be
// started or does not finish within `timeout`; its exit status, whatever it
// is, is a result.
Outcome<ProgramResult> run_program(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// As run_program, and an exit status other than 0 is a Failure too:
// "`ARGV...` failed: <first_line>", with `hint`.
Outcome<ProgramResult> run_checked(const std::vector<std::string>& argv, std::string hint);

// What a program said, for an error message: the first line of its stderr
// (else of its stdout), or its exit status when it said nothing.
std::string first_line(const ProgramResult& result);

}  // namespace ferry::cli
