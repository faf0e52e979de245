// The engine's lifecycle, its folders and its status.
#include "sync/engine.hh"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>

#include "sync/engine_impl.hh"

namespace ferry {

using engine_detail::FolderRuntime;

namespace {

// How far a scan is, in %: by the entries the last full scan saw while it
// walks, then by the bytes it has to hash (nullopt: a first scan walking).
std::optional<double> scan_completion(const ScanProgress& p, std::uint64_t last_entries) {
    if (!p.walk_done) {
        if (last_entries == 0) return std::nullopt;
        return std::min(99.0, 100.0 * static_cast<double>(p.entries_seen) /
                                  static_cast<double>(last_entries));
    }
    if (p.bytes_to_hash == 0) return 100.0;
    return std::min(100.0, 100.0 * static_cast<double>(p.bytes_hashed) /
                               static_cast<double>(p.bytes_to_hash));
}

// The store setting that remembers a paused folder.
std::string paused_setting(const std::string& folder_id) {
    return "folder." + folder_id + ".paused";
}

}  // namespace

Engine::Impl::Impl(asio::io_context& io_, asio::any_io_executor workers_, Store& store_,
                   FilesystemFactory filesystems_, const Clock& clock_, EngineOptions options_)
    : io(io_),
      workers(workers_),
      store(store_),
      filesystems(std::move(filesystems_)),
      clock(clock_),
      options(std::move(options_)),
      local(options.local_device.short_id()),
      window(io_.get_executor(), options.pull_window_bytes) {}

void Engine::Impl::spawn(asio::awaitable<void> task) {
    asio::co_spawn(
        io,
        [self = shared_from_this(), t = std::move(task)]() mutable -> asio::awaitable<void> {
            co_await std::move(t);
        },
        [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);  // a bug: let it surface
        });
}

Engine::Impl::FolderPtr Engine::Impl::find_folder(const std::string& id) const {
    auto it = folders.find(id);
    return it == folders.end() ? nullptr : it->second;
}

Result<void> Engine::Impl::load_folders() {
    auto listed = store.folders();
    if (!listed) return tl::unexpected(listed.error());
    std::set<std::string> present;
    bool changed = false;
    for (const Folder& folder : *listed) {
        present.insert(folder.id);
        auto existing = find_folder(folder.id);
        if (existing && existing->folder == folder) continue;
        if (existing) {  // moved or changed mode: start it again
            existing->removed = true;
            existing->cancel_timers();
            fail_scan_waiters(existing, "the folder was changed");
            folders.erase(folder.id);
        }
        auto runtime = std::make_shared<FolderRuntime>();
        runtime->folder = folder;
        auto paused = store.get_setting(paused_setting(folder.id));
        if (!paused) return tl::unexpected(paused.error());
        runtime->paused = *paused == "1";
        runtime->scan_timer = std::make_unique<Timer>(io);
        runtime->evaluation_timer = std::make_unique<Timer>(io);
        auto index_id = store.index_id(folder.id);
        if (!index_id) return tl::unexpected(index_id.error());
        runtime->index_id = *index_id;
        auto fs = filesystems(folder);
        if (fs) {
            runtime->fs = std::move(*fs);
            runtime->versions =
                std::make_unique<Versions>(*runtime->fs, options.version_retention_ns);
            runtime->writer = std::make_unique<FolderWriter>(*runtime->fs, store, folder.id,
                                                             *runtime->versions, clock);
        } else {
            runtime->error = "folder " + folder.id + ": " + fs.error().message;
        }
        folders[folder.id] = runtime;
        changed = true;
        if (runtime->fs) {
            start_watching(runtime);  // before the first scan, so nothing slips between
            request_scan(runtime);
        }
    }
    for (auto it = folders.begin(); it != folders.end();) {
        if (present.count(it->first) != 0) {
            ++it;
            continue;
        }
        it->second->removed = true;
        it->second->cancel_timers();
        fail_scan_waiters(it->second, "the folder was removed");
        it = folders.erase(it);
        changed = true;
    }
    if (changed) {
        for (const auto& peer : peers)
            if (peer->config_received) update_shared(peer);
        cluster_changed();
        check_in_sync();
    }
    return {};
}

