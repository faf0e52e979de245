// Watching folders: when a folder's watcher reports changes, the paths it
// named are scanned (those only: ScanOptions::only) `watch_delay` later, or
// later still when scans are long (sync/scan_pacing.hh); changes meanwhile
// join that scan, changes during the scan lead to one more. Lost events
// (the watcher says `everything`) lead to a scan of the whole folder. Files
// still being written are left out of scans until they are closed or go
// quiet (fs/watcher.hh); while there are any, the watcher is asked again
// every `watch_delay`. Sync's own writes are reported too: checking them
// costs an lstat and an index lookup each, finds the records sync just
// stored, and sends nothing.
#include "sync/engine_impl.hh"
#include "sync/scan_pacing.hh"

namespace ferry {

using engine_detail::FolderWatch;

namespace {

// What status says of a folder that is polled because watching failed.
std::string polled_because(const char* what, const Error& error,
                           std::chrono::milliseconds rescan_interval) {
    return std::string(what) + " (" + error.message + "): rescanned every " +
           std::to_string(rescan_interval.count() / 1000) + " s";
}

}  // namespace

void Engine::Impl::start_watching(const FolderPtr& folder) {
    if (!options.watch || !folder->fs) return;
    auto watcher = options.watch(folder->folder);
    if (!watcher) {
        folder->watch.warning =
            polled_because("not watched", watcher.error(), options.rescan_interval);
        return;
    }
    FolderWatch& watch = folder->watch;
    watch.watcher = std::move(*watcher);
    watch.readable =
        std::make_unique<asio::posix::stream_descriptor>(io, watch.watcher->descriptor());
    watch.delay = std::make_unique<Timer>(io);
    wait_for_changes(folder);
}

void Engine::Impl::wait_for_changes(const FolderPtr& folder) {
    folder->watch.readable->async_wait(
        asio::posix::stream_descriptor::wait_read,
        [weak = weak_from_this(), folder](const asio::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || folder->removed || self->stopped || !folder->watch.watcher) return;
            if (self->take_changes(folder)) self->wait_for_changes(folder);
        });
}

bool Engine::Impl::take_changes(const FolderPtr& folder) {
    FolderWatch& watch = folder->watch;
    auto changes = watch.watcher->read_changes();
    if (!changes) {
        watch.warning = polled_because("no longer watched", changes.error(), options.rescan_interval);
        watch.stop();
        arm_scan_timer(folder);
        return false;
    }
    watch.writing = std::move(changes->writing);
    watch.changed.merge(changes->paths);
    watch.lost = watch.lost || changes->everything;
    // A scan follows the changes; while files are being written the watcher
    // is asked again, since one that goes quiet unclosed makes no event.
    if ((watch.lost || !watch.changed.empty() || !watch.writing.empty()) && !watch.delay_armed) {
        watch.delay_armed = true;
        // A scan running now ends no sooner than now.
        const auto now = MonotonicClock::now();
        watch.delay->expires_after(watch_scan_wait(now, options.watch_delay,
                                                   folder->scanning ? now : folder->last_scan_ended,
                                                   folder->last_scan_took));
        watch.delay->async_wait([weak = weak_from_this(), folder](const asio::error_code& ec) {
            auto self = weak.lock();
            if (ec || !self || folder->removed || self->stopped || !folder->watch.watcher) return;
            FolderWatch& w = folder->watch;
            w.delay_armed = false;
            // What the watcher saw until now: a file begun since is left out.
            if (!self->take_changes(folder)) return;
            if (std::exchange(w.lost, false)) {
                w.changed.clear();
                self->request_scan(folder);
            } else if (!w.changed.empty()) {
                self->request_scan_of(folder, std::exchange(w.changed, {}));
            }
        });
    }
    return true;
}

}  // namespace ferry
