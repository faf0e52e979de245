// Per-device progress: once a folder is quiet (no scan, no pull, nothing to
// plan), the whole index is compared with what each connected device
// announced, in one ordered walk of both tables
// (Store::for_each_path_versions). While a peer's updates stream in, each
// makes the result stale, so an evaluation waits until changes pause for
// kQuiet, and until no peer has fetched a chunk for as long (a peer still
// fetching is not in sync), unless the result has been stale for kMaxStale:
// status still moves during a long sync. The next starts no sooner than
// kPace times the last one's duration after it ended, so that comparing
// takes at most 1/(kPace + 1) of a worker. An in-sync report comes kQuiet
// after the last change, or later by the pace on a large index.
//
// A device is in sync when, for every path, its announced version is ours
// (a missing record and a tombstone count as the same: nothing there); its
// completion is the share of the global state, by
// entries and bytes, it has. In a receive-only folder a local change that
// no peer has is intended (it is listed, never sent): it does not make a
// device out of sync. Nor does a path this device ignores (.ferryignore): it
// is not synced either way, so peers may differ there.
//
// After each evaluation (the folder was quiet) the memory the process freed
// is handed back to the OS.
#include <algorithm>
#include <chrono>

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fs/scanner.hh"
#include "sync/engine_impl.hh"
#include "sync/engine_steps.hh"

namespace ferry {

using engine_detail::DeviceFolderProgress;
using engine_detail::offload;

namespace {

constexpr int kPace = 4;
constexpr std::chrono::milliseconds kQuiet{150};
constexpr std::chrono::milliseconds kMaxStale{2000};

// The folder is quiet: what the scan, the sync and this walk freed goes
// back to the OS. glibc keeps it in the worker threads' arenas otherwise: a
// daemon watching 100,000 files stayed at 34 MiB resident instead of 22 MiB.
void release_free_memory() {
#ifdef __GLIBC__
    ::malloc_trim(0);
#endif
}

bool gone(const FileRecord* record) {
    return record == nullptr || record->deleted;
}

bool same_state(const FileRecord* a, const FileRecord* b) {
    if (gone(a) || gone(b)) return gone(a) == gone(b);
    return a->version == b->version;
}

struct Tally {
    double have = 0;
    bool in_sync = true;
};

Result<std::map<ShortId, DeviceFolderProgress>> evaluate_folder(Store& store,
                                                                const std::string& folder_id,
                                                                const std::vector<ShortId>& devices,
                                                                ShortId local, FolderMode mode,
                                                                const IgnoreMatcher& ignore) {
    std::map<ShortId, Tally> tallies;
    for (ShortId device : devices) tallies[device];
    double total = 0;
    auto account = [&](const std::string& path, const FileRecord* local_record,
                       const std::vector<RemoteVersion>& remotes) -> Result<void> {
        if (engine_detail::ignored_path(ignore, path, local_record, remotes)) return {};
        std::optional<FileRecord> local_copy;
        if (local_record) local_copy = *local_record;
        FileRecord global;
        if (remotes.empty() && local_record) {
            global = *local_record;
        } else {
            auto chosen =
                engine_detail::global_version(store, folder_id, path, local_copy, remotes, local);
            if (!chosen) return tl::unexpected(chosen.error());
            global = std::move(*chosen);
        }
        const bool kept_local_change =
            mode == FolderMode::receive_only && local_record &&
            local_record->modified_by == local &&
            std::none_of(remotes.begin(), remotes.end(), [&](const RemoteVersion& r) {
                const Ordering order = r.record.version.compare(local_record->version);
                return order == Ordering::equal || order == Ordering::newer;
            });
        const double weight = gone(&global) ? 0.0 : 1.0 + static_cast<double>(global.size);
        total += weight;
        for (auto& [device, tally] : tallies) {
            const FileRecord* theirs = nullptr;
            for (const RemoteVersion& remote : remotes)
                if (remote.device == device) theirs = &remote.record;
            if (same_state(theirs, &global)) tally.have += weight;
            if (!kept_local_change && !same_state(theirs, local_record)) tally.in_sync = false;
        }
        return {};
    };
    std::vector<RemoteVersion> remotes;
    auto walked = store.for_each_path_versions(folder_id, [&](const PathVersions& versions)
                                                              -> Result<void> {
        remotes.clear();
        for (const AnnouncedRecord& record : versions.announced)
            remotes.push_back({record.device, record.record});
        return account(versions.path, versions.local ? &*versions.local : nullptr, remotes);
    });
    if (!walked) return tl::unexpected(walked.error());
    std::map<ShortId, DeviceFolderProgress> out;
    for (const auto& [device, tally] : tallies)
        out[device] =
            DeviceFolderProgress{total == 0 ? 100.0 : 100.0 * tally.have / total, tally.in_sync};
    return out;
}

}  // namespace

void Engine::Impl::mark_progress_stale(const FolderPtr& folder) {
    const auto now = MonotonicClock::now();
    if (!folder->progress_stale) folder->stale_since = now;
    folder->last_change = now;
    folder->progress_stale = true;
    maybe_evaluate(folder);
}

void Engine::Impl::maybe_evaluate(const FolderPtr& folder) {
    if (!folder->progress_stale || folder->evaluating || folder->evaluation_armed ||
        folder->scanning || folder->pulling || !folder->dirty.empty() || folder->removed ||
        stopped || !folder->fs)
        return;
    const auto quiet_from = std::max(folder->last_change, folder->last_served);
    const auto start_at = std::max(
        folder->evaluate_after, std::min(quiet_from + kQuiet, folder->stale_since + kMaxStale));
    if (MonotonicClock::now() < start_at) {
        folder->evaluation_armed = true;
        folder->evaluation_timer->expires_at(start_at);
        folder->evaluation_timer->async_wait(
            [weak = weak_from_this(), folder](const asio::error_code& ec) {
                folder->evaluation_armed = false;
                auto self = weak.lock();
                if (!ec && self) self->maybe_evaluate(folder);
            });
        return;
    }
    folder->evaluating = true;
    spawn(evaluate(folder));
}

asio::awaitable<void> Engine::Impl::evaluate(FolderPtr folder) {
    folder->progress_stale = false;
    std::vector<ShortId> devices;
    for (const auto& peer : peers)
        if (peer->folders.count(folder->folder.id) != 0) devices.push_back(peer->short_id);
    auto work = [&s = store, f = folder, devices, device = local,
                 release = options.release_memory_when_quiet]()
        -> Result<std::map<ShortId, DeviceFolderProgress>> {
        auto ignore = read_ignore_file(*f->fs);
        if (!ignore) return tl::unexpected(ignore.error());
        auto evaluated = evaluate_folder(s, f->folder.id, devices, device, f->folder.mode, *ignore);
        if (release) release_free_memory();
        return evaluated;
    };
    const auto started = MonotonicClock::now();
    auto progress = co_await offload(workers, std::move(work));
    const auto ended = MonotonicClock::now();
    folder->evaluate_after = ended + kPace * (ended - started);
    folder->evaluating = false;
    if (!progress) {
        folder->problems[""] = "comparing with devices: " + progress.error().message;
        folder->progress_stale = true;
        co_return;
    }
    folder->progress = std::move(*progress);
    if (folder->progress_stale)
        maybe_evaluate(folder);
    else
        check_in_sync();
}

}  // namespace ferry
