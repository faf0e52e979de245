// The filesystem as ferry sees it: one synced folder, addressed by
// folder-relative '/'-separated paths ("" is the folder root).
//
// Everything in ferry that touches files goes through this interface, so the
// scanner and (later) the puller are tested on MemoryFilesystem and under
// FaultInjectingFilesystem without a disk. Symlinks are never followed:
// lstat() describes the link itself, and every operation on a path whose
// parent components include a symlink fails (Errc::invalid_argument, with a
// message saying so). Errors name the folder root and the path:
// "ROOT/PATH: <what failed>: <reason>". Codes: not_found (the path, or a
// parent, is missing or not a directory), permission_denied, already_exists,
// no_space, unsupported (reading what is not a regular file), invalid_argument
// (a path that is not folder-relative), io (anything else). Implementations are safe to call
// from several threads at once; a ReadFile/WriteFile object is used by one
// thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"

namespace ferry {

enum class EntryKind : std::uint8_t { file, directory, symlink, special };

const char* entry_kind_name(EntryKind kind);  // "file", ..., "special file"

struct FileStat {
    EntryKind kind = EntryKind::file;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::uint32_t mode = 0;     // permission bits (07777)
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
};

struct DirEntry {
    std::string name;  // one component, as the OS returned it (not yet normalised)
};

// An entry together with its lstat, as scan_dir() returns it. `stat` holds
// the error when that one entry could not be stat'ed (it vanished:
// not_found; or permission_denied, ...): one bad entry does not fail the
// listing.
struct DirEntryStat {
    std::string name;  // as in DirEntry
    Result<FileStat> stat;
};

class ReadFile {
public:
    virtual ~ReadFile() = default;
    // Reads up to buf.size() bytes at `offset`; returns the count (0 at end).
    virtual Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> buf) = 0;
    // Stat of the open file (not of whatever the path names now).
    virtual Result<FileStat> stat() = 0;
};

class WriteFile {
public:
    virtual ~WriteFile() = default;
    virtual Result<void> write_at(std::uint64_t offset, std::span<const std::uint8_t> data) = 0;
    virtual Result<void> truncate(std::uint64_t size) = 0;
    // Makes the written data durable (fsync).
    virtual Result<void> sync() = 0;
    // Permission bits (07777) and modification time of the open file, and
    // its stat: no path is resolved again.
    virtual Result<void> set_mode(std::uint32_t mode) = 0;
    virtual Result<void> set_mtime(std::int64_t mtime_ns) = 0;
    virtual Result<FileStat> stat() = 0;
};

class Filesystem {
public:
    virtual ~Filesystem() = default;

    virtual Result<FileStat> lstat(std::string_view path) = 0;
    // Entries of a directory, without "." and "..", in no particular order.
    virtual Result<std::vector<DirEntry>> list_dir(std::string_view path) = 0;
    // list_dir() plus each entry's lstat, in one pass over the directory
    // (opened once, stat'ed relative to it): what the scanner walks with.
    virtual Result<std::vector<DirEntryStat>> scan_dir(std::string_view path) = 0;
    virtual Result<std::unique_ptr<ReadFile>> open_read(std::string_view path) = 0;
    virtual Result<std::string> read_link(std::string_view path) = 0;

    // Creates or truncates a regular file for writing, with `mode`.
    virtual Result<std::unique_ptr<WriteFile>> open_write(std::string_view path, std::uint32_t mode) = 0;
    // Opens a regular file for writing without truncating it, creating it
    // (empty) if missing; either way its mode becomes exactly `mode`. What an
    // interrupted transfer resumes with.
    virtual Result<std::unique_ptr<WriteFile>> open_update(std::string_view path, std::uint32_t mode) = 0;
    virtual Result<void> make_dir(std::string_view path, std::uint32_t mode) = 0;
    virtual Result<void> make_symlink(std::string_view target, std::string_view path) = 0;
    // Removes a file, a symlink or an empty directory.
    virtual Result<void> remove(std::string_view path) = 0;
    // Atomically replaces `to` with `from` (POSIX rename semantics).
    virtual Result<void> rename(std::string_view from, std::string_view to) = 0;
    virtual Result<void> set_mtime(std::string_view path, std::int64_t mtime_ns) = 0;
    virtual Result<void> set_mode(std::string_view path, std::uint32_t mode) = 0;
    // Makes a directory's entries (creations, renames) durable.
    virtual Result<void> sync_dir(std::string_view path) = 0;
    // Makes everything written so far to each of `paths` durable: its data,
    // its metadata and the directory entry naming it, as fsync of the path
    // and of its directory would. For many files at once, where one flush of
    // the whole filesystem costs what one fsync does (Linux: syncfs(2)).
    virtual Result<void> sync_paths(std::span<const std::string> paths) = 0;
};

// Whether `path` is a folder-relative path every implementation accepts:
// "" (the root) or '/'-separated components that are not empty, "." or ".."
// and contain no NUL. (Which names are valid to *sync* is core/path_rules.)
bool is_folder_relative(std::string_view path);

// Writes `data` as the whole content of `path` (convenience for tests and
// small files; not atomic: see the atomic writer for that).
Result<void> write_whole_file(Filesystem& fs, std::string_view path,
                              std::span<const std::uint8_t> data, std::uint32_t mode = 0644);

}  // namespace ferry
