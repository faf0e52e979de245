// Internals shared by store.cc (folders, settings, scans), store_files.cc
// (file records and the chunk lookup), store_peers.cc (devices, revocations,
// invites), store_remote.cc (what peers announced) and store_versions.cc
// (whole-folder walks over both). Not part of the store's interface.
// Thread rule: every member is used only with `mutex` held.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/bytes.hh"
#include "store/chunked_file_cache.hh"
#include "store/sqlite.hh"
#include "store/store.hh"

namespace ferry::store {

template <class T>
tl::unexpected<Error> error_of(const Result<T>& result) {
    return tl::unexpected(result.error());
}

// Records read per lock hold by the paged walks (for_each_file, ...).
inline constexpr std::int64_t k_page_rows = 1000;

// A folder-relative path as stored: the directory holding it and its name.
struct PathParts {
    std::string_view parent;  // "" for the root
    std::string_view name;
};

inline PathParts split_path(std::string_view path) {
    const auto slash = path.rfind('/');
    if (slash == std::string_view::npos) return {{}, path};
    return {path.substr(0, slash), path.substr(slash + 1)};
}

// invalid_argument, naming the database and folder, unless `path` is a
// relative path with a last component.
Result<void> check_path(const std::string& db_path, std::string_view folder_id,
                        std::string_view path);

// 16 lower-case hex digits: how messages name a device (ShortId, key prefix),
// as VersionVector's human form does.
std::string id_text(std::uint64_t value);

// Store::Impl is private to Store; its state lives in this base so that the
// helper functions of both source files can take it.
struct State {
    std::mutex mutex;
    std::unique_ptr<sqlite::Database> db;  // declared before the statements: outlives them
    int schema_version = 0;

    // The chunk-lookup era new rows go to, and how many rows it holds
    // (see the chunks table in migrations.cc). Only a balancing hint: if a
    // transaction rolls back, the count may be off, which is harmless.
    std::int64_t chunk_era = 0;
    std::int64_t chunk_era_rows = 0;
    // find_chunk's decoded chunk lists; put_file and remove_folder keep it true.
    ChunkedFileCache chunked_files;
    // The highest files.id given out. Ids of a rolled-back batch are not
    // reused; gaps are harmless.
    std::int64_t last_file_id = 0;

    // Statements used on every batch or lookup: prepared once at open.
    sqlite::Statement folder_row;
    sqlite::Statement set_folder_sequence;
    sqlite::Statement file_key;
    sqlite::Statement insert_file;
    sqlite::Statement update_file;
    sqlite::Statement insert_chunk;
    sqlite::Statement delete_chunk;
    sqlite::Statement delete_file_chunks;
    sqlite::Statement write_chunk_list;
    sqlite::Statement delete_chunk_list;
    sqlite::Statement children;
    sqlite::Statement entry;
    sqlite::Statement get_file;
    sqlite::Statement files_since;
    sqlite::Statement files_page;
    sqlite::Statement chunk_probe;
    sqlite::Statement chunk_file;
    // Remote indexes (store_remote.cc).
    sqlite::Statement announced_key;
    sqlite::Statement upsert_announced;
    sqlite::Statement insert_announced_chunks;
    sqlite::Statement update_announced_chunks;
    sqlite::Statement delete_announced_chunks;
    sqlite::Statement announced_versions;
    sqlite::Statement announced_file;
    sqlite::Statement announced_names;
    // Whole-folder walks (store_versions.cc).
    sqlite::Statement file_versions_page;
    sqlite::Statement announced_versions_page;
    sqlite::Statement peer_state;
    sqlite::Statement set_peer_state;
    // Pending targets (store_pending.cc).
    sqlite::Statement any_pending;
    sqlite::Statement drop_pending;

    struct FolderRow {
        std::int64_t rowid = 0;
        std::int64_t sequence = 0;
    };
    // The folder's row, or not_found naming the database and the folder id.
    Result<FolderRow> folder(std::string_view folder_id);

