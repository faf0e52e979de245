// The sync engine's private state, shared by its source files:
//   engine.cc          lifecycle, folders, status, override / revert
//   engine_index.cc    ClusterConfig, sending and receiving index updates
//   engine_records.cc  checking received records and resolving chunk deltas
//   engine_pull.cc     planning touched paths and applying the steps
//   engine_fetch.cc    fetching a file's missing chunks from peers
//   engine_serve.cc    answering peers' chunk requests
//   engine_scan.cc     scan timers and scans on the worker pool
//   engine_watch.cc    watching folders: a scan soon after a change
//   engine_progress.cc per-device completion and in-sync judgement
//   engine_modes.cc    send-only override and receive-only revert
//
// Thread rule: Impl and everything it holds belong to the io_context
// thread. Work posted to the pool gets copies of what it needs plus the
// thread-safe Store, Filesystem and FolderWriter, never Impl itself.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/posix/stream_descriptor.hpp>

#include "core/planner.hh"
#include "core/rate_meter.hh"
#include "fs/watcher.hh"
#include "net/monotonic_time.hh"
#include "sync/engine.hh"
#include "sync/engine_async.hh"
#include "sync/engine_records.hh"
#include "sync/folder_writer.hh"
#include "sync/versions.hh"

namespace ferry {

namespace engine_detail {

// Records of one path as planned: the local record the step was planned
// against, so the disk can be checked against it before the step.
struct PlannedStep {
    PathStep step;
    std::optional<FileRecord> local;
    std::optional<FileRecord> from_local;  // rename: the local record of rename_from's path
};

using ScanCallback = std::function<void(const Result<ScanResult>&)>;

struct FolderRuntime;

// What one peer knows of one folder we share with it.
struct PeerFolder {
    Sequence sent;                 // our records up to here are sent
    std::set<std::string> resend;  // paths to send again with whole chunk lists
    engine_detail::AwaitedRecords awaited;  // records of its index asked again of it
    std::shared_ptr<Signal> wake;  // new local records or resend requests
    bool sending = false;
    std::weak_ptr<FolderRuntime> folder;  // the runtime it was shared as
};

// One FileAssembly is used by one thread at a time: chunks arriving
// together are written in turn.
struct SharedAssembly {
    std::mutex mutex;
    std::unique_ptr<FileAssembly> assembly;
};

// A finished file waiting for its group to publish it (engine_publish.cc).
struct PendingPublish {
    std::shared_ptr<SharedAssembly> file;
    std::string path;
    std::optional<FileRecord> expected;  // what the disk must still hold at `path`
    Result<FileStat> result;             // set before `done` fires
    std::shared_ptr<Signal> done;
};

// Set before `done` fires: the response, or why there is none (the
// connection closed, or no answer within the request timeout).
struct PendingRequest {
    std::shared_ptr<Signal> done;
    std::optional<Result<wire::Response>> result;
};

// How messages name a peer: "device" and the first group of its id.
inline std::string device_label(const DeviceId& device) {
    return "device " + device.to_string().substr(0, 7);
}

struct Peer {
    std::shared_ptr<Connection> connection;
    DeviceId device;
    ShortId short_id;
    bool config_received = false;
    bool closed = false;
    std::uint64_t config_generation = 0;  // ClusterConfigs begun, so only the newest goes out
    std::function<wire::ClusterConfig()> cluster_config;
    std::function<void(const wire::ClusterConfig&)> on_cluster_config;
    std::map<std::string, PeerFolder> folders;                // shared folders, by id
    std::map<std::string, wire::FolderState> remote_folders;  // from its last ClusterConfig
    // The folders our last ClusterConfig sent to it named. Index updates of a
    // folder go out only after a config naming it: the peer drops updates of
    // a folder it does not know we share.
    std::set<std::string> announced;
    // Chunk requests sent and not answered.
    std::map<std::uint32_t, std::shared_ptr<PendingRequest>> pending;
    std::uint32_t next_request_id = 1;
    std::uint64_t requested_bytes = 0;  // outstanding, for spreading requests
    // Requests from the peer waiting to be served, and how many are being served.
    std::deque<wire::Request> serve_queue;
    std::size_t serving = 0;
    // Index updates from the peer are stored one at a time, in order.
    std::deque<wire::IndexUpdate> index_queue;
    bool storing_index = false;
};

// Per device, per folder: what the last progress evaluation found.
struct DeviceFolderProgress {
    double completion = 100.0;
    bool in_sync = false;
};

// A scan's progress as its thread reports it, for status().
struct LiveScanProgress {
    std::mutex mutex;
    ScanProgress progress;
};

// A folder's watcher and what waits on it (engine_watch.cc).
struct FolderWatch {
    std::unique_ptr<Watcher> watcher;
    // Waits on the watcher's descriptor, which it only borrows: stop()
    // releases it unclosed (the watcher closes it).
    std::unique_ptr<asio::posix::stream_descriptor> readable;
    std::unique_ptr<Timer> delay;  // armed: a scan follows the changes seen
    bool delay_armed = false;
    std::set<std::string> changed;    // reported and not yet scanned
    bool lost = false;                // events were lost: a full scan is due
    std::set<std::string> writing;    // files still being written: scans leave them out
    std::string warning;  // why the folder is polled instead of watched

