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
//
// Power cuts (for the crash simulation). Each node keeps, beside its live
// state, the state a power cut would leave, by a conservative POSIX model:
//   - a file's contents, size, mode and mtime become durable on
//     WriteFile::sync() or when it is one of sync_paths()'s paths;
//   - a directory's entries (names made, removed, renamed in or out) and its
//     own mode and mtime become durable on sync_dir() of that directory, or
//     when it is one of sync_paths()'s paths or the parent of one (the
//     interface promises "as fsync of the path and of its directory would");
//     a rename touches two directories, each made durable by its own sync;
//   - nothing else is durable: set_mode()/set_mtime() by path, writes and
//     names not synced all revert.
// power_cut() resets the tree to that durable state. A node that a synced
// directory names but whose own state was never synced comes back as it was
// made (an empty file, an empty directory). A file renamed out of a
// directory and into another with only one side synced ends up named on
// neither side or on both (as a hard link: one inode under two names); a
// directory found under two names is kept under the first found in a
// breadth-first walk of names in order, so the tree stays a tree. Inode
// numbers of nodes that survive stay the same. Files opened before a power
// cut are dead afterwards: every call on them fails with Errc::io, so they
// cannot resurrect what was lost (a process that lost power holds no open
// files). A new MemoryFilesystem, and whatever a test writes, is not durable
// until synced: make_all_durable() makes the whole tree durable, as the
// user's own programs would by syncing their files. (A crash of the process
// alone loses nothing written: only a power cut calls power_cut().)
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
    // Each path must exist (as on disk); if one does not, none is synced.
    Result<void> sync_paths(std::span<const std::string> paths) override;

    // Test helpers.
    // Creates a special file (what a FIFO, socket or device looks like).
    Result<void> make_special(std::string_view path);
    // Appends to an existing file without truncating it (a file that grows).
    Result<void> append(std::string_view path, std::span<const std::uint8_t> data);
    // The whole content of a file.
    Result<std::string> contents(std::string_view path);

    // Power cuts (see the top of this file). Makes every node of the tree
    // durable as it is now.
    void make_all_durable();
    // The tree becomes what was durable; files opened before are dead.
    void power_cut();

    struct Node;
    struct Shared;  // the mutex, clock and power-cut count, shared with open files

private:
    struct Lookup;
    Result<Lookup> find(std::string_view path, const char* what, bool want_parent);
    // The directory node at `path` (not a symlink); mutex held.
    Result<std::shared_ptr<Node>> find_directory(std::string_view path);
    // open_write (truncate) and open_update.
    Result<std::unique_ptr<WriteFile>> open_writable(std::string_view path, std::uint32_t mode,
                                                     bool truncate);
    std::shared_ptr<Node> new_node(EntryKind kind, std::uint32_t mode);  // mutex held
    // Forgets the nodes neither the tree nor a durable entry names (mutex held).
    void collect_nodes();

    std::shared_ptr<Shared> m_shared;
    std::shared_ptr<Node> m_root;
    std::uint64_t m_next_inode = 2;
    // Every node a durable directory entry may name, by inode (durable
    // entries name inodes, so durable trees with cycles cannot leak).
    std::map<std::uint64_t, std::shared_ptr<Node>> m_nodes;
    std::size_t m_collect_at = 64;  // m_nodes' size that triggers collect_nodes()
};

}  // namespace ferry
