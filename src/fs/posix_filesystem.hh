// The real filesystem on Linux (and, through the fallback walk, other POSIX
// systems): one synced folder under an absolute root path.
//
// Never follows a symlink, neither as the final component (lstat semantics,
// O_NOFOLLOW) nor as a parent component: every path is resolved relative to
// a descriptor of the root with openat2(RESOLVE_NO_SYMLINKS|RESOLVE_BENEATH),
// or, where the kernel lacks openat2, by opening one component at a time
// with O_NOFOLLOW|O_DIRECTORY. So a peer can never make ferry read or write
// outside the folder through a symlink it planted (Syncthing
// CVE-2017-1000420, the 2024 rsync symlink CVEs). Symlinks in the root path
// itself are the user's choice and are followed once, when the root opens.
//
// The root is opened on first use; if that fails, every call fails with the
// reason and the next call tries again. A root that was deleted while open is
// reported by scan_dir("") as not_found (not as an empty folder).
//
// Thread rule: every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "fs/filesystem.hh"

namespace ferry {

class PosixFilesystem : public Filesystem {
public:
    // How paths below the root are resolved: `automatic` uses openat2 when
    // the kernel has it; `walk` always uses the portable per-component walk
    // (tests use it to check that path on Linux too).
    enum class Resolve { automatic, walk };

    explicit PosixFilesystem(std::string root, Resolve resolve = Resolve::automatic);
    ~PosixFilesystem() override;
    PosixFilesystem(const PosixFilesystem&) = delete;
    PosixFilesystem& operator=(const PosixFilesystem&) = delete;

    const std::string& root() const { return m_root; }

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
    // On Linux one syncfs(2) of the root's filesystem covers every path on
    // it (it also writes other programs' pending data there); a path on
    // another filesystem mounted inside the folder, and every path elsewhere,
    // is fsync'ed with its directory.
    Result<void> sync_paths(std::span<const std::string> paths) override;

private:
    class Fd;
    struct Parent;

    Result<int> root_fd();
    // Opens `path` (relative, no symlink anywhere in it) with `flags`;
    // errors name `shown` (default: `path`).
    Result<Fd> open_below(std::string_view path, int flags, std::uint32_t mode, const char* what,
                          std::string_view shown = {});
    // Opens the directory holding `path`'s last component (O_PATH).
    Result<Parent> open_parent(std::string_view path, const char* what);
    // lstat of `path`, whose directory `parent` holds open.
    Result<FileStat> stat_in(const Parent& parent, std::string_view path);
    Result<Fd> open_dir_for_listing(std::string_view path, const char* what);
    // open_write and open_update: O_WRONLY|O_CREAT plus `extra_flags`.
    Result<std::unique_ptr<WriteFile>> open_writable(std::string_view path, std::uint32_t mode,
                                                     int extra_flags);
    Error error(std::string_view path, const char* what, int err) const;
    // fsync of `path` and of its directory.
    Result<void> sync_one(std::string_view path);

    std::string m_root;
    Resolve m_resolve;
    std::mutex m_root_mutex;
    std::atomic<int> m_root_fd{-1};
};

}  // namespace ferry
