// Running the real `ferry` binary (FERRY_BIN) from tests, in a sandbox: a
// temporary folder holding FERRY_HOME ("home") and sample data, removed at
// the end of the test.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sys/types.h>

namespace ferry::test {

struct Run {
    int status = -1;  // exit status; 128 + signal number if killed
    std::string out;
    std::string err;
};

class Sandbox {
public:
    Sandbox();
    ~Sandbox();
    Sandbox(const Sandbox&) = delete;
    Sandbox& operator=(const Sandbox&) = delete;

    const std::string& root() const { return m_root; }
    std::string path(const std::string& relative) const { return m_root + "/" + relative; }
    std::string home() const { return path("home"); }

    // Runs ferry with `args`, FERRY_HOME = home(), stdin from /dev/null,
    // in `cwd` (default: the sandbox root).
    Run ferry(const std::vector<std::string>& args, const std::string& cwd = {}) const;
    // Same, with stderr on a pseudo-terminal (stdout stays a pipe); returns
    // what the terminal showed in `err`.
    Run ferry_on_terminal(const std::vector<std::string>& args) const;

    // `ferry init` and `ferry folder add data/NAME --id NAME`, checked.
    void init() const;
    std::string add_folder(const std::string& name) const;  // returns its absolute path

private:
    std::string m_root;
};

// Runs ferry with `args`, FERRY_HOME = `home`, stdin from /dev/null, in `dir`.
Run run_ferry(const std::string& home, const std::vector<std::string>& args,
              const std::string& dir);

// Runs argv[0] (a path) with exactly the environment `env`, stdin from
// /dev/null, in `dir`.
Run run_process(std::vector<std::string> argv, std::vector<std::string> env,
                const std::string& dir);

// For starting processes: the ferry binary (FERRY_BIN), our environment with
// FERRY_HOME set, argv-style pointers, and a waitpid() that returns the exit
// status (128 + signal number if killed).
std::string ferry_bin();
std::vector<std::string> child_environment(const std::string& home);
std::vector<char*> pointers(std::vector<std::string>& strings);
int wait_status(pid_t pid);

// Writes `content` to `path`, creating parent directories.
void write_file(const std::string& path, const std::string& content);
// Writes `size` bytes of random_bytes() (seeded per 8 MiB block from `seed`)
// without holding them all in memory, creating parent directories.
void write_big_file(const std::string& path, std::size_t size, std::uint64_t seed);
// The whole file's bytes ("" when it cannot be read).
std::string read_file(const std::string& path);
// How often `needle` occurs in `text` (overlapping ones too).
std::size_t occurrences(const std::string& text, const std::string& needle);
// Deterministic pseudo-random bytes (xorshift), `size` of them.
std::string random_bytes(std::size_t size, std::uint64_t seed);
// Parses JSON, failing the test with the text when it is not JSON.
nlohmann::json parse_json(const std::string& text);

}  // namespace ferry::test
