// ferry.toml parsing and checking (cli/config.hh). The only user of toml++,
// header-only (meson.build says why).
#include "cli/config.hh"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>

// toml++ 3.3 asserts on some invalid text instead of reporting it: a key
// that starts with a character no key may start with ("[*", "a.*=1") fails
// TOML_ASSERT_ASSUME in its parse_key(), then, without the assertion, the
// same check right after reports a parse error. Its assertions thus fire on
// what ferry.toml holds, which is untrusted: with them on (every build but
// release) ferry aborted on such a file, and under NDEBUG clang turns them
// into optimiser assumptions (__builtin_assume), undefined for such input.
// Both are off; the parser's own errors stay (tests/fuzz/config_fuzz.cc).
#include <toml++/impl/preprocessor.h>
#undef TOML_ASSERT
#define TOML_ASSERT(expr) static_assert(true)
#undef TOML_ASSERT_ASSUME
#define TOML_ASSERT_ASSUME(expr) static_assert(true)
#include <toml++/toml.h>

#include "cli/path_within.hh"
#include "cli/toml_guard.hh"

namespace ferry::cli {
namespace {

constexpr std::uint32_t kMaxIntervalSeconds = 86'400;
constexpr std::uint32_t kMaxRetentionDays = 36'500;
constexpr std::uint32_t kMaxRelayForwardSeconds = 3'600;
constexpr const char* kKeysHint = "`man ferry.toml` lists the keys and their values";

// A value as the file wrote it, for "..., not VALUE".
std::string shown(const toml::node& node) {
    if (const auto* s = node.as_string()) return toml_quote(s->get());
    if (const auto* i = node.as_integer()) return std::to_string(i->get());
    if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
    if (const auto* f = node.as_floating_point()) {
        std::ostringstream out;
        out << f->get();
        return out.str();
    }
    if (node.is_array()) return "an array";
    if (node.is_table()) return "a table";
    return "a date or time";
}

std::optional<std::int64_t> integer_in(const toml::node& node, std::int64_t low, std::int64_t high) {
    const auto* i = node.as_integer();
    if (i == nullptr || i->get() < low || i->get() > high) return std::nullopt;
    return i->get();
}

std::optional<std::string> one_of(const toml::node& node, std::initializer_list<const char*> names) {
    const auto* s = node.as_string();
    if (s == nullptr) return std::nullopt;
    for (const char* name : names) {
        if (s->get() == name) return s->get();
    }
    return std::nullopt;
}

// Each check sets its field of `config` and returns nullopt, or returns the
// reason the value is refused.
using Check = std::optional<std::string> (*)(const toml::node&, Config&);

std::optional<std::string> check_listen(const toml::node& node, Config& config) {
    const auto* array = node.as_array();
    if (array == nullptr || array->size() > kMaxListenAddresses) {
        return "listen must be an array of at most " + std::to_string(kMaxListenAddresses) +
               " \"HOST:PORT\" strings ([] for none), not " + shown(node);
    }
    config.listen.clear();
    for (const toml::node& item : *array) {
        const auto* s = item.as_string();
        if (s == nullptr) return "listen must hold \"HOST:PORT\" strings, not " + shown(item);
        auto address = parse_host_port(s->get(), "listen address", true);
        if (!address) return address.error().what + ": " + address.error().why;
        config.listen.push_back(s->get());
    }
    return std::nullopt;
}

std::optional<std::string> check_watcher(const toml::node& node, Config& config) {
    auto name = one_of(node, {"inotify", "poll"});
    if (!name) return "watcher must be \"inotify\" or \"poll\", not " + shown(node);
    config.watcher = *name;
    return std::nullopt;
}

std::optional<std::string> seconds_problem(const char* key, const toml::node& node,
                                           std::uint32_t& field,
                                           std::uint32_t max = kMaxIntervalSeconds) {
    auto seconds = integer_in(node, 1, max);
    if (!seconds) {
        return std::string(key) + " must be a whole number of seconds from 1 to " +
               std::to_string(max) + ", not " + shown(node);
    }
    field = static_cast<std::uint32_t>(*seconds);
    return std::nullopt;
}

std::optional<std::string> check_rescan(const toml::node& node, Config& config) {
    return seconds_problem("rescan_interval", node, config.rescan_interval_s);
}

std::optional<std::string> check_relay_retry(const toml::node& node, Config& config) {
    return seconds_problem("relay_retry_seconds", node, config.relay_retry_s);
}

std::optional<std::string> check_retention(const toml::node& node, Config& config) {
    auto days = integer_in(node, 0, kMaxRetentionDays);
    if (!days) {
        return "version_retention must be a whole number of days from 0 (keep forever) to " +
               std::to_string(kMaxRetentionDays) + ", not " + shown(node);
    }
    config.version_retention_days = static_cast<std::uint32_t>(*days);
    return std::nullopt;
}

std::optional<std::string> rate_problem(const char* key, const toml::node& node,
                                        std::uint64_t& field) {
    auto kib = integer_in(node, 0, static_cast<std::int64_t>(kMaxRateKib));
    if (!kib) {
        return std::string(key) + " must be a whole number of KiB/s from 0 (unlimited) to " +
               std::to_string(kMaxRateKib) + ", not " + shown(node);
    }
    field = static_cast<std::uint64_t>(*kib);
    return std::nullopt;
}

std::optional<std::string> check_send_rate(const toml::node& node, Config& config) {
    return rate_problem("max_send_rate", node, config.max_send_rate_kib);
}

std::optional<std::string> check_recv_rate(const toml::node& node, Config& config) {
    return rate_problem("max_recv_rate", node, config.max_recv_rate_kib);
}

std::optional<std::string> check_log_level(const toml::node& node, Config& config) {
    auto level = one_of(node, {"error", "warn", "info", "debug"});
    if (!level) {
        return "log_level must be \"error\", \"warn\", \"info\" or \"debug\", not " + shown(node);
    }
    config.log_level = *level;
    return std::nullopt;
}

std::optional<std::string> check_relay_forward(const toml::node& node, Config& config) {
    return seconds_problem("relay_forward_seconds", node, config.relay_forward_s,
                           kMaxRelayForwardSeconds);
}

struct TopKey {
    const char* name;
    Check check;
};
// In the order of `ferry config list` and man ferry.toml(5).
constexpr TopKey kTopKeys[] = {
    {"listen", check_listen},
    {"watcher", check_watcher},
    {"rescan_interval", check_rescan},
    {"version_retention", check_retention},
    {"max_send_rate", check_send_rate},
    {"max_recv_rate", check_recv_rate},
    {"log_level", check_log_level},
    {"relay_forward_seconds", check_relay_forward},
    {"relay_retry_seconds", check_relay_retry},
};

const TopKey* find_top_key(std::string_view name) {
    for (const TopKey& key : kTopKeys) {
        if (name == key.name) return &key;
    }
    return nullptr;
}

std::optional<std::string> check_folder_path(const std::string& id, const toml::node& node,
                                             FolderConfig& folder) {
    const auto* s = node.as_string();
    const bool controls =
        s != nullptr && std::any_of(s->get().begin(), s->get().end(),
                                    [](unsigned char c) { return c < 0x20 || c == 0x7f; });
    if (s == nullptr || s->get().empty() || s->get().front() != '/' || controls) {
        return "folders." + id + ".path must be an absolute path, not " + shown(node);
    }
    std::string path = std::filesystem::path(s->get()).lexically_normal().string();
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    folder.path = path;
    return std::nullopt;
}

std::optional<std::string> check_folder_mode(const std::string& id, const toml::node& node,
                                             FolderConfig& folder) {
    const auto* s = node.as_string();
    auto mode = s != nullptr ? parse_folder_mode(s->get()) : Result<FolderMode>();
    if (s == nullptr || !mode) {
        return "folders." + id + ".mode must be \"send-receive\", \"send-only\" or " +
               "\"receive-only\", not " + shown(node);
    }
    folder.mode = *mode;
    return std::nullopt;
}

// Splits "folders.ID.KEY" (ID without dots after the first); nullopt when
// `key` has another shape.
struct FolderKey {
    std::string id;
    std::string field;
};
std::optional<FolderKey> split_folder_key(std::string_view key) {
    constexpr std::string_view prefix = "folders.";
    if (!key.starts_with(prefix)) return std::nullopt;
    key.remove_prefix(prefix.size());
    const auto dot = key.rfind('.');
    if (dot == std::string_view::npos) return std::nullopt;
    return FolderKey{std::string(key.substr(0, dot)), std::string(key.substr(dot + 1))};
}

// Byte offset in `line` of the 1-based column `column` (toml++ counts
// code points).
std::size_t byte_of_column(std::string_view line, std::size_t column) {
    std::size_t byte = 0;
    for (std::size_t seen = 1; seen < column && byte < line.size(); ++seen) {
        ++byte;
        while (byte < line.size() && (static_cast<unsigned char>(line[byte]) & 0xC0) == 0x80) ++byte;
    }
    return byte;
}

bool is_number_key(std::string_view key) {
    return key == "rescan_interval" || key == "version_retention" || key == "max_send_rate" ||
           key == "max_recv_rate" || key == "relay_forward_seconds" ||
           key == "relay_retry_seconds";
}

tl::unexpected<Failure> unknown_key(const std::string& key) {
    return failed("unknown key \"" + key + "\"",
                  "the keys are listen, watcher, rescan_interval, version_retention, "
                  "max_send_rate, max_recv_rate, log_level, relay_forward_seconds, "
                  "relay_retry_seconds, "
                  "folders.ID.path and folders.ID.mode",
                  kKeysHint);
}

class Parser {
public:
    Parser(std::string_view text, std::string_view name) : m_name(name) {
        std::size_t start = 0;
        while (start <= text.size()) {
            const auto end = text.find('\n', start);
            m_lines.push_back(text.substr(start, end == std::string_view::npos ? end : end - start));
            if (end == std::string_view::npos) break;
            start = end + 1;
        }
    }

