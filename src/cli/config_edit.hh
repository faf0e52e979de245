// Editing ferry.toml's text the way a person would: one key's line is
// replaced (or added), everything else (comments, blank lines, order) stays
// as it was. Every edit re-parses the whole result (cli/config.hh) and
// refuses to return a text that would not load.
//
// Where a new key goes: a top-level key that is not set goes after its
// commented example ("# rescan_interval = 60", as `ferry init` writes them)
// if there is one, otherwise before the first table; a folder key goes right
// after its "[folders.ID]" line; a new folder gets a "[folders.ID]" table at
// the end. A value's trailing comment is kept.
//
// Pure functions; thread-safe. Failures say what could not be edited and why.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "cli/config.hh"

namespace ferry::cli {

// The text `ferry init` writes: every key commented out with its default and
// what it means, then a [folders.ID] table for each of `folders`.
std::string initial_config_text(const std::map<std::string, FolderConfig>& folders);

// `text` (a file named `name`) with `key` set to `toml_value`, a TOML value
// as toml_value_from_text() makes it.
Outcome<ConfigFile> set_config_key(std::string_view text, std::string_view name,
                                     const std::string& key, const std::string& toml_value);

// `text` without the table of folder `id` (its "[folders.ID]" line up to the
// next table). Refused when the folder is not written as such a table.
Outcome<ConfigFile> remove_config_folder(std::string_view text, std::string_view name,
                                           const std::string& id);

}  // namespace ferry::cli