    Error corrupt(std::string_view folder_id, std::string_view path, std::string_view what) const;
};

// Rows of file records are read with this column list, in this order, from
// k_record_tables.
inline constexpr const char* k_record_columns =
    "parent, name, kind, size, mtime_ns, mode, deleted, version, chunk_lists.chunks, "
    "symlink_target, sequence, modified_by";
inline constexpr const char* k_record_tables =
    "files LEFT JOIN chunk_lists ON chunk_lists.file = files.id";

// Decodes a row selected with k_record_columns starting at column `first`.
Result<FileRecord> read_record(const State& impl, const sqlite::Statement& row, int first,
                               std::string_view folder_id);

// Binds the record's columns from kind to modified_by, in the order of
// k_record_columns (without the chunks), to parameters `first`..`first` + 8;
// `sequence` is the one the record is stored with.
void bind_record(sqlite::Statement& write, int first, const FileRecord& record,
                 std::int64_t sequence);

// Binds ?1 to the folder's row id and ?2, ?3 to the parent and name of
// `path`: how the statements that look up one path are keyed. not_found when
// there is no such folder.
Result<void> bind_path(State& impl, sqlite::Statement& stmt, std::string_view folder_id,
                       std::string_view path);
// The same, for a folder already looked up.
void bind_path(sqlite::Statement& stmt, std::int64_t folder_rowid, std::string_view path);

// Steps `stmt` once: the record its row holds from column 0 on, or nullopt
// when it has none.
Result<std::optional<FileRecord>> step_record(const State& impl, sqlite::Statement& stmt,
                                              std::string_view folder_id);

// A statement prepared once at open, into the member `stmt` points to.
struct StatementSpec {
    sqlite::Statement* stmt;
    std::string sql;
    const char* purpose;
};
Result<void> prepare_all(sqlite::Database& db, std::span<const StatementSpec> specs);

// Where the next page of a keyset-paged walk starts: past this key.
struct PageKey {
    std::string parent;
    std::string name;
    std::int64_t device = 0;  // only for statements keyed by device too
};

// Reads the page of `page` after `after` under the lock, appending a value
// per row (made by `read`) to `out` and moving `after` to the last row.
// `page` takes ?1 the folder's row id, ?2 and ?3 the parent and name, then
// ?4 the device when `device_column` >= 0, then the page size; it returns
// the parent and name as columns 0 and 1, and the device as `device_column`.
template <class Value, class Read>
Result<void> read_page(State& impl, sqlite::Statement& page, std::string_view folder_id,
                       int device_column, PageKey& after, const Read& read,
                       std::vector<Value>& out) {
    std::lock_guard lock(impl.mutex);
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    sqlite::ResetOnExit reset(page);
    page.bind_int(1, folder->rowid);
    page.bind_text(2, after.parent);
    page.bind_text(3, after.name);
    int next = 4;
    if (device_column >= 0) page.bind_int(next++, after.device);
    page.bind_int(next, k_page_rows);
    for (;;) {
        auto row = page.step();
        if (!row) return error_of(row);
        if (!*row) return {};
        after.parent = page.column_text(0);
        after.name = page.column_text(1);
        if (device_column >= 0) after.device = page.column_int(device_column);
        auto value = read(std::as_const(page));
        if (!value) return error_of(value);
        out.push_back(std::move(*value));
    }
}

// Walks the rows of `page` (as read_page, without a device) a page per lock
// hold, so that a long walk never blocks the store for long. `read` makes a
// value of each row under the lock; `fn` is called on each value outside
// it, as it may call the store.
template <class Read, class Fn>
Result<void> for_each_paged(State& impl, sqlite::Statement& page, std::string_view folder_id,
                            const Read& read, const Fn& fn) {
    using Value = typename std::invoke_result_t<Read&, const sqlite::Statement&>::value_type;
    PageKey after;
    for (;;) {
        std::vector<Value> values;
        if (auto ok = read_page(impl, page, folder_id, -1, after, read, values); !ok) return ok;
        if (values.empty()) return {};
        for (const auto& value : values) {
            if (auto ok = fn(value); !ok) return ok;
        }
    }
}

// Prepares the file and chunk statements (store_files.cc) and loads the era state.
Result<void> prepare_file_statements(State& impl);
// Prepares the statements of the remote indexes (store_remote.cc).
Result<void> prepare_remote_statements(State& impl);
// Prepares the statements of the whole-folder walks (store_versions.cc).
Result<void> prepare_version_statements(State& impl);
// Prepares the statements of the pending targets (store_pending.cc).
Result<void> prepare_pending_statements(State& impl);
// Inside the caller's transaction: deletes the pending targets of the
// updates' paths (their records are being stored).
Result<void> drop_pending_of(State& impl, std::int64_t folder, std::span<const FileUpdate> updates);

}  // namespace ferry::store

namespace ferry {
struct Store::Impl : store::State {};
}  // namespace ferry
