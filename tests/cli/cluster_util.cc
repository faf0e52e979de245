#include "cluster_util.hh"

#include <algorithm>
#include <array>
#include <cerrno>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ferry::test {

namespace fs = std::filesystem;

bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout,
                std::chrono::milliseconds step) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (done()) return true;
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(step);
    }
}

namespace {

std::vector<std::string> ferry_argv(const std::string& command,
                                    const std::vector<std::string>& extra_args) {
    std::vector<std::string> argv{ferry_bin(), command};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    return argv;
}

}  // namespace

DaemonProcess::DaemonProcess(const std::string& home, const std::string& log_path,
                             const std::vector<std::string>& extra_args,
                             const std::string& command)
    : DaemonProcess(ferry_argv(command, extra_args), child_environment(home), log_path) {}

DaemonProcess::DaemonProcess(std::vector<std::string> argv_strings,
                             std::vector<std::string> env_strings, const std::string& log_path) {
    auto argv = pointers(argv_strings);
    auto envp = pointers(env_strings);
    m_pid = ::fork();
    REQUIRE(m_pid >= 0);
    if (m_pid == 0) {
        const int null_fd = ::open("/dev/null", O_RDONLY);
        const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (null_fd < 0 || log_fd < 0) ::_exit(126);
        ::dup2(null_fd, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        ::execve(argv[0], argv.data(), envp.data());
        ::_exit(127);
    }
}

DaemonProcess::~DaemonProcess() {
    if (running()) kill_hard();
}

bool DaemonProcess::running() {
    if (m_pid < 0) return false;
    int raw = 0;
    const pid_t r = ::waitpid(m_pid, &raw, WNOHANG);
    if (r == 0) return true;
    if (r == m_pid) {
        m_status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
    }
    m_pid = -1;
    return false;
}

int DaemonProcess::stop(std::chrono::milliseconds timeout, int signal) {
    if (!running()) return m_status;
    ::kill(m_pid, signal);
    if (wait_until([this] { return !running(); }, timeout, 20ms)) return m_status;
    kill_hard();
    return -1;
}

void DaemonProcess::kill_hard() {
    if (m_pid < 0) return;
    ::kill(m_pid, SIGKILL);
    m_status = wait_status(m_pid);
    m_pid = -1;
}

Run TestDevice::ferry(const std::vector<std::string>& args) const {
    return run_ferry(home, args, fs::path(home).parent_path().string());
}

void TestDevice::start(const std::vector<std::string>& extra_args) {
    std::vector<std::string> args{"--rescan", "2"};
    if (std::find(extra_args.begin(), extra_args.end(), "--listen") == extra_args.end()) {
        args.insert(args.end(), {"--listen", "127.0.0.1:0"});
    }
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    daemon = std::make_unique<DaemonProcess>(home, log, args);
    const bool up = wait_until(
        [&] {
            if (!daemon->running()) return true;  // failed: reported below
            const Run status = ferry({"status", "--json"});
            return status.status == 0 && status.out.find("\"listen\"") != std::string::npos;
        },
        20s);
    INFO(name << "'s daemon log:\n" << daemon_log());
    REQUIRE(up);
    REQUIRE(daemon->running());
}

nlohmann::json TestDevice::devices() const {
    const Run run = ferry({"devices", "--json"});
    INFO(run.err);
    REQUIRE(run.status == 0);
    return parse_json(run.out);
}

std::string TestDevice::id() const {
    const Run run = ferry({"id"});
    REQUIRE(run.status == 0);
    return run.out.substr(0, run.out.size() - 1);
}

std::string TestDevice::daemon_log() const { return read_file(log); }

TestCluster::TestCluster(int count) {
    std::string tmpl = (fs::temp_directory_path() / "ferry-sync-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    m_root = tmpl;
    for (int i = 0; i < count; ++i) {
        TestDevice d;
        d.name = "dev" + std::to_string(i);
        d.home = m_root + "/home" + std::to_string(i);
        d.folder = m_root + "/data" + std::to_string(i);
        d.log = m_root + "/daemon" + std::to_string(i) + ".log";
        fs::create_directories(d.folder);
        m_devices.push_back(std::move(d));
    }
}

TestCluster::~TestCluster() {
    for (TestDevice& d : m_devices) {
        if (d.daemon) d.daemon->stop(10s);
    }
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(m_root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (!it->is_symlink()) {
            fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
        }
    }
    fs::remove_all(m_root, ec);
}

void TestCluster::setup(const std::string& folder_id, std::vector<std::string> modes) {
    modes.resize(m_devices.size(), "send-receive");
    for (std::size_t i = 0; i < m_devices.size(); ++i) {
        TestDevice& d = m_devices[i];
        const Run init = d.ferry({"init", "--name", d.name});
        INFO(init.err);
        REQUIRE(init.status == 0);
        if (i > 0) {
            const Run invite = m_devices[0].ferry({"invite"});
            INFO(invite.err);
            REQUIRE(invite.status == 0);
            const std::string code = invite.out.substr(invite.out.rfind('\n', invite.out.size() - 2) + 1);
            const Run join = d.ferry({"join", code.substr(0, code.size() - 1)});
            INFO(join.out << join.err << m_devices[0].daemon_log());
            REQUIRE(join.status == 0);
        }
        const Run add = d.ferry({"folder", "add", d.folder, "--id", folder_id, "--mode", modes[i]});
        INFO(add.err);
        REQUIRE(add.status == 0);
        d.folder = fs::canonical(d.folder).string();
        d.start();
    }
    REQUIRE(all_online());
}

bool TestCluster::all_online(std::chrono::milliseconds timeout) {
    const bool ok = wait_until(
        [&] {
            for (TestDevice& d : m_devices) {
                const auto list = d.devices();
                std::size_t online = 0;
                for (const auto& other : list) online += other["online"].get<bool>() ? 1 : 0;
                if (online + 1 < m_devices.size()) return false;
            }
            return true;
        },
        timeout, 200ms);
    if (!ok) {
        for (TestDevice& d : m_devices) UNSCOPED_INFO(d.name << " log:\n" << d.daemon_log());
    }
    return ok;
}

bool TestCluster::wait_converged(std::chrono::milliseconds timeout) {
    const bool ok = wait_until(
        [&] {
            const auto first = tree_digest(m_devices[0].folder);
            for (std::size_t i = 1; i < m_devices.size(); ++i) {
                if (tree_digest(m_devices[i].folder) != first) return false;
            }
            return true;
        },
        timeout, 250ms);
    if (!ok) {
        for (TestDevice& d : m_devices) {
            std::string listing;
            for (const auto& [path, digest] : tree_digest(d.folder)) {
                listing += "  " + path + " " + digest + "\n";
            }
            UNSCOPED_INFO(d.name << " tree:\n" << listing << d.name << " log:\n" << d.daemon_log());
        }
    }
    return ok;
}

void TestCluster::scan(std::size_t i) {
    const Run run = m_devices[i].ferry({"scan"});
    INFO(run.err);
    REQUIRE(run.status == 0);
}

std::uint64_t TestCluster::traffic(std::size_t i) {
    std::uint64_t total = 0;
    for (const auto& d : m_devices[i].devices()) {
        total += d["bytes_in"].get<std::uint64_t>() + d["bytes_out"].get<std::uint64_t>();
    }
    return total;
}

std::string file_digest(const std::string& path) {
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, 32);
    std::ifstream in(path, std::ios::binary);
    std::vector<char> buf(1 << 20);
    while (in) {
        in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
        crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(buf.data()),
                                  static_cast<unsigned long long>(in.gcount()));
    }
    std::array<unsigned char, 32> out{};
    crypto_generichash_final(&state, out.data(), out.size());
    std::array<char, 65> hex{};
    sodium_bin2hex(hex.data(), hex.size(), out.data(), out.size());
    return hex.data();
}