    FolderWatch() = default;
    FolderWatch(const FolderWatch&) = delete;
    FolderWatch& operator=(const FolderWatch&) = delete;
    ~FolderWatch() { stop(); }  // the descriptor is closed once, by the watcher

    void stop() {
        if (readable) {
            readable->cancel();
            readable->release();
            readable.reset();
        }
        if (delay) delay->cancel();
        watcher.reset();
    }
};

struct FolderRuntime {
    Folder folder;
    std::unique_ptr<Filesystem> fs;
    std::unique_ptr<Versions> versions;
    std::unique_ptr<FolderWriter> writer;
    std::uint64_t index_id = 0;
    std::unique_ptr<Timer> scan_timer;
    bool removed = false;

    bool paused = false;  // `ferry pause`: neither scanned nor synced until resumed
    bool scanning = false;
    bool scan_wanted = false;  // a scan waits for the pull in progress
    // How far the scan in progress got (written by its thread).
    std::shared_ptr<LiveScanProgress> scan_progress;
    std::uint64_t last_scan_entries = 0;  // entries the last full scan saw
    // What the next scan covers: the whole folder, or only these paths.
    bool full_scan_wanted = true;
    // Someone asked for it (Engine::request_scan): it indexes files modified
    // just now too, where a periodic scan of a polled folder leaves them.
    bool scan_requested = false;
    std::set<std::string> paths_to_scan;
    // Called when the next scan to start has finished (request_scan's callers).
    std::vector<ScanCallback> scan_waiters;
    bool scanned_once = false;
    // The last scan's end and duration (pacing scans a watcher asks for).
    MonotonicClock::time_point last_scan_ended{};
    MonotonicClock::duration last_scan_took{};
    bool pulling = false;
    Sequence scan_seen;             // local records up to here were planned after a scan
    std::set<std::string> dirty;    // paths to plan
    // Plan again after the next scan: changed on disk before a step, or
    // the other paths of a step that failed (a rename's source).
    std::set<std::string> recheck;
    std::map<std::string, int> recheck_count;

    // Steps planned and not done yet: path -> bytes to fetch or copy.
    std::map<std::string, std::uint64_t> needed;
    RateMeter received;  // chunk bytes fetched from peers
    std::map<std::string, std::string> problems;  // path -> message (refused names, failed steps)
    std::vector<ScanIssue> scan_issues;
    std::set<std::string> local_changes;   // receive-only
    std::set<std::string> needs_override;  // send-only
    std::string error;

