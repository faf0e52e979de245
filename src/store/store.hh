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
#include "core/types.hh"

namespace ferry {

enum class FolderMode : std::uint8_t { send_receive = 0, send_only = 1, receive_only = 2 };

const char* folder_mode_name(FolderMode mode);  // "send-receive", ...
Result<FolderMode> parse_folder_mode(std::string_view text);

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
    // Opens (creating if needed) the database at `path`; ":memory:" for tests.
    static Result<std::unique_ptr<Store>> open(const std::string& path);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

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
    // Removes the folder and every record of it (not the files on disk).
    Result<void> remove_folder(std::string_view id);

    // Stored entries directly inside directory `parent` ("" is the root),
    // including tombstones, sorted by name.
    Result<std::vector<StoredEntry>> children(std::string_view folder_id, std::string_view parent);

    // The full record of one path, or nullopt when the index has none.
    Result<std::optional<FileRecord>> get_file(std::string_view folder_id, std::string_view path);

    // Writes new versions of records in one transaction (all or none), giving
    // each the folder's next local sequence (written back into
    // update.record.sequence once committed). Records with unchanged chunk
    // lists keep their chunk-lookup rows.
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

    Result<FolderStats> folder_stats(std::string_view folder_id);

private:
    struct Impl;
    explicit Store(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace ferry