    // A Failure "NAME:LINE: reason".
    tl::unexpected<Failure> refuse(std::size_t line, const std::string& reason,
                                   std::string hint = kKeysHint) const {
        return failed("invalid configuration",
                      std::string(m_name) + ":" + std::to_string(line) + ": " + reason,
                      std::move(hint));
    }

    ValueSpan span_of(const toml::node& node) const {
        const auto& region = node.source();
        return {region.begin.line, region.end.line, byte_at(region.begin),
                byte_at(region.end)};
    }

    Outcome<void> top_level(const toml::table& root, ParsedConfig& out) const {
        for (auto&& [key, node] : root) {
            const std::string name(key.str());
            if (name == "folders") {
                if (auto folders = this->folders(node, out); !folders) return folders;
                continue;
            }
            const TopKey* known = find_top_key(name);
            if (known == nullptr) return refuse(key.source().begin.line, "unknown key \"" + name + "\"");
            if (auto problem = known->check(node, out.config)) {
                return refuse(node.source().begin.line, *problem);
            }
            out.layout.keys[name] = span_of(node);
        }
        return {};
    }

    Outcome<void> folders(const toml::node& node, ParsedConfig& out) const {
        const auto* table = node.as_table();
        if (table == nullptr) {
            return refuse(node.source().begin.line,
                          "folders must be tables like [folders.ID], not " + shown(node));
        }
        out.layout.table_lines.push_back(table->source().begin.line);
        if (table->size() > kMaxConfigFolders) {
            return refuse(table->source().begin.line,
                          "more than " + std::to_string(kMaxConfigFolders) + " folders");
        }
        for (auto&& [key, folder_node] : *table) {
            const std::string id(key.str());
            if (auto problem = folder_id_problem(id)) {
                return refuse(key.source().begin.line, "invalid folder id \"" + id + "\": " + *problem);
            }
            const auto* folder_table = folder_node.as_table();
            if (folder_table == nullptr) {
                return refuse(folder_node.source().begin.line,
                              "folders." + id + " must be a table with path and mode, not " +
                                  shown(folder_node));
            }
            FolderConfig folder;
            bool has_path = false;
            for (auto&& [field, value] : *folder_table) {
                std::optional<std::string> problem;
                if (field.str() == "path") {
                    problem = check_folder_path(id, value, folder);
                    has_path = true;
                } else if (field.str() == "mode") {
                    problem = check_folder_mode(id, value, folder);
                } else {
                    return refuse(field.source().begin.line,
                                  "unknown key \"" + std::string(field.str()) + "\" in folder " +
                                      id + " (a folder has path and mode)");
                }
                if (problem) return refuse(value.source().begin.line, *problem);
                out.layout.keys["folders." + id + "." + std::string(field.str())] = span_of(value);
            }
            const std::size_t line = folder_table->source().begin.line;
            if (!has_path) return refuse(line, "folder " + id + " has no path");
            out.layout.folder_tables[id] = line;
            out.layout.table_lines.push_back(line);
            out.config.folders[id] = std::move(folder);
        }
        return no_overlaps(out);
    }