    std::vector<FileUpdate> applied;  // records of applied steps not yet stored
    // Steps decided outside the planner (override, revert), applied by the next pull.
    std::vector<PlannedStep> forced;

    // Finished files for the next publishing group (engine_publish.cc).
    std::vector<std::shared_ptr<PendingPublish>> to_publish;
    bool publishing = false;

    std::map<ShortId, DeviceFolderProgress> progress;
    bool progress_stale = true;
    bool evaluating = false;
    // Evaluations are paced and wait for changes to pause (engine_progress.cc).
    MonotonicClock::time_point evaluate_after{};  // pace: none starts before
    MonotonicClock::time_point stale_since{};     // first change not evaluated
    MonotonicClock::time_point last_change{};     // latest change
    MonotonicClock::time_point last_served{};     // latest chunk served to a peer
    std::unique_ptr<Timer> evaluation_timer;  // armed: waits for the next start
    bool evaluation_armed = false;

    FolderWatch watch;

    // Cancels the rescan and evaluation timers (the folder is removed or
    // replaced, or the engine stops).
    void cancel_timers() {
        scan_timer->cancel();
        evaluation_timer->cancel();
        watch.stop();
    }
};

}  // namespace engine_detail

struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
    using FolderPtr = std::shared_ptr<engine_detail::FolderRuntime>;
    using PeerPtr = std::shared_ptr<engine_detail::Peer>;

    Impl(asio::io_context& io, asio::any_io_executor workers, Store& store,
         FilesystemFactory filesystems, const Clock& clock, EngineOptions options);

    asio::io_context& io;
    asio::any_io_executor workers;
    Store& store;
    FilesystemFactory filesystems;
    const Clock& clock;
    EngineOptions options;
    ShortId local;
    bool stopped = false;
    std::map<std::string, FolderPtr> folders;
    std::vector<PeerPtr> peers;
    engine_detail::ByteWindow window;
    std::vector<std::function<void()>> in_sync_waiters;

    // engine.cc
    Result<void> load_folders();
    FolderPtr find_folder(const std::string& id) const;
    EngineStatus status() const;
    FolderStatus folder_status(const engine_detail::FolderRuntime& folder) const;
    void check_in_sync();
    void spawn(asio::awaitable<void> task);

    // engine_index.cc
    void add_peer(PeerPtr peer);
    asio::awaitable<void> run_peer(PeerPtr peer);
    asio::awaitable<void> send_cluster_config(PeerPtr peer);
    void on_cluster_config(const PeerPtr& peer, const wire::ClusterConfig& config);
    // Matches the folders exchanged with `peer` to those both sides have now
    // (its last ClusterConfig, our folders): starts the new, stops the gone.
    void update_shared(const PeerPtr& peer);
    // Sends a fresh ClusterConfig to every connected peer.
    void cluster_changed();
    void start_index_sender(const PeerPtr& peer, const FolderPtr& folder);
    asio::awaitable<void> send_index(PeerPtr peer, FolderPtr folder);
    void on_index_update(const PeerPtr& peer, wire::IndexUpdate update);
    asio::awaitable<void> store_index_updates(PeerPtr peer);
    void on_resend_request(const PeerPtr& peer, const wire::ResendRequest& request);
    void local_index_changed(const FolderPtr& folder);
    void drop_peer(const PeerPtr& peer, const std::string& reason);
    PeerPtr find_peer(ShortId device) const;
    asio::awaitable<void> send(PeerPtr peer, wire::Message message);

    // engine_pull.cc
    void touch(const FolderPtr& folder, const std::vector<std::string>& paths);
    void plan_everything(const FolderPtr& folder);
    void start_pull(const FolderPtr& folder);
    asio::awaitable<void> pull(FolderPtr folder);
    asio::awaitable<void> apply_steps(FolderPtr folder,
                                      std::vector<engine_detail::PlannedStep> steps);
    // `fetched` (write steps): called once, when the file no longer fetches.
    asio::awaitable<void> apply_step(FolderPtr folder, engine_detail::PlannedStep planned,
                                     std::function<void()> fetched);
    // `also`: the other paths the step stands for (a rename's source, a
    // directory rename's entries), planned again with `path` when the step
    // failed or the disk had changed.
    void step_done(const FolderPtr& folder, const std::string& path,
                   Result<std::vector<FileUpdate>> outcome, const std::vector<std::string>& also);
    asio::awaitable<void> flush_applied(FolderPtr folder);

