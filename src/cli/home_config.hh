// FERRY_HOME/ferry.toml on disk, and the index kept in step with it.
//
// ferry.toml is the truth for the folder list (id, path, mode); the index
// keeps each folder's state by id. reconcile_folders() makes the index's
// folder table say what the file says: a folder gone from the file is
// forgotten by the index (its files on disk are untouched), a new one is
// added, a changed mode is updated in place, and a changed path starts the
// folder's index afresh (the old records describe other files).
//
// Thread rule: main thread (blocking file and index I/O). Failures name the
// file and what to do.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cli/config.hh"
#include "cli/home.hh"

namespace ferry::cli {

// Reads and checks ferry.toml. A home without one (made by an older ferry)
// first gets one written from its index's folders.
Outcome<ConfigFile> load_home_config(const HomePaths& paths, Store& store);

// Writes ferry.toml atomically (a temporary file, fsync, rename, fsync of
// the folder): a crash leaves the old file or the new one.
Outcome<void> save_home_config(const HomePaths& paths, const std::string& text);

// What a command does after editing the file: saves `text` (which says
// `config`), brings the index's folders in step, and asks a running daemon
// to reload (control request "reload", cli/control.hh).
struct Committed {
    bool daemon_reloaded = false;             // false: no daemon runs
    std::vector<std::string> at_next_start;   // keys the daemon applies only when it starts
};
Outcome<Committed> commit_config(Device& device, const std::string& text, const Config& config);

// Brings the index's folders in step with `folders`; returns one line per
// change ("added folder photos (/home/me/Photos, send-receive)"), for logs.
Outcome<std::vector<std::string>> reconcile_folders(
    Store& store, const std::map<std::string, FolderConfig>& folders);

}  // namespace ferry::cli
