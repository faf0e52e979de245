// Line edits of ferry.toml (cli/config_edit.hh).
#include "cli/config_edit.hh"

#include <algorithm>
#include <cctype>
#include <vector>

namespace ferry::cli {
namespace {

constexpr const char* kInitialText =
    R"(# ferry.toml: the configuration of this device (man ferry.toml).
# Every key is optional: a commented line shows its default. `ferry config set
# KEY VALUE` edits this file and keeps your comments; after editing it by hand,
# send the daemon SIGHUP (or run `ferry config reload`) to apply it.

# Where other devices connect: "HOST:PORT" ("[::1]:22400" for IPv6; port 0:
# any free port); [] for no listener (then other devices reach this one
# through a relay only).
# listen = ["0.0.0.0:22400"]

# How changes are noticed: "inotify" (within a fraction of a second) or
# "poll" (a rescan every rescan_interval).
# watcher = "inotify"

# Seconds between rescans of a polled folder, 1 to 86400.
# rescan_interval = 60

# Days a replaced or deleted file is kept in its folder's .ferry/versions
# (0: forever).
# version_retention = 30

# Transfer limits in KiB/s (0: unlimited).
# max_send_rate = 0
# max_recv_rate = 0

# What the daemon logs: "error", "warn", "info" or "debug".
# log_level = "info"

# Seconds between attempts to reach a device that is not connected through a
# relay's forwarding, 1 to 3600.
# relay_forward_seconds = 30
# Seconds before an upload a full relay (account quota) refused is tried
# again, 1 to 86400.
# relay_retry_seconds = 30

# Folders: a [folders.ID] table each, with path and mode ("send-receive",
# "send-only" or "receive-only"). `ferry folder add` and `ferry folder remove`
# edit them.
)";

// A key as TOML writes it: bare when it can be, quoted otherwise (folder ids
// may contain '.').
std::string toml_key(const std::string& key) {
    const bool bare = std::all_of(key.begin(), key.end(), [](unsigned char c) {
        return std::isalnum(c) != 0 || c == '-' || c == '_';
    });
    return bare ? key : toml_quote(key);
}

std::string folder_header(const std::string& id) {
    return "[folders." + toml_key(id) + "]";
}

// The text as lines without their '\n'; joined back with a final '\n'.
struct Lines {
    explicit Lines(std::string_view text) {
        std::size_t start = 0;
        while (start < text.size()) {
            const auto end = text.find('\n', start);
            if (end == std::string_view::npos) {
                items.emplace_back(text.substr(start));
                break;
            }
            items.emplace_back(text.substr(start, end - start));
            start = end + 1;
        }
    }
    std::string joined() const {
        std::string out;
        for (const auto& line : items) out += line + "\n";
        return out;
    }
    std::vector<std::string> items;
};

std::string_view trimmed(std::string_view line) {
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
        line.remove_suffix(1);
    }
    return line;
}

bool is_header(std::string_view line) { return trimmed(line).starts_with('['); }

bool is_comment_or_blank(std::string_view line) {
    const auto t = trimmed(line);
    return t.empty() || t.starts_with('#');
}

// "# KEY = ...", the commented example of a top-level key.
bool is_example_of(std::string_view line, std::string_view key) {
    auto t = trimmed(line);
    if (!t.starts_with('#')) return false;
    t = trimmed(t.substr(1));
    if (!t.starts_with(key)) return false;
    return trimmed(t.substr(key.size())).starts_with('=');
}

// Splits "folders.ID.FIELD"; nullopt for a top-level key.
struct FolderField {
    std::string id;
    std::string field;
};
std::optional<FolderField> folder_field(const std::string& key) {
    if (!key.starts_with("folders.")) return std::nullopt;
    const auto dot = key.rfind('.');
    return FolderField{key.substr(8, dot - 8), key.substr(dot + 1)};
}

tl::unexpected<Failure> not_a_table(std::string_view name, const std::string& id) {
    return failed("cannot edit " + std::string(name),
                  "folder " + id + " is not written as a " + folder_header(id) + " table",
                  "edit the file by hand");
}

