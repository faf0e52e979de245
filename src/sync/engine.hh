// The sync engine: keeps every folder of this device in step with the same
// folder on each connected peer (DESIGN.md "Sync rules", proto/messages.md
// for the exchange).
//
// Per connection: both sides send a ClusterConfig (and again whenever the
// cluster or this device's folders change); then, per folder both
// have, each sends the records of its index newer than what the other said
// it has (or everything, if the other has another index id of it), in
// IndexUpdates of at most 1,000 records, then every new local change as it
// is indexed. A changed file's chunk list goes as a delta against the
// recipient's announced record when that is shorter. Received records are
// checked (core/path_rules: a refused name is reported for that path in
// status() and the rest goes on) and stored as that peer's announced
// version; the paths they touch are planned (core/planner.hh) and the steps
// applied through the FolderWriter on a worker thread. A file's missing
// chunks are requested from the peers listed as sources, spread across
// them (connected devices before relay links, net/connection.hh relayed()),
// with at most `pull_window_bytes` requested and not yet written at a
// time; each chunk is verified before it is written. Chunk requests from
// peers are answered from local files (verified again before sending,
// zstd-compressed when smaller).
//
// Each folder is scanned `watch_delay` after its watcher reports a change,
// every `watched_rescan_interval` as a safety net, and on request_scan(); a
// folder without a watcher is rescanned every `rescan_interval`. New local
// records are then sent to every connected peer.
//
// Thread rule: the engine lives on one io_context thread, which owns all
// its state; scans, hashing and disk writes run on `workers` (a thread pool,
// or the io_context itself in the simulation) and post their
// results back. status() and the other public methods must be called on the
// io_context thread (the control socket runs there).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>

#include "core/error.hh"
#include "crypto/device_id.hh"
#include "fs/filesystem.hh"
#include "fs/scanner.hh"
#include "fs/watcher.hh"
#include "net/clock.hh"
#include "net/connection.hh"
#include "store/store.hh"