    // engine_fetch.cc
    // Calls `fetched` once when every chunk is in (or the fetch failed),
    // before the file waits for its publishing group.
    asio::awaitable<Result<std::vector<FileUpdate>>> write_file(FolderPtr folder,
                                                                engine_detail::PlannedStep planned,
                                                                std::function<void()> fetched);
    asio::awaitable<Result<void>> fetch_chunk(FolderPtr folder,
                                              std::shared_ptr<engine_detail::SharedAssembly> file,
                                              std::string path, std::size_t index, ChunkRef chunk,
                                              std::vector<ShortId> sources);
    void on_response(const PeerPtr& peer, wire::Response response);

    // engine_publish.cc
    // Publishes a finished file with the next group: returns its stat once
    // its data and its name are durable.
    asio::awaitable<Result<FileStat>> publish_file(
        FolderPtr folder, std::shared_ptr<engine_detail::SharedAssembly> file, std::string path,
        std::optional<FileRecord> expected);
    asio::awaitable<void> publish_groups(FolderPtr folder);

    // engine_serve.cc
    void on_request(const PeerPtr& peer, wire::Request request);
    void serve_next(const PeerPtr& peer);
    asio::awaitable<void> serve(PeerPtr peer, wire::Request request);

    // engine_scan.cc
    // A scan of the whole folder, soon.
    void request_scan(const FolderPtr& folder, engine_detail::ScanCallback done = {});
    // A scan of these paths only (what a watcher reported), soon; with
    // .ferryignore among them, of the whole folder.
    void request_scan_of(const FolderPtr& folder, std::set<std::string> paths);
    // Starts the scan wanted, or leaves it for after the scan or pull in progress.
    void start_scan(const FolderPtr& folder, engine_detail::ScanCallback done = {});
    asio::awaitable<void> scan(FolderPtr folder, std::vector<engine_detail::ScanCallback> waiters);
    // Answers the folder's scan waiters with `why` (it will not be scanned).
    void fail_scan_waiters(const FolderPtr& folder, const std::string& why);
    // The next periodic scan, `after` from now (default: the folder's rescan interval).
    void arm_scan_timer(const FolderPtr& folder,
                        std::optional<std::chrono::milliseconds> after = std::nullopt);

    // engine_watch.cc
    // Starts the folder's watcher (options.watch); without one, or when it
    // fails, the folder is rescanned every rescan_interval instead.
    void start_watching(const FolderPtr& folder);
    void wait_for_changes(const FolderPtr& folder);
    // Reads what the watcher has and arms the scan; false when the watcher
    // failed (the folder is polled from then on).
    bool take_changes(const FolderPtr& folder);

    // engine_progress.cc
    void mark_progress_stale(const FolderPtr& folder);
    void maybe_evaluate(const FolderPtr& folder);
    asio::awaitable<void> evaluate(FolderPtr folder);

    // engine_modes.cc
    using StepMaker = Result<std::vector<engine_detail::PlannedStep>> (*)(
        Store&, const std::string&, const std::vector<std::string>&, ShortId);
    // Hands the steps `make_steps` decides for the folder's listed paths
    // (needs_override or local_changes) to the pull, if the folder has `required` mode.
    Result<void> force_steps(const std::string& folder_id, FolderMode required, const char* verb,
                             StepMaker make_steps);
    Result<void> override_folder(const std::string& folder_id);
    Result<void> revert_folder(const std::string& folder_id);
};

}  // namespace ferry
