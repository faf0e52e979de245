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
// Crash points (for the crash simulation): every call through the wrapper
// is numbered, from 1: each Filesystem method (sync_paths once for all its
// paths) and each method of the ReadFile/WriteFile it returns, stat()
// included; scan_dir()'s per-entry checks are part of their call. After
// crash_after(n), n more calls run; then the device is dead: every later
// call fails with Errc::io and reaches nothing (files opened before die
// too), and `on_crash` runs once, on the thread of the n-th call, right after
// that call returned from the inner filesystem and before its result goes
// back to the caller (n == 0: inside crash_after). calls() counts the calls
// that ran, so a test runs a scenario once to count them, then again
// crashing after each in turn. A dead device counts nothing (neither
// calls() nor count()); revive() brings it back.
//
// Thread rule: every method may be called from several threads at once;
// install rules and hooks before handing the wrapper to threads.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <optional>
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

    // Crash points (see the top of this file).
    void crash_after(std::uint64_t n, std::function<void()> on_crash = {});
    bool crashed() const;
    // Calls go through again; no crash point is set (counts stay).
    void revive();
    // Calls that ran so far, of every kind.
    std::uint64_t calls() const;

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

    // Also used by the wrapped files. One numbered call: refused (Errc::io)
    // when the device is dead; else its number, to hand to finish_call()
    // once the inner call returned.
    Result<std::uint64_t> start_call(std::string_view path);
    void finish_call(std::uint64_t number);
    // Counts one call of `op` and runs the rules and the hook for it.
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
    std::uint64_t m_calls = 0;
    std::optional<std::uint64_t> m_crash_at;  // the number of the last call that runs
    bool m_crashed = false;
    std::function<void()> m_on_crash;
};

}  // namespace ferry
