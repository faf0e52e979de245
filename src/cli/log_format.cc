#include "cli/log_format.hh"

#include <array>
#include <charconv>
#include <cstdio>

#include "cli/format.hh"

namespace ferry::cli {
namespace {

constexpr std::array<std::string_view, 4> kNames{"error", "warn", "info", "debug"};
constexpr std::array<std::string_view, 4> kPlainWords{"ERROR", "WARN", "INFO", "DEBUG"};
// sd-daemon(3): SD_ERR, SD_WARNING, SD_INFO, SD_DEBUG.
constexpr std::array<std::string_view, 4> kJournalPrefixes{"<3>", "<4>", "<6>", "<7>"};

std::size_t index_of(LogLevel level) {
    return static_cast<std::size_t>(level);
}

bool is_utf8_continuation(char c) {
    return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Appends `message` with control characters escaped, cut at kMaxLogMessage
// bytes (on a UTF-8 character boundary).
void append_one_line(std::string& line, std::string_view message) {
    bool cut = false;
    if (message.size() > kMaxLogMessage) {
        std::size_t end = kMaxLogMessage;
        while (end > 0 && is_utf8_continuation(message[end])) --end;
        message = message.substr(0, end);
        cut = true;
    }
    for (const char c : message) {
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte != 0x7f) {
            line.push_back(c);
        } else if (c == '\n') {
            line += "\\n";
        } else if (c == '\r') {
            line += "\\r";
        } else if (c == '\t') {
            line += "\\t";
        } else {
            std::array<char, 8> escaped{};
            std::snprintf(escaped.data(), escaped.size(), "\\x%02x", byte);
            line += escaped.data();
        }
    }
    if (cut) line += "...";
}

template <class Number>
bool parse_decimal(std::string_view text, Number& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
}

}  // namespace

std::string_view log_level_name(LogLevel level) {
    return kNames[index_of(level)];
}

Result<LogLevel> parse_log_level(std::string_view text) {
    for (std::size_t i = 0; i < kNames.size(); ++i) {
        if (text == kNames[i]) return static_cast<LogLevel>(i);
    }
    return fail(Errc::invalid_argument,
                "unknown log level '" + std::string(text) + "'; use error, warn, info or debug");
}

std::string format_log_line(LogStyle style, LogLevel level, std::string_view message,
                            std::int64_t time_ns) {
    std::string line;
    line.reserve(message.size() + 40);
    if (style == LogStyle::journal) {
        line += kJournalPrefixes[index_of(level)];
    } else {
        line += iso_time_ms(time_ns);
        line += ' ';
        line += kPlainWords[index_of(level)];
        line += ' ';
    }
    append_one_line(line, message);
    line += '\n';
    return line;
}

bool is_journal_stream(std::string_view journal_stream, dev_t device, ino_t inode) {
    const std::size_t colon = journal_stream.find(':');
    if (colon == std::string_view::npos) return false;
    unsigned long long named_device = 0;
    unsigned long long named_inode = 0;
    return parse_decimal(journal_stream.substr(0, colon), named_device) &&
           parse_decimal(journal_stream.substr(colon + 1), named_inode) &&
           named_device == static_cast<unsigned long long>(device) &&
           named_inode == static_cast<unsigned long long>(inode);
}

}  // namespace ferry::cli
