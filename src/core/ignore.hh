// Ignore rules: `.ferryignore` in gitignore syntax, plus ferry's own names.
//
// Supported as git documents it: comments (#), blank lines, trailing-space
// trimming (unless escaped), negation (!), escapes (\#, \!, \ , \*, \?),
// '*', '?', '[...]' classes, '**' (leading, trailing, and between slashes),
// directory-only patterns (trailing '/'), and anchoring (a '/' at the start
// or in the middle anchors the pattern to the folder root; otherwise it
// matches a name at any depth). The last matching pattern wins. Wildcard
// details are in core/glob.hh; like git, a malformed class such as "[a-"
// makes its pattern match nothing. Two deliberate differences from git:
// '?' and classes match one Unicode character, not one byte, and patterns
// are NFC-normalised, as ferry's paths are.
//
// Directories: a path inside an ignored directory is ignored, whatever later
// patterns say ("build/" then "!build/keep" still ignores build/keep), as
// `git check-ignore` reports and because walkers do not descend into
// ignored directories. Pure; a matcher is immutable after parse() and safe
// to share between threads.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "core/glob.hh"

namespace ferry {

class IgnoreMatcher {
public:
    IgnoreMatcher() = default;

    // Parses the text of a .ferryignore. Never fails on odd patterns (git
    // does not either).
    static IgnoreMatcher parse(std::string_view text);

    // Whether the folder-relative `path` ('/'-separated, no leading '/') is
    // ignored by the patterns, itself or through an ignored parent
    // directory. `is_dir` says whether it names a directory.
    bool is_ignored(std::string_view path, bool is_dir) const;

    // The same judgement for a walker that never enters ignored
    // directories: `path`'s parents are known not to be ignored, so only
    // the path itself is checked (depth times cheaper on deep trees).
    bool is_ignored_entry(std::string_view path, bool is_dir) const;

    bool empty() const { return m_patterns.empty(); }

private:
    struct Pattern {
        Glob glob;  // without leading '!' / '/', trailing '/'
        bool negated = false;
        bool dir_only = false;
        bool anchored = false;  // matches the whole path, else the last component
    };
    // Whether the last pattern matching `components` (a directory when
    // `is_dir`) ignores it.
    bool last_match_ignores(std::span<const std::string_view> components, bool is_dir) const;

    std::vector<Pattern> m_patterns;
};

// Names ferry never syncs, whatever .ferryignore says: the `.ferry` folder at
// the folder root (in any ASCII case, since a case-insensitive disk would
// write ".FERRY/x" into it) and, at any depth, ferry's temporary files (see
// temporary_name()).
bool is_internal_path(std::string_view path);

// The name of the temporary file ferry writes before renaming it over `name`
// (a single path component): ".ferry-tmp.<name>.<unique as 16 lower-case hex
// digits>", with <name> shortened (never inside a UTF-8 sequence) so the
// result fits kMaxNameBytes. `unique` distinguishes concurrent writers.
std::string temporary_name(std::string_view name, std::uint64_t unique);
// For a name temporary_name() makes: the <name> part (shortened as it was);
// nullopt for any other name.
std::optional<std::string_view> temporary_target(std::string_view name);

// The file holding a folder's ignore patterns, at the folder root.
inline constexpr std::string_view kIgnoreFileName = ".ferryignore";

}  // namespace ferry
