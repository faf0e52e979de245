// The index: ferry's SQLite store of folders, file records and chunks.
//
// Nothing outside src/store speaks SQL. The database runs in WAL mode; every
// write happens in a transaction, so a crash leaves either the old or the new
// state. The schema is a list of numbered migrations embedded in the binary
// (src/store/migrations.cc); opening a database applies the missing ones, and
// refuses (Errc::too_new) a database written by a newer ferry.
//
// Thread rule: a Store owns one connection guarded by a mutex; every method
// may be called from any thread. Methods return errors as values naming the
// database path and what failed.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "core/file_record.hh"
#include "core/folder_mode.hh"
#include "core/types.hh"

namespace ferry {

struct Folder {
    std::string id;    // user-visible folder id (same on every device)
    std::string path;  // absolute local path
    FolderMode mode = FolderMode::send_receive;
    friend bool operator==(const Folder&, const Folder&) = default;
};

// What the scanner compares against the disk, without decoding chunk lists.
struct StoredEntry {
    std::string name;  // last path component
    FileKind kind = FileKind::file;
    bool deleted = false;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint32_t mode = 0;
    std::uint64_t inode = 0;  // local only: never synced
    std::string symlink_target;  // symlinks only
    VersionVector version;
};

// A new version of a record together with its local-only state.
struct FileUpdate {
    FileRecord record;        // record.sequence is assigned by the store
    std::uint64_t inode = 0;
};

struct ChunkLocation {
    std::string folder_id;
    std::string path;
    std::uint64_t offset = 0;
    std::uint32_t size = 0;
};

struct ScanIssue {
    std::string path;     // folder-relative
    std::string message;  // what failed and what to do
};

// ---- Peers (schema migration 2): devices, revocations, invites, and what
// each peer has announced of each folder. ----

using KeyBytes = std::array<std::uint8_t, 32>;  // an Ed25519 public key

// A device of the user this device knows of (itself excluded).
struct DeviceRecord {
    KeyBytes key{};                      // Ed25519 public key (device id derives from it)
    std::string certificate;             // encoded DeviceCertificate (crypto/certificate.hh)
    std::string name;
    std::vector<std::string> addresses;  // "host:port", last known first
    std::int64_t last_seen_ns = 0;       // 0: never connected
    std::uint64_t bytes_in = 0;          // totals over all sessions
    std::uint64_t bytes_out = 0;
    friend bool operator==(const DeviceRecord&, const DeviceRecord&) = default;
};

// An invite made by `ferry invite` on this device.
struct InviteRecord {
    std::array<std::uint8_t, 16> id{};
    std::array<std::uint8_t, 32> secret{};
    std::int64_t expires_ns = 0;
    bool used = false;
};

// How far this device has received a peer's index of one folder. The index
// id names one life of that peer's index (a peer whose database was reset
// has a new one, and its sequences start again).
struct PeerIndexState {
    std::uint64_t index_id = 0;  // 0: nothing received yet
    Sequence max_sequence;       // highest of its sequences stored here
    friend bool operator==(const PeerIndexState&, const PeerIndexState&) = default;
};

// A record as a peer announced it.
struct AnnouncedRecord {
    ShortId device;
    FileRecord record;  // record.sequence is the peer's sequence
};

// One path's records: this device's and every peer's, without chunk lists.
struct PathVersions {
    std::string path;
    std::optional<FileRecord> local;         // nullopt: no local record
    std::vector<AnnouncedRecord> announced;  // by device (as a signed integer)
};

struct FolderStats {
    std::uint64_t files = 0;
    std::uint64_t directories = 0;
    std::uint64_t symlinks = 0;
    std::uint64_t deleted = 0;
    std::uint64_t bytes = 0;     // total size of files
    std::int64_t last_scan_ns = 0;  // 0: never scanned
    Sequence sequence;           // highest local sequence
    std::vector<ScanIssue> issues;  // from the last scan
};

class Store {
public:
    // Opens (creating if needed) the database at `path`; ":memory:" for tests,
    // or an SQLite URI such as "file:NAME?mode=memory&cache=shared" (an
    // in-memory database that outlives the Store while another connection
    // holds it open: the crash simulation's).
    static Result<std::unique_ptr<Store>> open(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    // Test support (the crash simulation: tests/support/crashable_store.hh).
    // `allow` runs at each commit of a write on this store's connection,
    // inside SQLite and with the store's lock held (so it must not use the
    // store), before the commit happens; when it returns false the commit
    // becomes a rollback and the write fails with Errc::io. Empty (the
    // default): no check.
    void set_commit_check(std::function<bool()> allow);

    // The schema version of this database (the number of the last migration).
    int schema_version() const;
    // The newest schema version this build knows.
    static int latest_schema_version();

    // Small settings (device name, ...).
    Result<std::optional<std::string>> get_setting(std::string_view key);
    Result<void> set_setting(std::string_view key, std::string_view value);

    // Folders. add_folder fails with already_exists for a taken id or path.
    Result<void> add_folder(const Folder& folder);
    Result<std::vector<Folder>> folders();
    Result<std::optional<Folder>> folder(std::string_view id);
    // Removes the folder and every record of it, its peers' announced records
    // and index states included (not the files on disk).
    Result<void> remove_folder(std::string_view id);
    // Changes a folder's mode, keeping its records (not_found: no such folder).
    Result<void> set_folder_mode(std::string_view id, FolderMode mode);

    // Stored entries directly inside directory `parent` ("" is the root),
    // including tombstones, sorted by name.
    Result<std::vector<StoredEntry>> children(std::string_view folder_id, std::string_view parent);
    // The stored entry (live or tombstone) of one path, as children() gives
    // it; nullopt when the index has none.
    Result<std::optional<StoredEntry>> entry(std::string_view folder_id, std::string_view path);

    // The full record of one path, or nullopt when the index has none.
    Result<std::optional<FileRecord>> get_file(std::string_view folder_id, std::string_view path);

    // Per path, the full local record (nullopt: none), all read in one
    // transaction: what absorbing a peer's index compares, record by record.
    Result<std::vector<std::optional<FileRecord>>> files_at(std::string_view folder_id,
                                                            std::span<const std::string> paths);

    // Writes new versions of records in one transaction (all or none), giving
    // each the folder's next local sequence (written back into
    // update.record.sequence once committed). Records with unchanged chunk
    // lists keep their chunk-lookup rows. The pending target of each path
    // written is dropped in the same transaction.
    Result<void> put_files(std::string_view folder_id, std::span<FileUpdate> updates);

    // Records with sequence > `after`, in sequence order, at most `limit`.
    Result<std::vector<FileRecord>> files_since(std::string_view folder_id, Sequence after,
                                                std::size_t limit);

    // Calls `fn` for every record of the folder (no particular order);
    // stops early and returns its error if `fn` fails. Reads in pages and
    // calls `fn` without holding the store's lock, so `fn` may call the
    // store; records written meanwhile may be seen in either state.
    Result<void> for_each_file(std::string_view folder_id,
                               const std::function<Result<void>(const FileRecord&)>& fn);

    // Local places that hold a chunk with this hash (at most `limit`).
    Result<std::vector<ChunkLocation>> find_chunk(const ChunkHash& hash, std::size_t limit = 8);

    // Outcome of a finished scan: its time and the files it could not index.
    Result<void> record_scan(std::string_view folder_id, std::int64_t time_ns,
                             std::span<const ScanIssue> issues);
    // Outcome of a scan of some paths only (and what lies beneath them): the
    // issues at or beneath `scope` are replaced by `issues`; the others, and
    // the time of the last full scan, stay. Returns the folder's issues now.
    Result<std::vector<ScanIssue>> record_partial_scan(std::string_view folder_id,
                                                       std::span<const std::string> scope,
                                                       std::span<const ScanIssue> issues);

    Result<FolderStats> folder_stats(std::string_view folder_id);

    // ---- Peers (store_peers.cc) ----

    // Inserts or updates the device with this key (addresses may not be
    // empty or hold a newline: invalid_argument). On update, name,
    // certificate and addresses are replaced; last_seen and byte totals are
    // kept unless the new values are larger (statistics only grow).
    Result<void> put_device(const DeviceRecord& device);
    Result<std::vector<DeviceRecord>> devices();
    Result<std::optional<DeviceRecord>> device(const KeyBytes& key);
    // Errc::not_found when no device has this key.
    Result<void> remove_device(const KeyBytes& key);
    // Records a session's activity: last seen = now_ns (never moving back),
    // totals += the bytes. Errc::not_found for an unknown device.
    Result<void> note_device_activity(const KeyBytes& key, std::int64_t now_ns,
                                      std::uint64_t bytes_in, std::uint64_t bytes_out);

    // Revocations (encoded crypto/certificate.hh Revocation, verified by the
    // caller). Adding one that exists is not an error.
    Result<void> add_revocation(const KeyBytes& device_key, std::string_view encoded);
    Result<std::vector<std::string>> revocations();
    Result<bool> is_revoked(const KeyBytes& device_key);

    Result<void> add_invite(const InviteRecord& invite);
    // Marks the invite used, atomically, if it exists, is unused and expires
    // after now_ns; returns it. Errc::not_found (unknown), Errc::already_exists
    // (used before), Errc::changed (expired), each with a clear message.
    Result<InviteRecord> claim_invite(const std::array<std::uint8_t, 16>& id, std::int64_t now_ns);
    // Looks at an invite without claiming it (nullopt when unknown).
    Result<std::optional<InviteRecord>> invite(const std::array<std::uint8_t, 16>& id);

    // This device's index id for the folder: random, non-zero, made when the
    // folder is added (and for folders added before migration 2).
    Result<std::uint64_t> index_id(std::string_view folder_id);

    // ---- Remote indexes (store_remote.cc) ----

    Result<PeerIndexState> peer_index_state(std::string_view folder_id, ShortId device);
    // In one transaction: stores each record as `device`'s latest for its path
    // (replacing the earlier one) and sets the peer's index state.
    Result<void> put_announced(std::string_view folder_id, ShortId device,
                               std::span<const FileRecord> records, PeerIndexState state);
    // Forgets everything `device` announced for the folder (its index id changed,
    // or it was removed), and its index state.
    Result<void> drop_announced(std::string_view folder_id, ShortId device);
    // Every peer's latest record of one path.
    Result<std::vector<AnnouncedRecord>> announced_versions(std::string_view folder_id,
                                                            std::string_view path);
    Result<std::optional<FileRecord>> announced_file(std::string_view folder_id, ShortId device,
                                                     std::string_view path);
    // The names any peer announced a record of (tombstones included) directly
    // inside directory `parent` ("" is the root), each once, sorted.
    Result<std::vector<std::string>> announced_names(std::string_view folder_id,
                                                     std::string_view parent);
    // Calls `fn` once for every path this device or any peer has a record of
    // in the folder, sorted by (parent directory, name) byte-wise, with all
    // its records (chunk lists left empty: they are not read). Read in pages
    // without holding the lock, as for_each_file, so a walk that races with
    // writes sees each path as it was at some point of the walk
    // (store_versions.cc).
    Result<void> for_each_path_versions(
        std::string_view folder_id, const std::function<Result<void>(const PathVersions&)>& fn);

    // ---- Pending targets (store_pending.cc, schema migration 3) ----
    //
    // Sync's note of what it is about to put on disk: the record a step
    // stores once its change is made (a file renamed into place, a path
    // removed, ...), written before the disk changes. put_files drops it
    // with the record it stores; one that a crash left behind tells the next
    // scan what the disk may hold (fs/pending_targets.hh).

    // Stores `targets` in one transaction, each replacing the path's earlier one.
    Result<void> put_pending_targets(std::string_view folder_id, std::span<const FileRecord> targets);
    // Every pending target of the folder, by path (record.sequence is 0).
    Result<std::vector<FileRecord>> pending_targets(std::string_view folder_id);
    // Forgets the pending targets of `paths`, in one transaction.
    Result<void> drop_pending_targets(std::string_view folder_id, std::span<const std::string> paths);

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace ferry
