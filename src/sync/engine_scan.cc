// Scans: every rescan_interval and on request, on the worker pool, never
// while the folder is being pulled. A periodic scan of a folder without a
// watcher leaves files modified within the last kSettleTime for a scan that
// follows about then. After a scan the records it wrote are
// planned (a local edit may conflict with a peer's) and sent to peers, and
// the temporary files it found that no transfer will resume (a crash's
// leftovers of versions replaced since) are removed.
#include <algorithm>
#include <utility>

#include <asio/post.hpp>

#include "fs/scanner.hh"
#include "sync/engine_impl.hh"
#include "sync/scan_pacing.hh"

namespace ferry {

using engine_detail::offload;
using engine_detail::ScanCallback;

namespace {

struct ScanOutcome {
    Result<ScanResult> result;
    std::vector<std::string> changed;  // paths of records written since the last scan
    Sequence last;
};

}  // namespace

void Engine::Impl::request_scan(const FolderPtr& folder, ScanCallback done) {
    folder->full_scan_wanted = true;
    start_scan(folder, std::move(done));
}

void Engine::Impl::request_scan_of(const FolderPtr& folder, std::set<std::string> paths) {
    if (paths.count(std::string(kIgnoreFileName)) != 0) folder->full_scan_wanted = true;
    folder->paths_to_scan.merge(paths);
    start_scan(folder);
}

void Engine::Impl::start_scan(const FolderPtr& folder, ScanCallback done) {
    if (done) folder->scan_waiters.push_back(std::move(done));
    if (folder->paused) {
        fail_scan_waiters(folder, "the folder is paused (`ferry resume " + folder->folder.id +
                                      "` resumes it)");
        return;  // what is wanted stays wanted until it is resumed
    }
    if (folder->removed || stopped || !folder->fs) {
        fail_scan_waiters(folder, stopped           ? "the device is shutting down"
                                  : folder->removed ? "the folder was removed"
                                                    : folder->error);
        return;
    }
    // A scan in progress may have passed the caller's change already: the
    // waiters are served by the next one.
    if (folder->scanning || folder->pulling) {
        folder->scan_wanted = true;
        return;
    }
    folder->scan_wanted = false;
    folder->scanning = true;
    // The safety-net rescan counts from the last full scan.
    if (folder->full_scan_wanted) folder->scan_timer->cancel();
    spawn(scan(folder, std::exchange(folder->scan_waiters, {})));
}

void Engine::Impl::fail_scan_waiters(const FolderPtr& folder, const std::string& why) {
    if (folder->scan_waiters.empty()) return;
    // Posted: the caller may be in the middle of changing the folder list.
    asio::post(io, [waiters = std::exchange(folder->scan_waiters, {}),
                    error = Error{Errc::io, why}] {
        for (const ScanCallback& waiter : waiters) waiter(tl::unexpected(error));
    });
}

void Engine::Impl::arm_scan_timer(const FolderPtr& folder,
                                  std::optional<std::chrono::milliseconds> after) {
    if (folder->removed || stopped) return;
    folder->scan_timer->expires_after(after                    ? *after
                                      : folder->watch.watcher ? options.watched_rescan_interval
                                                              : options.rescan_interval);
    folder->scan_timer->async_wait([weak = weak_from_this(), folder](const asio::error_code& ec) {
        auto self = weak.lock();
        if (!ec && self) self->request_scan(folder);
    });
}

asio::awaitable<void> Engine::Impl::scan(FolderPtr folder, std::vector<ScanCallback> waiters) {
    ScanOptions scan_options;
    scan_options.local_device = local;
    scan_options.now_ns = clock.now_ns();
    scan_options.threads = options.scan_threads;
    scan_options.settling = folder->watch.writing;
    folder->scan_progress = std::make_shared<engine_detail::LiveScanProgress>();
    scan_options.progress = [live = folder->scan_progress](const ScanProgress& p) {
        const std::lock_guard lock(live->mutex);
        live->progress = p;
    };
    if (!folder->full_scan_wanted) scan_options.only = std::move(folder->paths_to_scan);
    // No watcher tells which files are being written: a periodic scan
    // leaves those modified within the last kSettleTime for a scan that
    // follows soon (one that was asked for takes everything).
    const bool requested = std::exchange(folder->scan_requested, false);
    if (!folder->watch.watcher && !requested)
        scan_options.unsettled_after_ns =
            scan_options.now_ns -
            std::chrono::duration_cast<std::chrono::nanoseconds>(kSettleTime).count();
    const bool full = !scan_options.only;
    folder->paths_to_scan.clear();
    folder->full_scan_wanted = false;
    auto work = [f = folder, &s = store, scan_options, after = folder->scan_seen] {
        ScanOutcome out{scan_folder(*f->fs, s, f->folder.id, scan_options), {}, after};
        // No pull runs during a scan: temporary files are no transfer's now.
        if (out.result) {
            for (const std::string& temporary : out.result->temporaries) {
                if (auto removed = f->writer->remove_if_stale(temporary); !removed)
                    out.result->issues.push_back(ScanIssue{temporary, removed.error().message});
            }
        }
        // Whatever the scan wrote (even a failed one writes what it found).
        for (;;) {
            auto records = s.files_since(f->folder.id, out.last, 1000);
            if (!records || records->empty()) break;
            for (const FileRecord& record : *records) out.changed.push_back(record.path);
            out.last = records->back().sequence;
        }
        return out;
    };
    const auto started = MonotonicClock::now();
    auto outcome = co_await offload(workers, std::move(work));
    folder->last_scan_ended = MonotonicClock::now();
    folder->last_scan_took = folder->last_scan_ended - started;
    folder->scanning = false;
    const bool first_scan = !folder->scanned_once;
    folder->scanned_once = true;
    if (folder->removed || stopped) {
        for (const ScanCallback& waiter : waiters) waiter(outcome.result);
        fail_scan_waiters(folder,
                          stopped ? "the device is shutting down" : "the folder was removed");
        co_return;
    }
    if (outcome.result) {
        folder->error.clear();
        folder->scan_issues = outcome.result->issues;
        const ScanResult& r = *outcome.result;
        if (full) folder->last_scan_entries = r.files + r.directories + r.symlinks;
    } else {
        folder->error =
            "folder " + folder->folder.id + ": scan failed: " + outcome.result.error().message;
    }
    folder->scan_seen = outcome.last;
    std::vector<std::string> paths = std::move(outcome.changed);
    if (!paths.empty()) local_index_changed(folder);
    // Paths that changed under a step, and steps still waiting, are tried again.
    paths.insert(paths.end(), folder->recheck.begin(), folder->recheck.end());
    folder->recheck.clear();
    for (const auto& [path, bytes] : folder->needed) paths.push_back(path);
    if (full && outcome.result && outcome.result->unsettled > 0) {
        // Files still being written: looked at again once they may have
        // settled, paced like a watcher's scans (a file written for ever
        // must not keep a large folder rescanning).
        arm_scan_timer(folder, std::chrono::duration_cast<std::chrono::milliseconds>(
                                   watch_scan_wait(folder->last_scan_ended, kSettleTime,
                                                   folder->last_scan_ended, folder->last_scan_took)));
    } else if (full) {
        arm_scan_timer(folder);
    }
    if (folder->scan_wanted) {
        folder->dirty.insert(paths.begin(), paths.end());
        start_scan(folder);
    } else {
        touch(folder, paths);
    }
    // After a restart, what peers announced before it (a transfer cut by a
    // crash, say) is still needed, though no update will touch it again; and
    // new ignore patterns may have released any path.
    if (first_scan || std::find(paths.begin(), paths.end(), kIgnoreFileName) != paths.end())
        plan_everything(folder);
    mark_progress_stale(folder);
    check_in_sync();
    for (const ScanCallback& waiter : waiters) waiter(outcome.result);
}

}  // namespace ferry
