// One step of the scanner: bring one directory's entries in line with the
// index. Internal to src/fs (scanner.cc runs it on a pool of threads).
//
// Lists the directory with its lstats, reads its stored children, and
// merges them by name. What changed goes to the sink as FileUpdates, in an
// order that keeps the index consistent: this directory's metadata records
// and tombstones first, then its subdirectories are handed on (so a child's
// records always follow its own), then the records of the files it had to
// hash. Errors of single entries become ScanIssues; only a store failure or
// an unreadable folder root fails the step.
//
// Thread rule: scan_directory() runs on any thread, several at once; the
// context is shared read-only (apart from its atomic counters).
#pragma once

#include <atomic>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/error.hh"
#include "core/ignore.hh"
#include "core/types.hh"
#include "fs/filesystem.hh"
#include "store/store.hh"

namespace ferry {

struct ScanContext {
    Filesystem& fs;
    Store& store;
    std::string folder_id;
    ShortId local_device;
    IgnoreMatcher ignore;
    unsigned hash_threads = 0;
    const std::atomic<bool>* cancel = nullptr;
    const std::set<std::string>* settling = nullptr;  // ScanOptions::settling
    std::int64_t unsettled_after_ns = 0;               // ScanOptions::unsettled_after_ns
    std::int64_t now_ns = 0;                           // ScanOptions::now_ns

    // Progress, updated by the workers.
    std::atomic<std::uint64_t> entries_seen{0};
    std::atomic<std::uint64_t> files_hashed{0};
    std::atomic<std::uint64_t> bytes_hashed{0};
    std::atomic<std::uint64_t> bytes_to_hash{0};
    std::atomic<std::uint64_t> unsettled{0};

    bool cancelled() const { return cancel != nullptr && cancel->load(std::memory_order_relaxed); }
};

// What a step found: the records to write and the entries it could not index.
struct ScanOutput {
    std::vector<FileUpdate> updates;
    std::vector<ScanIssue> issues;
    std::uint64_t files = 0;        // present on disk (changed or not)
    std::uint64_t directories = 0;
    std::uint64_t symlinks = 0;
    std::uint64_t bytes = 0;        // of the files present
    std::uint64_t deleted = 0;      // tombstones among `updates`
    std::vector<std::string> temporaries;  // ferry's temporary files seen (paths)
};

class ScanSink {
public:
    virtual ~ScanSink() = default;
    virtual void emit(ScanOutput&& output) = 0;
    // Called once per step with the subdirectories to scan next (possibly none).
    virtual void enqueue_dirs(std::vector<std::string>&& dirs) = 0;
};

// A file that changes while it is read is hashed again this many times.
inline constexpr int kHashRetries = 3;

Result<void> scan_directory(ScanContext& ctx, const std::string& dir, ScanSink& sink);

// The same step for some entries of `dir` only (each lstat'd, and compared
// with its stored entry; `names` need not be sorted): one that is gone is
// deleted (with what lies beneath), one that is new or changed is recorded,
// and of the directories among them only those the index did not hold as
// directories are handed on to be walked.
Result<void> scan_entries(ScanContext& ctx, const std::string& dir,
                          const std::vector<std::string>& names, ScanSink& sink);

}  // namespace ferry
