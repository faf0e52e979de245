// The folder writer: every change sync makes to a folder on disk, made so
// that nothing is lost or half-visible (DESIGN.md "Sync rules").
//
// All paths go through the Filesystem, which resolves them beneath the
// folder root without following a symlink in any component (POSIX:
// openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so a directory swapped for
// a symlink between check and use cannot redirect a write. Files are built
// in a temporary file in the target's directory (core/ignore.hh
// temporary_name, with `unique` derived from the target's path and chunk
// list, so a restart finds the same file), written, fsynced, given mode and
// mtime, and renamed over the target; then the directory is fsynced. A file
// replaced or removed by sync is first moved to the versions area
// (sync/versions.hh), so the old content is never gone before the new one is
// in place.
//
// Modes are set without the setuid and setgid bits, whatever the record
// says; the returned FileStat is what is on disk.
//
// Before replacing or removing anything, check_unchanged() compares the disk
// with the local record (kind, size, mtime, inode): a file edited since its
// scan must be rescanned and re-planned, never overwritten.
//
// Thread rule: blocking; run on a worker thread, one FileAssembly per
// thread. Errors name the folder and path.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hh"
#include "core/file_record.hh"
#include "fs/filesystem.hh"
#include "net/clock.hh"
#include "store/store.hh"
#include "sync/versions.hh"

namespace ferry {

// A file being built at a temporary path. Destroyed before publish(), it
// leaves the temporary file, and begin_file() for the same target (path and
// chunk list) resumes from the chunks in it.
//
// Making it durable is the caller's part, so that many files share one
// flush: finish(), then Filesystem::sync_paths of temporary_path() (the
// data, before the name), then publish(), then sync_paths of the target
// (the rename) and of the version kept of what it replaced (both in one
// call, so a power cut cannot keep the new name without the version) before
// the file's record is stored.
struct Published {
    FileStat stat;             // the new file's
    std::string kept_version;  // the version kept of the file or symlink replaced; "" if none
};

class FileAssembly {
public:
    virtual ~FileAssembly() = default;
    // Indexes into target.chunks still to be written (shrinks as chunks come).
    virtual std::vector<std::size_t> missing() const = 0;
    // Verifies `data` against chunk `index`'s hash and size, then writes it
    // (and every later chunk with the same hash). Errc::corrupt on mismatch:
    // nothing is written.
    virtual Result<void> put_chunk(std::size_t index, std::span<const std::uint8_t> data) = 0;
    // All chunks present (else Errc::invalid_argument): sets the size, mode
    // and mtime and closes the temporary file. Called once.
    virtual Result<void> finish() = 0;
    virtual const std::string& temporary_path() const = 0;
    // After finish() (else Errc::invalid_argument): keeps the old file (or
    // symlink) as a version and renames the temporary file into place;
    // neither is durable yet (see above). An empty directory in the way is
    // removed; one with entries fails with Errc::busy. Called once.
    virtual Result<Published> publish() = 0;
};

class FolderWriter {
public:
    FolderWriter(Filesystem& fs, Store& store, std::string folder_id, Versions& versions,
                 const Clock& clock);

    // Whether the disk still matches `local` at `path` (nullopt / tombstone:
    // nothing is there). False means: rescan before touching it.
    //
    // On a filesystem that does not tell names apart by case (or Unicode
    // form), `path` can find another entry: "Readme" finds "README". When
    // nothing should be there and the parent's listing has no entry named
    // exactly `path`, that is a clash, refused with Errc::already_exists
    // naming the other entry, unless it is `alias_of` itself (the source of a
    // case-only rename).
    Result<bool> check_unchanged(std::string_view path, const std::optional<FileRecord>& local,
                                 std::string_view alias_of = {});

    // Starts (or resumes) building `target`: reuses chunks already in a
    // temporary file left by an interrupted run, then copies every chunk
    // some local file has (Store::find_chunk, each verified by its hash).
    Result<std::unique_ptr<FileAssembly>> begin_file(const FileRecord& target);

    // Each of these is durable when it returns (the entry, its mode and
    // mtime, and the version kept of what it replaced), so its record can
    // be stored.
    Result<FileStat> make_directory(const FileRecord& target);
    // Replaces what is there (kept as a version); the link gets the record's
    // mtime, as files do.
    Result<FileStat> make_symlink(const FileRecord& target);
    // Mode (and mtime but for directories) of each target; one flush for all
    // of them (Filesystem::sync_paths of those changed), none when nothing
    // changed. The stats in the targets' order.
    Result<std::vector<FileStat>> set_metadata(std::span<const FileRecord* const> targets);
    Result<FileStat> set_metadata(const FileRecord& target);
    // Moves `from` (content equal to target's) to target.path atomically;
    // what was at target.path is kept as a version first.
    Result<FileStat> rename(std::string_view from, const FileRecord& target);
    // Removes a file or symlink (kept as a version) or an empty directory
    // (temporary files an interrupted transfer left in it do not count).
    // A directory that still holds entries is left and reported (Errc::busy).
    // Nothing at `path` is success (a delete resumed after a crash).
    Result<void> remove(std::string_view path);
    // Removes the temporary file `temporary` (a folder-relative path the
    // scanner found) unless begin_file() would resume it: one a peer still
    // announces the version of, among the live files (its name derives
    // from the path and chunk list), that this device neither holds (the
    // same chunks) nor has seen. What a transfer cut by a crash or a stop
    // leaves behind is stale once the peer replaced, deleted or renamed
    // that version, or this device got its content another way (and one
    // whose name was shortened to fit, which is not recognised). Returns
    // whether it was removed (false: kept, or already gone). Call only
    // while nothing writes to the folder (no pull); a `ferry restore`
    // building its file at that moment fails, and can be run again.
    Result<bool> remove_if_stale(std::string_view temporary);
    // Keeps the local content of `path` as `copy_path` (a rename; the
    // caller then writes the winner at `path`).
    Result<FileStat> keep_conflict_copy(std::string_view path, std::string_view copy_path);

private:
    Result<void> remove_leftover_temporaries(std::string_view dir);
    // Sets what differs of target's mode and mtime from `st` (by path, not
    // yet durable); returns whether anything was set.
    Result<bool> apply_metadata(const FileRecord& target, const FileStat& st, std::string_view where);
    // check_unchanged's clash test for `path`, found on disk as `found`: ""
    // when the parent lists that exact name, else the listed path that is
    // the same entry.
    Result<std::string> name_clash(std::string_view path, const FileStat& found,
                                   std::string_view alias_of);

    Filesystem& m_fs;
    Store& m_store;
    std::string m_folder_id;
    Versions& m_versions;
    const Clock& m_clock;
};

}  // namespace ferry
