// Change notification for a folder tree: which paths may have changed since
// the last look, so a scan can follow within a fraction of a second instead
// of waiting for the periodic rescan.
//
// A watcher promises no more than "look here": every path it reports is
// scanned, and a report of `everything` (events were lost: the kernel's
// queue overflowed, or a watched directory was lost) asks for a full
// rescan. It never reports ferry's own paths (.ferry/, temporary files).
//
// Backends: inotify (Linux, below). Where there is none, the engine polls
// (a full rescan every poll interval; unchanged files cost one lstat each).
// A macOS (FSEvents) or Windows (ReadDirectoryChangesW) backend is one more
// implementation of this interface.
//
// Thread rule: one thread at a time; read_changes() never blocks. While
// `writing` is not empty, call read_changes() again within kSettleTime:
// a file that goes quiet without being closed produces no event.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>

#include "core/error.hh"

namespace ferry {

struct WatchedChanges {
    std::set<std::string> paths;  // folder-relative, "" for the root itself
    bool everything = false;      // events were lost: rescan the whole folder
    // Files still being written: modified, not yet closed, and modified
    // within the last kSettleTime. A scan leaves them as last indexed; once
    // closed, or quiet for kSettleTime, they are reported in `paths`.
    std::set<std::string> writing;
};

inline constexpr std::chrono::milliseconds kSettleTime{1000};

class Watcher {
public:
    virtual ~Watcher() = default;
    // A descriptor that becomes readable when changes are waiting (for
    // poll(2) or an asio descriptor).
    virtual int descriptor() const = 0;
    // Takes every waiting change (none: empty). New directories are watched
    // at once and their entries reported, since they may have been filled
    // before the watch existed.
    virtual Result<WatchedChanges> read_changes() = 0;
};

// Watches `root` and every directory beneath it (symlinks never followed).
// Fails with Errc::no_space when the user's inotify watch limit is reached,
// naming the sysctl to raise (fs.inotify.max_user_watches); the caller then
// polls instead.
Result<std::unique_ptr<Watcher>> watch_with_inotify(const std::string& root);

}  // namespace ferry