    // Folders may not share a path, nest or overlap.
    Outcome<void> no_overlaps(const ParsedConfig& out) const {
        for (const auto& [id, folder] : out.config.folders) {
            for (const auto& [other_id, other] : out.config.folders) {
                if (other_id == id || !path_within(folder.path, other.path)) continue;
                const std::string relation = folder.path == other.path ? "is also" : "is inside";
                return refuse(out.layout.keys.at("folders." + id + ".path").first,
                              "folders." + id + ".path " + folder.path + " " + relation +
                                  " folder " + other_id + " (" + other.path + ")",
                              "folders cannot share a path, nest or overlap");
            }
        }
        return {};
    }

private:
    std::size_t byte_at(const toml::source_position& at) const {
        const std::string_view line = at.line >= 1 && at.line <= m_lines.size() ? m_lines[at.line - 1]
                                                                                : "";
        return byte_of_column(line, at.column);
    }

    std::string_view m_name;
    std::vector<std::string_view> m_lines;
};

}  // namespace

std::string toml_quote(std::string_view text) {
    std::string out = "\"";
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20 || c == 0x7f) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            out += "\\u00";
            out += kHex[c >> 4];
            out += kHex[c & 0xF];
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

std::optional<std::string> folder_id_problem(std::string_view id) {
    const bool ok_length = !id.empty() && id.size() <= 64;
    const bool ok_chars = std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '_' || c == '.';
    });
    if (ok_length && ok_chars && id.front() != '.' && id.front() != '-') return std::nullopt;
    return "a folder id has 1 to 64 letters, digits, '-', '_' or '.', and starts with a letter "
           "or digit";
}