FolderStatus Engine::Impl::folder_status(const FolderRuntime& f) const {
    FolderStatus st;
    st.id = f.folder.id;
    st.mode = f.folder.mode;
    st.error = f.error;
    if (f.paused)
        st.state = "paused";
    else if (!f.error.empty())
        st.state = "error";
    else if (f.scanning || !f.scanned_once)
        st.state = "scanning";
    else if (f.pulling || !f.dirty.empty() || !f.needed.empty())
        st.state = "syncing";
    else
        st.state = "idle";
    if (f.scanning && f.scan_progress) {
        ScanProgress p;
        {
            const std::lock_guard lock(f.scan_progress->mutex);
            p = f.scan_progress->progress;
        }
        st.scan_entries = p.entries_seen;
        st.scan_completion = scan_completion(p, f.last_scan_entries);
    }
    st.need_files = f.needed.size();
    for (const auto& [path, bytes] : f.needed) st.need_bytes += bytes;
    const std::int64_t now = clock.now_ns();
    st.receive_rate = f.received.rate(now);
    if (st.need_bytes > 0) st.seconds_left = f.received.seconds_left(st.need_bytes, now);
    std::set<ShortId> listed;
    for (const auto& peer : peers) {
        if (!peer->config_received || peer->folders.count(f.folder.id) == 0) continue;
        DeviceProgress progress;
        progress.device = peer->device;
        progress.relayed = peer->connection->relayed();
        progress.connected = !progress.relayed;
        auto it = f.progress.find(peer->short_id);
        if (it != f.progress.end() && !f.progress_stale) {
            progress.completion = it->second.completion;
            progress.in_sync = it->second.in_sync;
        } else if (it != f.progress.end()) {
            progress.completion = it->second.completion;
        }
        listed.insert(peer->short_id);
        st.devices.push_back(progress);
    }
    if (!f.watch.warning.empty()) st.problems.push_back(PathProblem{"", f.watch.warning});
    for (const auto& [path, message] : f.problems)
        st.problems.push_back(PathProblem{path, message});
    for (const ScanIssue& issue : f.scan_issues)
        st.problems.push_back(PathProblem{issue.path, issue.message});
    st.local_changes.assign(f.local_changes.begin(), f.local_changes.end());
    st.needs_override = !f.needs_override.empty();
    return st;
}

EngineStatus Engine::Impl::status() const {
    EngineStatus st;
    st.in_sync = true;
    for (const auto& peer : peers)
        if (!peer->config_received && !peer->connection->relayed()) st.in_sync = false;
    for (const auto& [id, folder] : folders) {
        FolderStatus fs = folder_status(*folder);
        if (!folder->paused) {
            if (fs.state != "idle" || folder->progress_stale) st.in_sync = false;
            for (const DeviceProgress& device : fs.devices)
                if (!device.in_sync && !device.relayed) st.in_sync = false;
        }
        st.folders.push_back(std::move(fs));
    }
    return st;
}

void Engine::Impl::check_in_sync() {
    if (in_sync_waiters.empty() || !status().in_sync) return;
    auto waiters = std::move(in_sync_waiters);
    in_sync_waiters.clear();
    for (auto& fn : waiters) fn();
}

Engine::Engine(asio::io_context& io, asio::any_io_executor workers, Store& store,
               FilesystemFactory filesystems, const Clock& clock, EngineOptions options)
    : m_impl(std::make_shared<Impl>(io, workers, store, std::move(filesystems), clock,
                                    std::move(options))) {}

Engine::~Engine() {
    stop();
}

Result<void> Engine::start() {
    return m_impl->load_folders();
}

void Engine::add_connection(std::shared_ptr<Connection> connection,
                            std::function<wire::ClusterConfig()> cluster_config,
                            std::function<void(const wire::ClusterConfig&)> on_cluster_config) {
    auto peer = std::make_shared<engine_detail::Peer>();
    peer->device = connection->peer().device_id();
    peer->short_id = peer->device.short_id();
    peer->connection = std::move(connection);
    peer->cluster_config = std::move(cluster_config);
    peer->on_cluster_config = std::move(on_cluster_config);
    m_impl->add_peer(std::move(peer));
}

