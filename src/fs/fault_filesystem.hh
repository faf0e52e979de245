// A Filesystem wrapper for tests: forwards every call to another Filesystem,
// counts the calls, and lets a test make chosen calls fail or run code first.
//
// Two ways to provoke trouble:
//   fail_next(FsOp::open_read, "a/b", Errc::permission_denied)  // the next call
//   fail_always(FsOp::scan_dir, "d", Errc::permission_denied)   // every call
//   set_hook([&](FsOp op, std::string_view path) -> Result<void> { ... })
// The hook runs before each operation (outside any lock, so it may change
// the inner filesystem: that is how a test makes a file grow while it is
// hashed, or vanish mid-scan); an error it returns becomes the result.
// FsOp::read is the hook point of each ReadFile::read_at, with the file's
// path; FsOp::write of each WriteFile::write_at and truncate, FsOp::sync of
// each WriteFile::sync (a full disk or a failing fsync mid-file). scan_dir() also asks, for each entry, as FsOp::lstat on the entry's
// path: a failure replaces that entry's stat (one unreadable entry).
//
// Thread rule: every method may be called from several threads at once;
// install rules and hooks before handing the wrapper to threads.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "fs/filesystem.hh"

namespace ferry {

enum class FsOp : std::uint8_t {
    lstat, list_dir, scan_dir, open_read, read, read_link, open_write, make_dir,
    make_symlink, remove, rename, set_mtime, set_mode, sync_dir, open_update, write, sync,
    sync_paths,
};
inline constexpr std::size_t kFsOpCount = 18;

class FaultInjectingFilesystem : public Filesystem {
public:
    using Hook = std::function<Result<void>(FsOp op, std::string_view path)>;

    explicit FaultInjectingFilesystem(Filesystem& inner) : m_inner(inner) {}

    // The next call of `op` on exactly `path` fails with `code`.
    void fail_next(FsOp op, std::string path, Errc code);
    // Every call of `op` on exactly `path` fails with `code`.
    void fail_always(FsOp op, std::string path, Errc code);
    void set_hook(Hook hook);
    // Forgets rules and hook (counts stay).
    void clear();

    // Calls of `op` made so far (including those that were made to fail;
    // not counting the per-entry checks of scan_dir).
    std::uint64_t count(FsOp op) const;

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
    // Asks as FsOp::sync_paths once for each path (a rule on any of them fails the call).
    Result<void> sync_paths(std::span<const std::string> paths) override;

    // Counts one call and runs the rules and the hook for it (also used by
    // the wrapped files).
    Result<void> before(FsOp op, std::string_view path);

private:
    Result<void> check(FsOp op, std::string_view path);

    struct Rule {
        FsOp op;
        std::string path;
        Errc code;
        bool once;
    };

    Filesystem& m_inner;
    mutable std::mutex m_mutex;
    std::vector<Rule> m_rules;
    std::shared_ptr<const Hook> m_hook;
    std::array<std::uint64_t, kFsOpCount> m_counts{};
};

}  // namespace ferry
