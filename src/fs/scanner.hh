// The scanner: brings a folder's index in line with what is on disk.
//
// Walks the folder with several threads, compares every entry with its stored
// record and writes only the differences: an unchanged file (same kind,
// size, mtime, inode, mode) costs one lstat and no read; a new or changed
// file is chunked and hashed; a path that vanished becomes a tombstone with
// its version incremented. Symlinks are recorded, never followed; special
// files, invalid names and unreadable entries are reported as ScanIssues and
// skipped while the rest of the scan goes on. A file that changes while it is
// hashed is hashed again (a few times, then reported). Paths that
// .ferryignore matches are skipped and never descended into; what was
// indexed of them before is left as it was (ignoring a path must not delete
// it on the other devices), and changes to them are not recorded until they
// are no longer ignored. ferry's own paths (.ferry/, temporary files) are
// skipped too, and become tombstones if they were ever indexed. Memory does not grow
// with file size, and per directory only that directory's entries are held.
//
// A change found on disk is this device's own (its counter incremented),
// except one that a peer announced exactly (same content, mode and file
// mtime) as a version newer than or concurrent with the stored one: that is
// sync's write whose record a crash lost, and it is recorded as sync would
// have (the peer's change, versions merged), so a restarted receiver does not
// invent edits that conflict with the sender's next ones. Before it looks at
// the disk, a scan settles the pending targets a crash left
// (fs/pending_targets.hh): sync's notes of what it was putting on disk,
// which recognise its writes even after the peer announced a newer version.
//
// What is unknown is not deleted: an entry or directory that cannot be read
// keeps its stored record(s), and a folder root that cannot be listed fails
// the whole scan rather than turning every record into a tombstone. A
// directory that vanishes between its parent's listing and its own is left
// for the next scan.
//
// Records go to the store in batches (1,000, or every 100 ms) from the
// calling thread; at the end the scan's time and issues are recorded. A
// cancelled scan writes what it had found (each record is true on its own),
// does not record the scan, and returns Errc::changed.
//
// Thread rule: scan_folder() blocks its caller and uses its own worker
// threads (a queue of directories); the progress callback runs on the
// calling thread. The store is shared with the workers (it is thread-safe).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "core/ignore.hh"
#include "core/types.hh"
#include "fs/filesystem.hh"
#include "store/store.hh"

namespace ferry {

struct ScanProgress {
    std::uint64_t entries_seen = 0;   // paths looked at so far
    std::uint64_t files_hashed = 0;   // changed files fully hashed
    std::uint64_t bytes_hashed = 0;
    std::uint64_t bytes_to_hash = 0;  // known so far (grows while walking)
    bool walk_done = false;           // the directory walk has finished
};

struct ScanOptions {
    ShortId local_device;            // whose counter a local change increments
    unsigned threads = 0;            // 0: one per core
    // Called on the scanning thread, about every 100 ms and once at the end.
    std::function<void(const ScanProgress&)> progress;
    // Set to true (from any thread) to stop the scan early; returns Errc::changed.
    const std::atomic<bool>* cancel = nullptr;
    // The scan's time: a scan that finishes stores it and its issues with
    // Store::record_scan (a cancelled or failed scan does not).
    std::int64_t now_ns = 0;
    // Files still being written (fs/watcher.hh): a new or changed one is
    // left as last indexed (a new one unindexed), for a later scan.
    std::set<std::string> settling;
    // Where no watcher says which files are being written (a polled
    // folder): a new or changed file modified after this time (ns since the
    // epoch; 0: no such rule), and not in the future, is left as `settling`
    // is, and counted in ScanResult::unsettled so that the caller looks again.
    std::int64_t unsettled_after_ns = 0;
    // A scan of these folder-relative paths only (what a watcher reported),
    // not of the whole folder: each is compared with its record; one that
    // is gone takes what lay beneath it along, a directory new to the index
    // is walked whole, and the rest of the folder is not looked at. Not
    // recorded as the folder's last scan; the issues at or beneath these
    // paths replace the stored ones there, and the result's `issues` are the
    // folder's issues after that. The result's counts cover only what was
    // looked at.
    std::optional<std::set<std::string>> only;
};

struct ScanResult {
    std::uint64_t files = 0;          // regular files present
    std::uint64_t directories = 0;
    std::uint64_t symlinks = 0;
    std::uint64_t bytes = 0;          // total size of the files present
    std::uint64_t changed = 0;        // records written (new, changed, deleted)
    std::uint64_t deleted = 0;        // of which tombstones
    std::uint64_t bytes_hashed = 0;
    std::uint64_t unsettled = 0;      // files left for later (ScanOptions::unsettled_after_ns)
    std::vector<ScanIssue> issues;    // entries that could not be indexed
    // ferry's temporary files (core/ignore.hh temporary_name) among the
    // entries looked at, folder-relative: never indexed; the sync engine
    // removes those no transfer will resume.
    std::vector<std::string> temporaries;
};

Result<ScanResult> scan_folder(Filesystem& fs, Store& store, std::string_view folder_id,
                               const ScanOptions& options);

// The folder's ignore patterns from its .ferryignore (none when there is no
// such file, or it is not a regular file). Fails for a file over 1 MiB or
// one that cannot be read. The scanner and the sync engine both use it, so
// a path one of them ignores the other ignores too.
Result<IgnoreMatcher> read_ignore_file(Filesystem& fs);

}  // namespace ferry