void Engine::request_scan(const std::string& folder_id) {
    for (const auto& [id, folder] : m_impl->folders) {
        if (!folder_id.empty() && folder_id != id) continue;
        folder->scan_requested = true;
        m_impl->request_scan(folder);
    }
}

void Engine::request_scan(const std::string& folder_id, ScanDone done) {
    struct Gather {
        std::vector<FolderScan> scans;
        std::size_t left = 0;
        ScanDone done;
    };
    auto gather = std::make_shared<Gather>();
    gather->done = std::move(done);
    std::vector<Impl::FolderPtr> targets;
    for (const auto& [id, folder] : m_impl->folders)
        if (folder_id.empty() || folder_id == id) targets.push_back(folder);
    if (targets.empty()) {
        if (!folder_id.empty())
            gather->scans.push_back(FolderScan{
                folder_id, fail(Errc::not_found, "there is no folder '" + folder_id + "'")});
        asio::post(m_impl->io, [gather] { gather->done(std::move(gather->scans)); });
        return;
    }
    gather->left = targets.size();
    for (const auto& folder : targets) gather->scans.push_back(FolderScan{folder->folder.id, {}});
    for (std::size_t i = 0; i < targets.size(); ++i) {
        targets[i]->scan_requested = true;
        m_impl->request_scan(targets[i], [gather, i](const Result<ScanResult>& result) {
            gather->scans[i].result = result;
            if (--gather->left == 0) gather->done(std::move(gather->scans));
        });
    }
}

Result<void> Engine::reload_folders() {
    return m_impl->load_folders();
}

Result<void> Engine::reconfigure(EngineOptions options) {
    Impl& impl = *m_impl;
    if (impl.stopped) return {};
    impl.options = std::move(options);
    for (auto& [id, folder] : impl.folders) {
        folder->removed = true;
        folder->cancel_timers();
        impl.fail_scan_waiters(folder, "the configuration changed");
    }
    impl.folders.clear();
    return impl.load_folders();
}

void Engine::cluster_changed() {
    m_impl->cluster_changed();
}

Result<void> Engine::override_folder(const std::string& folder_id) {
    return m_impl->override_folder(folder_id);
}

Result<void> Engine::revert_folder(const std::string& folder_id) {
    return m_impl->revert_folder(folder_id);
}

Result<void> Engine::set_paused(const std::string& folder_id, bool paused) {
    Impl& impl = *m_impl;
    auto folder = impl.find_folder(folder_id);
    if (!folder) return fail(Errc::not_found, "there is no folder '" + folder_id + "'");
    if (auto saved = impl.store.set_setting(paused_setting(folder_id), paused ? "1" : "0"); !saved)
        return saved;
    if (folder->paused == paused) return {};
    folder->paused = paused;
    if (paused) {
        impl.fail_scan_waiters(folder, "the folder is paused");
    } else {
        impl.request_scan(folder);  // what changed meanwhile; the pull follows it
    }
    impl.mark_progress_stale(folder);
    impl.check_in_sync();
    return {};
}

EngineStatus Engine::status() const {
    return m_impl->status();
}

void Engine::when_in_sync(std::function<void()> fn) {
    if (m_impl->status().in_sync) {
        fn();
        return;
    }
    m_impl->in_sync_waiters.push_back(std::move(fn));
}

void Engine::stop() {
    Impl& impl = *m_impl;
    if (impl.stopped) return;
    impl.stopped = true;
    for (auto& [id, folder] : impl.folders) {
        folder->removed = true;
        folder->cancel_timers();
        impl.fail_scan_waiters(folder, "the device is shutting down");
    }
    auto peers = impl.peers;
    for (auto& peer : peers) impl.drop_peer(peer, "device is shutting down");
    impl.in_sync_waiters.clear();
}

}  // namespace ferry