// Re-parses the edited text: an edit never yields a file that does not load.
Outcome<ConfigFile> checked(const Lines& lines, std::string_view name) {
    std::string text = lines.joined();
    auto parsed = parse_config(text, name);
    if (!parsed) {
        Failure failure = parsed.error();
        failure.what = "cannot edit " + std::string(name) + ": the result would not load";
        return tl::unexpected(std::move(failure));
    }
    return ConfigFile{std::move(text), std::move(*parsed)};
}

}  // namespace

std::string initial_config_text(const std::map<std::string, FolderConfig>& folders) {
    std::string text = kInitialText;
    for (const auto& [id, folder] : folders) {
        text += "\n" + folder_header(id) + "\npath = " + toml_quote(folder.path) +
                "\nmode = " + toml_quote(folder_mode_name(folder.mode)) + "\n";
    }
    return text;
}

Outcome<ConfigFile> set_config_key(std::string_view text, std::string_view name,
                                     const std::string& key, const std::string& toml_value) {
    auto current = parse_config(text, name);
    if (!current) return tl::unexpected(current.error());
    const ConfigLayout& layout = current->layout;
    Lines lines(text);

    if (const auto span = layout.keys.find(key); span != layout.keys.end()) {
        const ValueSpan& at = span->second;
        std::string line = lines.items[at.first - 1].substr(0, at.begin_byte) + toml_value +
                           lines.items[at.last - 1].substr(at.end_byte);
        lines.items.erase(lines.items.begin() + static_cast<std::ptrdiff_t>(at.first - 1),
                          lines.items.begin() + static_cast<std::ptrdiff_t>(at.last));
        lines.items.insert(lines.items.begin() + static_cast<std::ptrdiff_t>(at.first - 1),
                           std::move(line));
        return checked(lines, name);
    }

    if (const auto field = folder_field(key)) {
        const std::string line = field->field + " = " + toml_value;
        const auto table = layout.folder_tables.find(field->id);
        if (table == layout.folder_tables.end()) {
            if (!lines.items.empty() && !trimmed(lines.items.back()).empty()) lines.items.emplace_back();
            lines.items.push_back(folder_header(field->id));
            lines.items.push_back(line);
            return checked(lines, name);
        }
        if (!is_header(lines.items[table->second - 1])) return not_a_table(name, field->id);
        lines.items.insert(lines.items.begin() + static_cast<std::ptrdiff_t>(table->second), line);
        return checked(lines, name);
    }

    const std::string line = key + " = " + toml_value;
    const std::size_t top_end =
        layout.table_lines.empty() ? lines.items.size() : layout.table_lines.front() - 1;
    for (std::size_t i = top_end; i-- > 0;) {
        if (is_example_of(lines.items[i], key)) {
            lines.items.insert(lines.items.begin() + static_cast<std::ptrdiff_t>(i + 1), line);
            return checked(lines, name);
        }
    }
    lines.items.insert(lines.items.begin() + static_cast<std::ptrdiff_t>(top_end), line);
    return checked(lines, name);
}

Outcome<ConfigFile> remove_config_folder(std::string_view text, std::string_view name,
                                           const std::string& id) {
    auto current = parse_config(text, name);
    if (!current) return tl::unexpected(current.error());
    const ConfigLayout& layout = current->layout;
    const auto table = layout.folder_tables.find(id);
    if (table == layout.folder_tables.end()) {
        return failed("cannot remove folder '" + id + "'",
                      std::string(name) + " has no folder with that id",
                      "`ferry folder list` shows the folders");
    }
    Lines lines(text);
    const std::size_t header = table->second;  // 1-based
    if (!is_header(lines.items[header - 1])) return not_a_table(name, id);
    // Up to the next table; comments and blank lines just above it are kept
    // (they belong to it).
    const auto next = std::upper_bound(layout.table_lines.begin(), layout.table_lines.end(), header);
    std::size_t end = lines.items.size();  // 0-based, exclusive
    if (next != layout.table_lines.end()) {
        end = *next - 1;
        while (end > header && is_comment_or_blank(lines.items[end - 1])) --end;
    }
    lines.items.erase(lines.items.begin() + static_cast<std::ptrdiff_t>(header - 1),
                      lines.items.begin() + static_cast<std::ptrdiff_t>(end));
    return checked(lines, name);
}

}  // namespace ferry::cli