Outcome<ParsedConfig> parse_config(std::string_view text, std::string_view name) {
    if (text.size() > kMaxConfigBytes) {
        return failed("invalid configuration",
                      std::string(name) + " is larger than " + std::to_string(kMaxConfigBytes) +
                          " bytes",
                      "a configuration file is a few lines; is this the right file?");
    }
    if (auto problem = toml_problem(text)) {
        return failed("invalid configuration",
                      std::string(name) + ":" + std::to_string(problem->line) + ":" +
                          std::to_string(problem->column) + ": " + problem->reason,
                      "the file must be TOML (https://toml.io)");
    }
    const Parser parser(text, name);
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& bad) {
        const auto& at = bad.source().begin;
        return failed("invalid configuration",
                      std::string(name) + ":" + std::to_string(at.line) + ":" +
                          std::to_string(at.column) + ": " + std::string(bad.description()),
                      "the file must be TOML (https://toml.io)");
    }
    ParsedConfig out;
    if (auto checked = parser.top_level(root, out); !checked) return tl::unexpected(checked.error());
    std::sort(out.layout.table_lines.begin(), out.layout.table_lines.end());
    return out;
}

std::vector<std::string> config_keys(const Config& config) {
    std::vector<std::string> keys;
    for (const TopKey& key : kTopKeys) keys.emplace_back(key.name);
    for (const auto& [id, folder] : config.folders) {
        keys.push_back("folders." + id + ".path");
        keys.push_back("folders." + id + ".mode");
    }
    return keys;
}

