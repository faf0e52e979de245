// ferry.toml (cli/config.hh, cli/config_edit.hh), parsed from the input as
// a string (no file is touched). For any text: no crash, and a refusal that
// names the file. For an accepted one: every value is within its limits,
// folders are valid, canonical and apart; the layout points inside the
// text; the writer (initial_config_text, then set_config_key for every key)
// makes a file that loads as the same configuration; on the input's own
// text, setting a key (picked by the last byte) to the value it has
// changes nothing, setting it to another value changes that key only (a refusal is allowed only for a key
// the file does not set yet, or a folder path that would overlap), and
// removing a folder (picked the same way) removes that folder only.
// The input minus its first byte is also a value typed for `ferry config
// set KEY` (the key picked by the first byte): an accepted value is one a
// file accepts for that key.
#include <algorithm>
#include <filesystem>
#include <iterator>
#include <string>
#include <string_view>

#include "cli/config.hh"
#include "cli/config_edit.hh"
#include "cli/path_within.hh"
#include "fuzz_target.hh"

namespace {

using namespace ferry;
using namespace ferry::cli;

constexpr std::string_view kName = "ferry.toml";

bool names_file(const Failure& failure) {
    return failure.why.starts_with(kName) && !failure.what.empty();
}

void check_values(const Config& config) {
    FUZZ_CHECK(config.listen.size() <= kMaxListenAddresses);
    FUZZ_CHECK(config.watcher == "inotify" || config.watcher == "poll");
    FUZZ_CHECK(config.rescan_interval_s >= 1 && config.rescan_interval_s <= 86'400);
    FUZZ_CHECK(config.version_retention_days <= 36'500);
    FUZZ_CHECK(config.max_send_rate_kib <= kMaxRateKib && config.max_recv_rate_kib <= kMaxRateKib);
    FUZZ_CHECK(config.log_level == "error" || config.log_level == "warn" ||
               config.log_level == "info" || config.log_level == "debug");
    FUZZ_CHECK(config.relay_forward_s >= 1 && config.relay_forward_s <= 3'600);
    FUZZ_CHECK(config.relay_retry_s >= 1 && config.relay_retry_s <= 86'400);
    FUZZ_CHECK(config.folders.size() <= kMaxConfigFolders);
    for (const auto& [id, folder] : config.folders) {
        FUZZ_CHECK(!folder_id_problem(id));
        const std::string& path = folder.path;
        FUZZ_CHECK(path.starts_with('/'));
        FUZZ_CHECK(path == "/" || !path.ends_with('/'));
        FUZZ_CHECK(std::none_of(path.begin(), path.end(),
                                [](unsigned char c) { return c < 0x20 || c == 0x7f; }));
        std::string normal = std::filesystem::path(path).lexically_normal().string();
        if (normal.size() > 1 && normal.ends_with('/')) normal.pop_back();
        FUZZ_CHECK(normal == path);
        for (const auto& [other_id, other] : config.folders) {
            FUZZ_CHECK(other_id == id || !path_within(path, other.path));
        }
    }
}

void check_layout(std::string_view text, const ParsedConfig& parsed) {
    const std::size_t lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& [key, span] : parsed.layout.keys) {
        FUZZ_CHECK(span.first >= 1 && span.first <= span.last && span.last <= lines);
    }
    for (const auto& [id, folder] : parsed.config.folders) {
        FUZZ_CHECK(parsed.layout.keys.contains("folders." + id + ".path"));
        const auto table = parsed.layout.folder_tables.find(id);
        FUZZ_CHECK(table != parsed.layout.folder_tables.end());
        FUZZ_CHECK(table->second >= 1 && table->second <= lines);
    }
    const auto& tables = parsed.layout.table_lines;
    FUZZ_CHECK(std::is_sorted(tables.begin(), tables.end()));
    FUZZ_CHECK(tables.empty() || (tables.front() >= 1 && tables.back() <= lines));
}

// The writer's round trip: a fresh file with the same folders and every
// top-level key that is not at its default set loads as `config`.
void check_rewrite(const Config& config) {
    static const Config defaults;
    std::string text = initial_config_text(config.folders);
    for (const std::string& key : config_keys(config)) {
        if (key.starts_with("folders.")) continue;
        if (config_toml_value(config, key) == config_toml_value(defaults, key)) continue;
        auto edited = set_config_key(text, kName, key, config_toml_value(config, key));
        FUZZ_CHECK(edited.has_value());
        text = edited->text;
    }
    auto again = parse_config(text, kName);
    FUZZ_CHECK(again && again->config == config);
}

// `config` with `key` set to some other valid value.
Config changed(Config config, const std::string& key) {
    if (key == "listen") {
        config.listen = config.listen == std::vector<std::string>{"127.0.0.1:1"}
                            ? std::vector<std::string>{}
                            : std::vector<std::string>{"127.0.0.1:1"};
    } else if (key == "watcher") {
        config.watcher = config.watcher == "poll" ? "inotify" : "poll";
    } else if (key == "rescan_interval") {
        config.rescan_interval_s = config.rescan_interval_s % 86'400 + 1;
    } else if (key == "version_retention") {
        config.version_retention_days = (config.version_retention_days + 1) % 36'501;
    } else if (key == "max_send_rate") {
        config.max_send_rate_kib = (config.max_send_rate_kib + 1) % (kMaxRateKib + 1);
    } else if (key == "max_recv_rate") {
        config.max_recv_rate_kib = (config.max_recv_rate_kib + 1) % (kMaxRateKib + 1);
    } else if (key == "log_level") {
        config.log_level = config.log_level == "debug" ? "error" : "debug";
    } else if (key == "relay_forward_seconds") {
        config.relay_forward_s = config.relay_forward_s % 3'600 + 1;
    } else if (key == "relay_retry_seconds") {
        config.relay_retry_s = config.relay_retry_s % 86'400 + 1;
    } else {
        const auto dot = key.rfind('.');
        FolderConfig& folder = config.folders.at(key.substr(8, dot - 8));
        if (key.ends_with(".mode")) {
            folder.mode = static_cast<FolderMode>((static_cast<int>(folder.mode) + 1) % 3);
        } else {
            folder.path = folder.path == "/" ? "/x" : folder.path + "x";
        }
    }
    return config;
}

// Edits of one key and one folder, picked by `pick` (every key and folder
// would take ten times longer per input, for the same coverage over many).
void check_edits(std::string_view text, const ParsedConfig& parsed, std::size_t pick) {
    const Config& config = parsed.config;
    const std::vector<std::string> keys = config_keys(config);
    const std::string& key = keys[pick % keys.size()];
    const bool set_in_file = parsed.layout.keys.contains(key);
    auto same = set_config_key(text, kName, key, config_toml_value(config, key));
    FUZZ_CHECK(same || !set_in_file);
    if (same) {
        FUZZ_CHECK(same->parsed.config == config);
    } else {
        FUZZ_CHECK(!same.error().why.empty());
    }

    const Config other = changed(config, key);
    auto edited = set_config_key(text, kName, key, config_toml_value(other, key));
    FUZZ_CHECK(edited || !set_in_file || key.ends_with(".path"));
    if (edited) {
        FUZZ_CHECK(edited->parsed.config == other);
        auto reparsed = parse_config(edited->text, kName);
        FUZZ_CHECK(reparsed && reparsed->config == other);
    }
    if (config.folders.empty()) return;
    auto folder = config.folders.begin();
    std::advance(folder, static_cast<std::ptrdiff_t>(pick % config.folders.size()));
    auto removed = remove_config_folder(text, kName, folder->first);
    if (!removed) return;  // not written as a [folders.ID] table
    Config expected = config;
    expected.folders.erase(folder->first);
    FUZZ_CHECK(removed->parsed.config == expected);
}

// A value typed for `key`: accepted means a file accepts it too.
void check_typed_value(std::uint8_t pick, std::string_view typed) {
    static const std::string kKeys[] = {
        "listen", "watcher", "rescan_interval", "version_retention", "max_send_rate",
        "max_recv_rate", "log_level", "relay_forward_seconds", "relay_retry_seconds",
        "folders.f.path", "folders.f.mode", "folders.a.b.path"};
    const std::string& key = kKeys[pick % std::size(kKeys)];
    auto value = toml_value_from_text(key, std::string(typed));
    if (!value) {
        FUZZ_CHECK(!value.error().why.empty());
        return;
    }
    std::string text = initial_config_text({});
    if (key == "folders.f.mode") {
        auto with_path = set_config_key(text, kName, "folders.f.path", "\"/f\"");
        FUZZ_CHECK(with_path.has_value());
        text = with_path->text;
    }
    auto edited = set_config_key(text, kName, key, *value);
    FUZZ_CHECK(edited.has_value());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (size > 0) check_typed_value(data[0], text.substr(1));

    auto parsed = parse_config(text, kName);
    if (!parsed) {
        FUZZ_CHECK(names_file(parsed.error()));
        return 0;
    }
    check_values(parsed->config);
    check_layout(text, *parsed);
    check_rewrite(parsed->config);
    check_edits(text, *parsed, size == 0 ? 0 : data[size - 1]);
    return 0;
}
