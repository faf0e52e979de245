#include "cli/subprocess.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ferry::cli {
namespace {

// A pipe whose ends close themselves.
struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) == 0) {
            read_end = fds[0];
            write_end = fds[1];
        }
    }
    ~Pipe() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
    Pipe(const Pipe&) = delete;
    Pipe& operator=(const Pipe&) = delete;
    bool ok() const { return read_end >= 0; }
    void close_write() {
        ::close(write_end);
        write_end = -1;
    }
};

int exit_status(int raw) {
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

int wait_for(pid_t pid) {
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    return exit_status(raw);
}

// Reads both pipes until both reach end of file or the deadline passes;
// false on timeout.
bool collect(Pipe& out, Pipe& err, ProgramResult& result,
             std::chrono::steady_clock::time_point deadline) {
    std::array<char, 16384> buf{};
    std::array<std::pair<int*, std::string*>, 2> sources{
        {{&out.read_end, &result.out}, {&err.read_end, &result.err}}};
    for (;;) {
        std::vector<pollfd> fds;
        std::vector<std::pair<int*, std::string*>> open;
        for (auto& source : sources) {
            if (*source.first < 0) continue;
            fds.push_back({*source.first, POLLIN, 0});
            open.push_back(source);
        }
        if (fds.empty()) return true;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        if (::poll(fds.data(), fds.size(), static_cast<int>(left.count())) < 0 && errno != EINTR) {
            return false;
        }
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (fds[i].revents == 0) continue;
            const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ::close(*open[i].first);
                *open[i].first = -1;
                continue;
            }
            std::string& text = *open[i].second;
            const std::size_t room = kMaxOutputBytes - std::min(text.size(), kMaxOutputBytes);
            text.append(buf.data(), std::min(room, static_cast<std::size_t>(n)));
        }
    }
}

}  // namespace

bool program_on_path(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string_view dirs = path != nullptr ? path : "/usr/bin:/bin";
    while (true) {
        const std::size_t colon = dirs.find(':');
        std::string dir(dirs.substr(0, colon));
        if (dir.empty()) dir = ".";
        if (::access((dir + "/" + name).c_str(), X_OK) == 0) return true;
        if (colon == std::string_view::npos) return false;
        dirs.remove_prefix(colon + 1);
    }
}

Outcome<ProgramResult> run_program(const std::vector<std::string>& argv,
                                   std::chrono::milliseconds timeout) {
    const std::string command = argv.empty() ? std::string() : argv.front();
    Pipe out;
    Pipe err;
    if (!out.ok() || !err.ok()) {
        return failed("cannot run " + command, std::string("pipe: ") + std::strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out.write_end, 1);
    posix_spawn_file_actions_adddup2(&actions, err.write_end, 2);
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    pid_t pid = -1;
    const int spawned =
        ::posix_spawnp(&pid, command.c_str(), &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) return failed("cannot run " + command, std::strerror(spawned));
    out.close_write();
    err.close_write();

    ProgramResult result;
    const bool finished = collect(out, err, result, std::chrono::steady_clock::now() + timeout);
    if (!finished) ::kill(pid, SIGKILL);
    result.status = wait_for(pid);
    if (!finished) {
        return failed("cannot run " + command, "it did not finish within " +
                                                   std::to_string(timeout.count() / 1000) +
                                                   " s and was stopped");
    }
    return result;
}

Outcome<ProgramResult> run_checked(const std::vector<std::string>& argv, std::string hint) {
    auto result = run_program(argv);
    if (!result || result->status == 0) return result;
    std::string command;
    for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
    return failed("`" + command + "` failed", first_line(*result), std::move(hint));
}

std::string first_line(const ProgramResult& result) {
    const std::string& text = result.err.empty() ? result.out : result.err;
    std::string line = text.substr(0, text.find('\n'));
    return line.empty() ? "exit status " + std::to_string(result.status) : line;
}

}  // namespace ferry::cli