namespace {

// Polling loops digest the same large files again and again: remember each
// file's digest by its stat identity (a change of content changes ctime).
std::string cached_file_digest(const std::string& path, const struct stat& st) {
    static std::map<std::string, std::pair<std::string, std::string>> cache;
    const std::string key = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino) + ":" +
                            std::to_string(st.st_size) + ":" +
                            std::to_string(st.st_mtim.tv_sec) + "." +
                            std::to_string(st.st_mtim.tv_nsec) + ":" +
                            std::to_string(st.st_ctim.tv_sec) + "." +
                            std::to_string(st.st_ctim.tv_nsec);
    auto& entry = cache[path];
    if (entry.first != key) entry = {key, file_digest(path)};
    return entry.second;
}

}  // namespace

std::map<std::string, std::string> tree_digest(const std::string& folder) {
    std::map<std::string, std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(folder, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        // lexically: fs::relative() would resolve a symlink to its target.
        const std::string relative = it->path().lexically_relative(folder).string();
        const std::string name = it->path().filename().string();
        if (relative == ".ferry" || name.starts_with(".ferry-tmp.")) {
            if (it->is_directory()) it.disable_recursion_pending();
            continue;
        }
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) != 0) continue;  // vanished meanwhile
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        if (S_ISLNK(st.st_mode)) {
            out[relative] = "symlink " + fs::read_symlink(it->path(), ec).string();
        } else if (S_ISDIR(st.st_mode)) {
            out[relative] = std::string("dir ") + mode;
        } else {
            out[relative] = std::string("file ") + mode + " " + std::to_string(st.st_size) + " " +
                            cached_file_digest(it->path().string(), st);
        }
    }
    return out;
}

}  // namespace ferry::test
