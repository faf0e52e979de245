// Internals shared by store.cc (folders, settings, scans), store_files.cc
// (file records and the chunk lookup), store_peers.cc (devices, revocations,
// invites) and store_remote.cc (what peers announced). Not part of the
// store's interface.
// Thread rule: every member is used only with `mutex` held.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

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

inline std::span<const std::uint8_t> bytes_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

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
    sqlite::Statement announced_paths;
    sqlite::Statement peer_state;
    sqlite::Statement set_peer_state;

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

// Prepares the file and chunk statements (store_files.cc) and loads the era state.
Result<void> prepare_file_statements(State& impl);
// Prepares the statements of the remote indexes (store_remote.cc).
Result<void> prepare_remote_statements(State& impl);

}  // namespace ferry::store

namespace ferry {
struct Store::Impl : store::State {};
}  // namespace ferry
