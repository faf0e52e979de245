// What toml++ 3.3 (Debian's libtomlplusplus-dev) must not be given: its
// whitespace lookup, is_non_ascii_horizontal_whitespace(), reaches
// __builtin_unreachable() for the code points U+00A1 to U+0499 (Latin-1
// letters, Greek, Cyrillic: upstream issue 190, fixed after 3.3), which is
// undefined behaviour. It runs on such a character outside strings and
// comments (a bare "é = 1", "a = 1é") and on the first character after a
// multi-line basic string's line-ending backslash. TOML allows no non-ASCII
// character in the first place, and no ferry.toml value starts with one in
// the second, so refusing both first loses nothing.
//
// toml_problem() scans the text as TOML's lexer would (comments, the four
// kinds of strings, escapes) and returns where the first such character is
// and why it is refused, or nullopt. A UTF-8 byte order mark at the start is
// allowed (toml++ skips it). Pure; thread-safe; linear in the text.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::cli {

struct TomlProblem {
    std::size_t line = 1;    // 1-based
    std::size_t column = 1;  // 1-based, in code points (as toml++ counts)
    std::string reason;
};

std::optional<TomlProblem> toml_problem(std::string_view text);

}  // namespace ferry::cli
