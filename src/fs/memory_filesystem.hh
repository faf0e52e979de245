// An in-memory Filesystem for tests: a tree of files, directories, symlinks
// and special files (FIFO-like entries nobody can open), with inode numbers,
// nanosecond mtimes and POSIX semantics where ferry relies on them: an open
// file keeps its contents after the name is removed or replaced, rename()
// replaces atomically (an empty directory only by a directory), symlinks are
// never followed (a path through one fails like on PosixFilesystem), modes
// are kept exactly (no umask).
//
// Every change sets the changed node's mtime and ctime from a clock that
// never repeats a value, so "changed with the same size" is always visible:
// the system clock, or the time source given (the simulation's, so that a
// seed replays exactly), moved on by 1 ns where it would repeat.
// Each node keeps its contents in one place, so a later crash simulation can
// add a durable copy per node (what sync()/sync_dir() made durable).
//
// Thread rule: one mutex guards the tree; every method, and the methods of
// the files it opens, may be called from several threads at once.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "fs/filesystem.hh"

namespace ferry {

class MemoryFilesystem : public Filesystem {
public:
    // Wall-clock time, ns since the Unix epoch.
    using TimeSource = std::function<std::int64_t()>;
    explicit MemoryFilesystem(TimeSource now_ns = {});
    ~MemoryFilesystem() override;

    Result<FileStat> lstat(std::string_view path) override;
    Result<std::vector<DirEntry>> list_dir(std::string_view path) override;
    Result<std::vector<DirEntryStat>> scan_dir(std::string_view path) override;
    Result<std::unique_ptr<ReadFile>> open_read(std::string_view path) override;
    Result<std::string> read_link(std::string_view path) override;
    Result<std::unique_ptr<WriteFile>> open_write(std::string_view path, std::uint32_t mode) override;
    Result<std::unique_ptr<WriteFile>> open_update(std::string_view path, std::uint32_t mode) override;
    Result<void> make_dir(std::string_view path, std::uint32_t mode) override;
    Result<void> make_symlink(std::string_view target, std::string_view path) override;
    Result<void> remove(std::string_view path) override;
    Result<void> rename(std::string_view from, std::string_view to) override;
    Result<void> set_mtime(std::string_view path, std::int64_t mtime_ns) override;
    Result<void> set_mode(std::string_view path, std::uint32_t mode) override;
    Result<void> sync_dir(std::string_view path) override;
    // Each path must exist (as on disk); nothing else happens.
    Result<void> sync_paths(std::span<const std::string> paths) override;

    // Test helpers.
    // Creates a special file (what a FIFO, socket or device looks like).
    Result<void> make_special(std::string_view path);
    // Appends to an existing file without truncating it (a file that grows).
    Result<void> append(std::string_view path, std::span<const std::uint8_t> data);
    // The whole content of a file.
    Result<std::string> contents(std::string_view path);

    struct Node;

private:
    struct Lookup;
    Result<Lookup> find(std::string_view path, const char* what, bool want_parent);
    // The directory node at `path` (not a symlink); mutex held.
    Result<std::shared_ptr<Node>> find_directory(std::string_view path);
    // open_write (truncate) and open_update.
    Result<std::unique_ptr<WriteFile>> open_writable(std::string_view path, std::uint32_t mode,
                                                     bool truncate);
    std::shared_ptr<Node> new_node(EntryKind kind, std::uint32_t mode);  // mutex held

    struct Shared;  // the mutex and clock, shared with open files
    std::shared_ptr<Shared> m_shared;
    std::shared_ptr<Node> m_root;
    std::uint64_t m_next_inode = 2;
};

}  // namespace ferry
