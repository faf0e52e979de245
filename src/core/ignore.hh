// Ignore rules: `.ferryignore` in gitignore syntax, plus ferry's own names.
//
// Supported: comments (#), blank lines, trailing-space trimming (unless
// escaped), negation (!), escapes (\#, \!, \ , \*), '*', '?', '[...]'
// classes, '**' (leading, trailing, and between slashes), directory-only
// patterns (trailing '/'), and anchoring (a '/' at the start or in the middle
// anchors the pattern to the folder root). As in git, the last matching
// pattern wins, and nothing inside an ignored directory can be re-included:
// callers do not descend into ignored directories. Pure; a matcher is
// immutable after parse() and safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"

namespace ferry {

class IgnoreMatcher {
public:
    IgnoreMatcher() = default;

    // Parses the text of a .ferryignore. Never fails on odd patterns (git
    // does not either); a malformed class like "[a-" matches literally.
    static IgnoreMatcher parse(std::string_view text);

    // Whether the folder-relative `path` ('/'-separated, no leading '/') is
    // ignored by the patterns. `is_dir` says whether it names a directory.
    bool is_ignored(std::string_view path, bool is_dir) const;

    bool empty() const { return m_patterns.empty(); }

private:
    struct Pattern {
        std::string glob;    // without leading '!' / '/', trailing '/'
        bool negated = false;
        bool dir_only = false;
        bool anchored = false;  // matches the whole path, else the last component(s)
    };
    std::vector<Pattern> m_patterns;
};

// Names ferry never syncs, whatever .ferryignore says: the `.ferry` folder at
// the folder root and ferry's temporary files (see temporary_name()).
bool is_internal_path(std::string_view path);

// The name of the temporary file ferry writes before renaming it over `name`
// (a single path component): ".ferry-tmp.<name>.<unique>", truncated to fit
// kMaxNameBytes. `unique` distinguishes concurrent writers.
std::string temporary_name(std::string_view name, std::uint64_t unique);

// The file holding a folder's ignore patterns, at the folder root.
inline constexpr std::string_view kIgnoreFileName = ".ferryignore";

}  // namespace ferry