Outcome<std::string> config_value(const Config& config, const std::string& key) {
    if (key == "listen") {
        if (config.listen.empty()) return std::string(kNoListener);
        std::string out;
        for (const auto& address : config.listen) out += (out.empty() ? "" : "\n") + address;
        return out;
    }
    if (key == "watcher") return config.watcher;
    if (key == "rescan_interval") return std::to_string(config.rescan_interval_s);
    if (key == "version_retention") return std::to_string(config.version_retention_days);
    if (key == "max_send_rate") return std::to_string(config.max_send_rate_kib);
    if (key == "max_recv_rate") return std::to_string(config.max_recv_rate_kib);
    if (key == "log_level") return config.log_level;
    if (key == "relay_forward_seconds") return std::to_string(config.relay_forward_s);
    if (key == "relay_retry_seconds") return std::to_string(config.relay_retry_s);
    if (auto folder_key = split_folder_key(key)) {
        const auto found = config.folders.find(folder_key->id);
        if (found != config.folders.end() && folder_key->field == "path") return found->second.path;
        if (found != config.folders.end() && folder_key->field == "mode") {
            return std::string(folder_mode_name(found->second.mode));
        }
        if (found == config.folders.end() && (folder_key->field == "path" || folder_key->field == "mode")) {
            return failed("no value for " + key, "there is no folder '" + folder_key->id + "'",
                          "`ferry folder list` shows the folders");
        }
    }
    return unknown_key(key);
}

std::string config_toml_value(const Config& config, const std::string& key) {
    if (key == "listen") {
        std::string items;
        for (const auto& address : config.listen) items += (items.empty() ? "" : ", ") + toml_quote(address);
        return "[" + items + "]";
    }
    auto value = config_value(config, key);
    if (!value) return "";
    return is_number_key(key) ? *value : toml_quote(*value);
}

Outcome<std::string> toml_value_from_text(const std::string& key, const std::string& text) {
    const TopKey* top = find_top_key(key);
    const auto folder_key = split_folder_key(key);
    const bool folder_field =
        folder_key && (folder_key->field == "path" || folder_key->field == "mode");
    if (top == nullptr && !folder_field) return unknown_key(key);
    if (folder_field) {
        if (auto problem = folder_id_problem(folder_key->id)) {
            return failed("invalid folder id '" + folder_key->id + "'", *problem);
        }
    }
    std::string value;
    if (key == "listen" && text == kNoListener) {
        value = "[]";
    } else if (key == "listen") {
        std::string addresses;
        std::stringstream items(text);
        for (std::string item; std::getline(items, item, ',');) {
            const auto first = item.find_first_not_of(' ');
            const auto last = item.find_last_not_of(' ');
            item = first == std::string::npos ? "" : item.substr(first, last - first + 1);
            addresses += (addresses.empty() ? "" : ", ") + toml_quote(item);
        }
        value = "[" + addresses + "]";
    } else {
        const std::string_view digits =
            std::string_view(text).substr(text.starts_with('-') ? 1 : 0);
        const bool whole_number = !digits.empty() && digits.size() <= 19 &&
                                  std::all_of(digits.begin(), digits.end(),
                                              [](unsigned char c) { return std::isdigit(c) != 0; });
        value = is_number_key(key) && whole_number ? text : toml_quote(text);
    }
    toml::table parsed;
    try {
        parsed = toml::parse("value = " + value, std::string_view("value"));
    } catch (const toml::parse_error&) {
        return failed("invalid value for " + key, "\"" + text + "\" is out of range", kKeysHint);
    }
    const toml::node& node = *parsed.get("value");
    Config scratch;
    FolderConfig folder;
    const std::optional<std::string> problem =
        top != nullptr ? top->check(node, scratch)
        : folder_key->field == "path" ? check_folder_path(folder_key->id, node, folder)
                                      : check_folder_mode(folder_key->id, node, folder);
    if (problem) return failed("invalid value for " + key, *problem, kKeysHint);
    return value;
}

}  // namespace ferry::cli
