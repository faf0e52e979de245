// Rules for file names inside a synced folder.
//
// A folder-relative path is '/'-separated, UTF-8, NFC-normalised, and has no
// empty, '.' or '..' component, no NUL or control character, no component
// over 255 bytes and no more than 4096 bytes in all. Names from disk and
// (later) from peers pass through normalize_path() before they are stored or
// written. Names that Windows cannot hold are flagged separately: POSIX
// devices keep them, a Windows device will refuse them. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/error.hh"

namespace ferry {

inline constexpr std::size_t kMaxNameBytes = 255;
inline constexpr std::size_t kMaxPathBytes = 4096;

// Validates `path` and returns its NFC form. Errc::invalid_argument with a
// message naming the path and the reason (e.g. "a/../b: '..' component is not
// allowed") otherwise. The length limits apply to the NFC form.
Result<std::string> normalize_path(std::string_view path);

// Why Windows cannot hold this (already normalised) path, if it cannot: a
// message naming the path, the component and the rule. Rules: reserved
// device names (CON, PRN, AUX, NUL, COM1-9, LPT1-9, COM/LPT with a
// superscript 1-3, CONIN$, CONOUT$), in any case, with or without an
// extension or spaces before it ("con.txt", "Nul .tar.gz"); a component
// ending in '.' or ' '; one of <>:"\|?*.
std::optional<std::string> windows_name_problem(std::string_view path);

// Key under which two paths clash on a case-insensitive filesystem: full
// Unicode case folding of the NFC form (utf8proc), so "A.txt" and "a.txt"
// clash, and so do "Straße" and "STRASSE" (ß folds to "ss"). That is
// stricter than NTFS's simple folding: a false clash costs one refused
// name, a missed one would overwrite a file. Two different paths with one
// key are a clash. Invalid UTF-8 (never in normalize_path's output) is
// returned unchanged.
std::string case_fold_key(std::string_view normalized_path);

// Joins a parent path ("" for the folder root) and a child name.
std::string join_path(std::string_view parent, std::string_view name);

// Whether `path` is `dir` itself or lies beneath it ("" is the folder root,
// which holds every path). "a/b" is within "a", "ab" is not.
bool is_within(std::string_view path, std::string_view dir);

// `path` made safe to print in a message, whatever its bytes: control bytes
// and invalid UTF-8 become \xNN, and over 200 bytes it is shortened with
// "...". Used for names straight from disk or from peers.
std::string printable_path(std::string_view path);

}  // namespace ferry