namespace ferry {

struct EngineOptions {
    DeviceId local_device;
    std::chrono::milliseconds rescan_interval{60'000};
    std::size_t pull_window_bytes = 32u << 20;
    std::int64_t version_retention_ns = 30LL * 24 * 3600 * 1'000'000'000;
    // How long a chunk request may go unanswered before the chunk is asked
    // of the next source: a peer that stays connected but never answers
    // (overloaded, buggy or hostile) would otherwise stall the file until
    // its connection closes. A late answer is then ignored.
    std::chrono::milliseconds request_timeout{60'000};
    // Starts watching a folder (fs/watcher.hh); empty: folders are polled.
    std::function<Result<std::unique_ptr<Watcher>>(const Folder&)> watch;
    // A watched folder's periodic rescan: a safety net only.
    std::chrono::milliseconds watched_rescan_interval{3'600'000};
    // After a watcher reports a change, how long until the scan, so that a
    // burst of changes becomes one scan.
    std::chrono::milliseconds watch_delay{100};
    // Threads a scan walks and hashes with; 0: one per core. The simulation
    // uses 1, so that a scan indexes what it finds in one order.
    unsigned scan_threads = 0;
    // When a folder is quiet and its state has been compared with the
    // devices', hand the memory the process freed back to the OS (glibc
    // malloc_trim). The simulation turns it off: its engines share one
    // heap, and trimming it after each of their many evaluations took
    // half of its time.
    bool release_memory_when_quiet = true;
};

// Opens the Filesystem for a folder (POSIX for the daemon, memory in tests).
using FilesystemFactory = std::function<Result<std::unique_ptr<Filesystem>>(const Folder&)>;

struct PathProblem {
    std::string path;
    std::string message;
};

struct DeviceProgress {
    DeviceId device;
    bool connected = false;
    bool relayed = false;       // reached through a relay's mailboxes; not waited for
    double completion = 100.0;  // % of the global state the device has (by bytes and entries)
    bool in_sync = false;       // it has announced exactly our records
};

struct FolderStatus {
    std::string id;
    FolderMode mode = FolderMode::send_receive;
    std::string state;                // "idle", "scanning", "syncing", "paused", "error"
    // While scanning: how far (0..100), or nullopt when it cannot be told
    // yet (a first scan still walking); and the entries looked at so far.
    std::optional<double> scan_completion;
    std::uint64_t scan_entries = 0;
    std::uint64_t need_files = 0;     // steps still to do
    std::uint64_t need_bytes = 0;     // bytes still to fetch or copy
    double receive_rate = 0;          // bytes/s fetched from peers over the last seconds
    std::optional<double> seconds_left;  // need_bytes at that rate; nullopt: nothing moving
    std::vector<DeviceProgress> devices;
    std::vector<PathProblem> problems;  // refused names, failed writes, scan issues
    std::vector<std::string> local_changes;  // receive-only: local changes not sent
    bool needs_override = false;        // send-only: peers have other versions
    std::string error;                  // folder-level failure (root missing, ...)
};

// What one requested scan found: the scanner's counts and the entries it
// could not index, or why the folder could not be scanned.
struct FolderScan {
    std::string folder_id;
    Result<ScanResult> result;
};
using ScanDone = std::function<void(std::vector<FolderScan>)>;

struct EngineStatus {
    std::vector<FolderStatus> folders;
    // Every folder idle with nothing needed, and every connected device in
    // sync on every shared folder (what `ferry status --wait` waits for).
    // Paused folders do not count.
    bool in_sync = false;
};

class Engine {
public:
    Engine(asio::io_context& io, asio::any_io_executor workers, Store& store,
           FilesystemFactory filesystems, const Clock& clock, EngineOptions options);
    ~Engine();

    // Loads folders and starts their scan timers (first scan at once).
    Result<void> start();
    // A trusted peer's connection: runs the exchange until it closes.
    void add_connection(std::shared_ptr<Connection> connection,
                        std::function<wire::ClusterConfig()> cluster_config,
                        std::function<void(const wire::ClusterConfig&)> on_cluster_config);
    // Rescans now (all folders when `folder_id` is empty), taking even files
    // modified a moment ago (a periodic scan of a polled folder leaves them
    // for a moment, as still being written).
    void request_scan(const std::string& folder_id);
    // As above, and calls `done` (later, on the io thread) once each folder
    // has finished a scan that started after this call (so a change made
    // before it is in the index), one FolderScan per folder. A scan waits
    // for a pull in progress; an unknown `folder_id`, a folder removed or a
    // stopping engine give that folder an error.
    void request_scan(const std::string& folder_id, ScanDone done);
    // Folders were added or removed in the store: (re)load them, start or
    // stop exchanging them with connected peers, and tell the peers.
    Result<void> reload_folders();
    // New options (a configuration reload: rescan interval, version
    // retention, watcher; `local_device` must stay the same): every folder
    // starts again with them (its watcher, timers and a scan), as if it had
    // been removed and added back, without forgetting its index.
    Result<void> reconfigure(EngineOptions options);
    // The cluster (devices, their addresses, revocations: what the
    // connections' cluster_config functions describe) changed: sends a fresh
    // ClusterConfig to every connected peer, on the connections it has.
    void cluster_changed();
    // `ferry folder override`: send-only, make peers take the local versions.
    Result<void> override_folder(const std::string& folder_id);
    // `ferry folder revert`: receive-only, put back the global versions.
    Result<void> revert_folder(const std::string& folder_id);
    // `ferry pause` / `ferry resume`: a paused folder is neither scanned nor
    // pulled (its watcher's reports and peers' updates wait; chunk requests
    // from peers are still answered) until resumed, which scans it at once.
    // Remembered in the store across restarts. not_found for an unknown id.
    Result<void> set_paused(const std::string& folder_id, bool paused);

    EngineStatus status() const;
    // Calls `fn` once status().in_sync has become true (at once if it is).
    void when_in_sync(std::function<void()> fn);

    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace ferry
