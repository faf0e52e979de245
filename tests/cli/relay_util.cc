#include "relay_util.hh"

#include <cstdlib>
#include <filesystem>

#include <catch2/catch.hpp>

extern char** environ;

namespace ferry::test {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> our_environment() {
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
    return env;
}

}  // namespace

std::string ferry_relay_bin() {
    const char* bin = std::getenv("FERRY_RELAY_BIN");
    if (bin == nullptr || *bin == '\0')
        FAIL("FERRY_RELAY_BIN is not set: run through `meson test`");
    return bin;
}

RelayProcess::RelayProcess(std::string data_dir, std::string log_path)
    : m_data_dir(std::move(data_dir)), m_log_path(std::move(log_path)) {
    const Run init = run_process({ferry_relay_bin(), "init", "--data", m_data_dir},
                                 our_environment(), fs::temp_directory_path().string());
    INFO(init.out << init.err);
    REQUIRE(init.status == 0);
}

RelayProcess::~RelayProcess() {
    if (running()) kill_hard();
}

void RelayProcess::start(const std::vector<std::string>& extra_args) {
    REQUIRE(!running());
    const std::size_t log_start = read_file(m_log_path).size();
    std::vector<std::string> argv{ferry_relay_bin(), "run",      "--data",
                                  m_data_dir,        "--listen", m_listen};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    m_process = std::make_unique<DaemonProcess>(std::move(argv), our_environment(), m_log_path);
    std::string url;
    const bool up = wait_until(
        [&] {
            const std::string output = read_file(m_log_path).substr(log_start);
            const auto at = output.find("url: ");
            const auto end = at == std::string::npos ? at : output.find('\n', at);
            if (end != std::string::npos) url = output.substr(at + 5, end - at - 5);
            return !url.empty() || !m_process->running();
        },
        20s, 50ms);
    INFO("relay log:\n" << log());
    REQUIRE(up);
    REQUIRE(!url.empty());
    // relay://HOST:PORT#ID: the next start listens on the same address.
    const auto scheme = url.find("://");
    const auto hash = url.find('#');
    REQUIRE(scheme != std::string::npos);
    REQUIRE(hash != std::string::npos);
    const std::string address = url.substr(scheme + 3, hash - scheme - 3);
    if (!m_url.empty()) CHECK(url == m_url);
    m_url = url;
    m_listen = address;
}

int RelayProcess::stop(std::chrono::milliseconds timeout) {
    return m_process ? m_process->stop(timeout) : -1;
}

void RelayProcess::kill_hard() {
    if (m_process) m_process->kill_hard();
}

bool RelayProcess::running() {
    return m_process && m_process->running();
}

std::string RelayProcess::log() const {
    return read_file(m_log_path);
}

Run RelayProcess::admin(std::vector<std::string> args) const {
    std::vector<std::string> argv{ferry_relay_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--data", m_data_dir});
    return run_process(std::move(argv), our_environment(), fs::temp_directory_path().string());
}

std::string RelayProcess::add_user(const std::string& name, const std::string& quota) const {
    const Run add = admin({"user", "add", name, "--quota", quota});
    INFO(add.err);
    REQUIRE(add.status == 0);
    REQUIRE(add.out.size() == 65);  // 64 hex digits and a newline
    return add.out.substr(0, 64);
}

nlohmann::json RelayProcess::status() const {
    const Run run = admin({"status", "--json"});
    INFO(run.err);
    REQUIRE(run.status == 0);
    return parse_json(run.out);
}

bool RelayProcess::wait_settled(std::uint64_t min_bytes, std::chrono::milliseconds timeout,
                                std::chrono::milliseconds quiet) const {
    std::pair<std::uint64_t, std::uint64_t> last{~0ull, ~0ull};
    auto since = std::chrono::steady_clock::now();
    const bool settled = wait_until(
        [&] {
            const auto st = status();
            const std::pair<std::uint64_t, std::uint64_t> now{
                st["messages"].get<std::uint64_t>(), st["stored_bytes"].get<std::uint64_t>()};
            if (now != last || now.second < min_bytes || now.first == 0) {
                last = now;
                since = std::chrono::steady_clock::now();
                return false;
            }
            return std::chrono::steady_clock::now() - since >= quiet;
        },
        timeout, 250ms);
    if (!settled) {
        UNSCOPED_INFO("relay holds " << last.first << " messages, " << last.second
                                     << " bytes; wanted at least " << min_bytes << " bytes");
    }
    return settled;
}

nlohmann::json relay_entry(const TestDevice& device, const std::string& url) {
    const Run run = device.ferry({"relay", "list", "--json"});
    INFO(run.err);
    REQUIRE(run.status == 0);
    for (const auto& item : parse_json(run.out))
        if (item.value("url", std::string()) == url) return item;
    return nullptr;
}

bool relay_connected(const TestDevice& device, const std::string& url) {
    const auto entry = relay_entry(device, url);
    return !entry.is_null() && entry.value("connected", false);
}

std::vector<std::string> files_containing(const std::string& root, const std::string& needle) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const std::string relative = it->path().lexically_relative(root).string();
        const bool in_name = relative.find(needle) != std::string::npos;
        if (in_name ||
            (it->is_regular_file() && read_file(it->path()).find(needle) != std::string::npos)) {
            out.push_back(relative);
        }
    }
    return out;
}

std::vector<std::string> temporary_files(const std::string& folder) {
    std::vector<std::string> out;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(folder, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->path().filename().string().starts_with(".ferry-tmp."))
            out.push_back(it->path().lexically_relative(folder).string());
    }
    return out;
}

}  // namespace ferry::test
