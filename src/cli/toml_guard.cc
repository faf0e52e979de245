// The scan before toml++ (cli/toml_guard.hh).
#include "cli/toml_guard.hh"

namespace ferry::cli {
namespace {

constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

bool is_non_ascii(char c) { return (static_cast<unsigned char>(c) & 0x80) != 0; }

class Scanner {
public:
    explicit Scanner(std::string_view text) : m_text(text) {
        if (m_text.starts_with(kByteOrderMark)) m_pos = kByteOrderMark.size();
        m_line_start = m_pos;
    }

    std::optional<TomlProblem> run() {
        while (m_pos < m_text.size()) {
            const char c = m_text[m_pos];
            if (c == '#') {
                skip_to_line_end();
            } else if (c == '"' || c == '\'') {
                if (auto problem = string(c)) return problem;
            } else if (is_non_ascii(c)) {
                return problem_here("a character that is not ASCII outside a string or comment");
            } else {
                next();
            }
        }
        return std::nullopt;
    }

private:
    bool at(std::string_view what) const { return m_text.substr(m_pos).starts_with(what); }

    void next() {
        if (m_text[m_pos] == '\n') {
            ++m_line;
            m_line_start = m_pos + 1;
        }
        ++m_pos;
    }

    void skip_to_line_end() {
        while (m_pos < m_text.size() && m_text[m_pos] != '\n') ++m_pos;
    }

    // From an opening quote to past the closing one. A string that a newline
    // or the end cuts short ends there (toml++ then reports the error).
    std::optional<TomlProblem> string(char quote) {
        const std::string delimiter(3, quote);
        const bool multi_line = at(delimiter);
        const bool basic = quote == '"';
        m_pos += multi_line ? 3 : 1;
        while (m_pos < m_text.size()) {
            if (multi_line && at(delimiter)) {
                m_pos += 3;
                // Up to two more quotes belong to the content ("""a"""").
                for (int extra = 0; extra < 2 && m_pos < m_text.size() && m_text[m_pos] == quote; ++extra) ++m_pos;
                return std::nullopt;
            }
            const char c = m_text[m_pos];
            if (!multi_line && (c == quote || c == '\n')) {
                if (c == quote) ++m_pos;
                return std::nullopt;
            }
            if (basic && c == '\\') {
                if (multi_line && line_ending_backslash()) {
                    if (m_pos < m_text.size() && is_non_ascii(m_text[m_pos])) {
                        return problem_here(
                            "a character that is not ASCII first after a line-ending backslash");
                    }
                    continue;
                }
                ++m_pos;  // the escaped character (checked by toml++)
                if (m_pos < m_text.size() && m_text[m_pos] != '\n') ++m_pos;
                continue;
            }
            next();
        }
        return std::nullopt;
    }

    // At a backslash in a multi-line basic string: whether only spaces and
    // tabs follow it on its line; if so, moves past it and all the
    // whitespace and newlines after it (what toml++ trims).
    bool line_ending_backslash() {
        std::size_t end = m_pos + 1;
        while (end < m_text.size() && (m_text[end] == ' ' || m_text[end] == '\t' || m_text[end] == '\r')) ++end;
        if (end >= m_text.size() || m_text[end] != '\n') return false;
        ++m_pos;
        while (m_pos < m_text.size() &&
               (m_text[m_pos] == ' ' || m_text[m_pos] == '\t' || m_text[m_pos] == '\r' ||
                m_text[m_pos] == '\n')) {
            next();
        }
        return true;
    }

    TomlProblem problem_here(std::string reason) const {
        std::size_t column = 1;
        for (std::size_t i = m_line_start; i < m_pos; ++i) column += !is_continuation(m_text[i]);
        return {m_line, column, std::move(reason)};
    }

    static bool is_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

    std::string_view m_text;
    std::size_t m_pos = 0;
    std::size_t m_line = 1;
    std::size_t m_line_start = 0;
};

}  // namespace

std::optional<TomlProblem> toml_problem(std::string_view text) {
    return Scanner(text).run();
}

}  // namespace ferry::cli
