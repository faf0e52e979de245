#include "cli_test_util.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace ferry::test {

std::string ferry_bin() {
    const char* bin = std::getenv("FERRY_BIN");
    if (bin == nullptr || *bin == '\0') FAIL("FERRY_BIN is not set: run through `meson test`");
    return bin;
}

// The environment for the child: ours, with FERRY_HOME replaced.
std::vector<std::string> child_environment(const std::string& home) {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
        if (!std::string_view(*e).starts_with("FERRY_HOME=")) env.emplace_back(*e);
    }
    env.push_back("FERRY_HOME=" + home);
    return env;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings) out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

int wait_status(pid_t pid) {
    int raw = 0;
    while (::waitpid(pid, &raw, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(raw)) return WEXITSTATUS(raw);
    if (WIFSIGNALED(raw)) return 128 + WTERMSIG(raw);
    return -1;
}

namespace {

// Reads every fd until all reach end of file (or EIO, as a pty does when the
// child has gone), appending to the matching string.
void drain(std::vector<std::pair<int, std::string*>> sources) {
    std::array<char, 65536> buf{};
    while (!sources.empty()) {
        std::vector<pollfd> fds;
        for (const auto& s : sources) fds.push_back({s.first, POLLIN, 0});
        if (::poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            FAIL("poll failed");
        }
        for (std::size_t i = fds.size(); i-- > 0;) {
            if (fds[i].revents == 0) continue;
            const ssize_t n = ::read(fds[i].fd, buf.data(), buf.size());
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                ::close(sources[i].first);
                sources.erase(sources.begin() + static_cast<std::ptrdiff_t>(i));
            } else {
                sources[i].second->append(buf.data(), static_cast<std::size_t>(n));
            }
        }
    }
}

}  // namespace

Sandbox::Sandbox() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "ferry-cli-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    m_root = tmpl;
    std::filesystem::create_directory(path("data"));
}

Sandbox::~Sandbox() {
    std::error_code ec;
    // Restore permissions a test may have taken away, so removal succeeds.
    for (auto it = std::filesystem::recursive_directory_iterator(m_root, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_symlink()) {
            std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                         std::filesystem::perm_options::add, ec);
        }
    }
    std::filesystem::remove_all(m_root, ec);
}

Run Sandbox::ferry(const std::vector<std::string>& args, const std::string& cwd) const {
    return run_ferry(home(), args, cwd.empty() ? m_root : cwd);
}

Run run_ferry(const std::string& home, const std::vector<std::string>& args,
              const std::string& dir) {
    std::vector<std::string> argv{ferry_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, child_environment(home), dir);
}

Run run_process(std::vector<std::string> argv_strings, std::vector<std::string> env_strings,
                const std::string& dir) {
    auto argv = pointers(argv_strings);
    auto envp = pointers(env_strings);

    int out_pipe[2];
    int err_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    REQUIRE(::pipe2(err_pipe, O_CLOEXEC) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        ::dup2(null_fd, 0);
        ::dup2(out_pipe[1], 1);
        ::dup2(err_pipe[1], 2);
        if (::chdir(dir.c_str()) != 0) ::_exit(126);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    ::close(err_pipe[1]);
    Run run;
    drain({{out_pipe[0], &run.out}, {err_pipe[0], &run.err}});
    run.status = wait_status(pid);
    return run;
}

Run Sandbox::ferry_on_terminal(const std::vector<std::string>& args) const {
    std::vector<std::string> argv_strings{ferry_bin()};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<std::string> env_strings = child_environment(home());
    auto argv = pointers(argv_strings);
    auto envp = pointers(env_strings);

    int out_pipe[2];
    REQUIRE(::pipe2(out_pipe, O_CLOEXEC) == 0);
    int terminal = -1;
    winsize size{};
    size.ws_col = 100;
    size.ws_row = 30;
    const pid_t pid = ::forkpty(&terminal, nullptr, nullptr, &size);
    REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(out_pipe[1], 1);  // stdout to the pipe; stdin and stderr stay on the pty
        if (::chdir(m_root.c_str()) != 0) ::_exit(126);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
    ::close(out_pipe[1]);
    Run run;
    drain({{out_pipe[0], &run.out}, {terminal, &run.err}});
    run.status = wait_status(pid);
    return run;
}

void Sandbox::init() const {
    const Run run = ferry({"init", "--name", "test-device"});
    INFO(run.err);
    REQUIRE(run.status == 0);
}

std::string Sandbox::add_folder(const std::string& name) const {
    const std::string dir = path("data/" + name);
    std::filesystem::create_directories(dir);
    const Run run = ferry({"folder", "add", dir, "--id", name});
    INFO(run.err);
    REQUIRE(run.status == 0);
    return std::filesystem::canonical(dir).string();
}

void write_file(const std::string& path, const std::string& content) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    REQUIRE(out.good());
}

void write_big_file(const std::string& path, std::size_t size, std::uint64_t seed) {
    constexpr std::size_t kBlock = 8 * 1024 * 1024;
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    for (std::size_t done = 0; done < size; done += kBlock) {
        const std::string block = random_bytes(std::min(kBlock, size - done), seed + done);
        out.write(block.data(), static_cast<std::streamsize>(block.size()));
    }
    REQUIRE(out.good());
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

std::size_t occurrences(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

std::string random_bytes(std::size_t size, std::uint64_t seed) {
    std::string out(size, '\0');
    std::uint64_t x = seed | 1;
    for (char& c : out) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x >> 56);
    }
    return out;
}

nlohmann::json parse_json(const std::string& text) {
    INFO("output: " << text);
    nlohmann::json value;
    REQUIRE_NOTHROW(value = nlohmann::json::parse(text));
    return value;
}

}  // namespace ferry::test
