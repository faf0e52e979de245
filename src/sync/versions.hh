// Versions: old copies of files that sync replaced or deleted, kept in the
// folder's `.ferry/versions/` so a mistaken change on one device is
// recoverable on every device.
//
// "dir/report.txt" replaced at time T is kept as
// ".ferry/versions/dir/report~YYYYMMDD-HHMMSS.txt" (T in UTC, years
// 1970..9999; a second version in the same second gets "-1" ... "-9999"
// appended to the time). The extension is what follows the last '.' of the
// name, not a leading one (".bashrc~T", "archive.tar~T.gz"); the stem is
// shortened, never inside a UTF-8 sequence, so the name fits kMaxNameBytes.
// Files and symlinks are kept, by a rename within the folder (no copy).
// prune() deletes versions older than the retention (default 30 days),
// judged by the time in the name, and then the directories it emptied;
// files whose names carry no such time are left alone.
// `.ferry/` is never synced (core/ignore.hh is_internal_path).
//
// Thread rule: blocking; safe from several threads for different paths.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "fs/filesystem.hh"

namespace ferry {

inline constexpr std::string_view kVersionsDir = ".ferry/versions";
inline constexpr std::int64_t kDefaultVersionRetentionNs = 30LL * 24 * 3600 * 1'000'000'000;

// Who makes a kept version's new name durable: keep() itself (one fsync of
// the version's directory), or the caller, who syncs the version's path
// (Filesystem::sync_paths) together with the flush that makes the old
// name's removal durable, so that many files share one flush.
enum class KeptSync { now, by_caller };

struct StoredVersion {
    std::string version_path;  // folder-relative path of the kept copy
    std::int64_t kept_ns = 0;  // when it was replaced (from the name; second precision)
    std::uint64_t size = 0;
};

class Versions {
public:
    Versions(Filesystem& fs, std::int64_t retention_ns = kDefaultVersionRetentionNs);
    // Moves the file or symlink at `path` into the versions area as replaced
    // at now_ns; returns the version's path. Errc::unsupported for anything
    // else, Errc::invalid_argument for paths inside .ferry/ or temporary files.
    // The directories it makes there are durable when it returns, and so is
    // the version's name with KeptSync::now. The removal of `path`'s name
    // is the caller's to make durable, never before the version's name is:
    // else a power cut loses the content from both.
    Result<std::string> keep(std::string_view path, std::int64_t now_ns, KeptSync sync = KeptSync::now);
    // Kept versions of `path`, oldest first.
    Result<std::vector<StoredVersion>> list(std::string_view path);
    // Copies a kept version (file or symlink, with its mode and mtime) back
    // to `path` (temporary file, fsync, rename), keeping the version; what is
    // at `path` now is kept first, as replaced at now_ns, and missing parent
    // directories are made. Durable when it returns (content, mode, mtime
    // and name). The next scan sees it as a local change.
    Result<void> restore(std::string_view version_path, std::string_view path, std::int64_t now_ns);
    // Deletes versions kept before now_ns - retention; returns how many.
    Result<std::size_t> prune(std::int64_t now_ns);

private:
    Filesystem& m_fs;
    std::int64_t m_retention_ns;
};

}  // namespace ferry
