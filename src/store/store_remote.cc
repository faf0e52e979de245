// Store: what each peer announced of each folder, and how far its index has
// been received.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/path_rules.hh"
#include "store/store_impl.hh"

namespace ferry {

namespace {

using sqlite::ResetOnExit;
using sqlite::Statement;
using sqlite::Transaction;
using store::check_path;
using store::error_of;
using store::split_path;

// The columns read_record() expects (the order of k_record_columns), from
// announced and its chunk lists.
constexpr const char* k_announced_columns =
    "parent, name, kind, size, mtime_ns, mode, deleted, version, announced_chunk_lists.chunks, "
    "symlink_target, sequence, modified_by";
constexpr const char* k_announced_tables =
    "announced LEFT JOIN announced_chunk_lists ON announced_chunk_lists.id = announced.chunk_list";

// Writes one record as `device`'s latest for its path, inside the caller's
// transaction. The chunk list row is kept (and rewritten only when it
// changed), made or deleted as the record needs.
Result<void> put_one(store::State& impl, std::int64_t folder, std::int64_t device,
                     std::string_view folder_id, const FileRecord& record) {
    if (auto ok = check_path(impl.db->path(), folder_id, record.path); !ok) return ok;
    const auto parts = split_path(record.path);
    const std::string chunk_blob = encode_chunk_list(record.chunks);

    std::int64_t list = 0;  // announced_chunk_lists.id; 0: none (SQLite's ids start at 1)
    bool list_unchanged = false;
    {
        ResetOnExit reset(impl.announced_key);
        impl.announced_key.bind_int(1, folder);
        impl.announced_key.bind_text(2, parts.parent);
        impl.announced_key.bind_text(3, parts.name);
        impl.announced_key.bind_int(4, device);
        auto row = impl.announced_key.step();
        if (!row) return error_of(row);
        if (*row && !impl.announced_key.column_is_null(0)) {
            list = impl.announced_key.column_int(0);
            list_unchanged = std::ranges::equal(impl.announced_key.column_blob(1),
                                                bytes_of(chunk_blob));
        }
    }
    if (record.chunks.empty()) {
        if (list != 0) {
            impl.delete_announced_chunks.bind_int(1, list);
            if (auto ok = impl.delete_announced_chunks.run(); !ok) return ok;
            list = 0;
        }
    } else if (list == 0) {
        ResetOnExit reset(impl.insert_announced_chunks);
        impl.insert_announced_chunks.bind_blob(1, chunk_blob);
        auto row = impl.insert_announced_chunks.step();
        if (!row) return error_of(row);
        list = impl.insert_announced_chunks.column_int(0);
    } else if (!list_unchanged) {
        impl.update_announced_chunks.bind_blob(1, chunk_blob);
        impl.update_announced_chunks.bind_int(2, list);
        if (auto ok = impl.update_announced_chunks.run(); !ok) return ok;
    }

    Statement& write = impl.upsert_announced;
    write.bind_int(1, folder);
    write.bind_text(2, parts.parent);
    write.bind_text(3, parts.name);
    write.bind_int(4, device);
    store::bind_record(write, 5, record, record.sequence.value);
    if (list != 0) {
        write.bind_int(14, list);
    } else {
        write.bind_null(14);
    }
    return write.run();
}

std::int64_t device_bits(ShortId device) { return static_cast<std::int64_t>(device.value); }

}  // namespace

Result<void> store::prepare_remote_statements(store::State& impl) {
    const std::string select_records =
        std::string("SELECT ") + k_announced_columns + " FROM " + k_announced_tables;
    const store::StatementSpec statements[] = {
        {&impl.announced_key,
         "SELECT chunk_list, announced_chunk_lists.chunks FROM " + std::string(k_announced_tables) +
             " WHERE folder = ? AND parent = ? AND name = ? AND device = ?",
         "look up an announced record"},
        {&impl.upsert_announced,
         "INSERT INTO announced (folder, parent, name, device, kind, size, mtime_ns, mode, "
         "deleted, version, symlink_target, sequence, modified_by, chunk_list) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) "
         "ON CONFLICT (folder, parent, name, device) DO UPDATE SET kind = excluded.kind, "
         "size = excluded.size, mtime_ns = excluded.mtime_ns, mode = excluded.mode, "
         "deleted = excluded.deleted, version = excluded.version, "
         "symlink_target = excluded.symlink_target, sequence = excluded.sequence, "
         "modified_by = excluded.modified_by, chunk_list = excluded.chunk_list",
         "store an announced record"},
        {&impl.insert_announced_chunks,
         "INSERT INTO announced_chunk_lists (chunks) VALUES (?) RETURNING id",
         "store an announced chunk list"},
        {&impl.update_announced_chunks, "UPDATE announced_chunk_lists SET chunks = ? WHERE id = ?",
         "replace an announced chunk list"},
        {&impl.delete_announced_chunks, "DELETE FROM announced_chunk_lists WHERE id = ?",
         "drop an announced chunk list"},
        {&impl.announced_versions,
         "SELECT device, " + std::string(k_announced_columns) + " FROM " + k_announced_tables +
             " WHERE folder = ? AND parent = ? AND name = ? ORDER BY device",
         "read the announced versions of a path"},
        {&impl.announced_file,
         select_records + " WHERE folder = ? AND parent = ? AND name = ? AND device = ?",
         "read an announced record"},
        {&impl.announced_names,
         "SELECT DISTINCT name FROM announced WHERE folder = ? AND parent = ? ORDER BY name",
         "read the names peers announced in a directory"},
        {&impl.peer_state,
         "SELECT index_id, max_sequence FROM peer_index_states WHERE folder = ? AND device = ?",
         "read a peer's index state"},
        {&impl.set_peer_state,
         "INSERT INTO peer_index_states (folder, device, index_id, max_sequence) "
         "VALUES (?, ?, ?, ?) ON CONFLICT (folder, device) DO UPDATE SET "
         "index_id = excluded.index_id, max_sequence = excluded.max_sequence",
         "store a peer's index state"},
    };
    return store::prepare_all(*impl.db, statements);
}

Result<PeerIndexState> Store::peer_index_state(std::string_view folder_id, ShortId device) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    ResetOnExit reset(impl.peer_state);
    impl.peer_state.bind_int(1, folder->rowid);
    impl.peer_state.bind_int(2, device_bits(device));
    auto row = impl.peer_state.step();
    if (!row) return error_of(row);
    if (!*row) return PeerIndexState{};
    return PeerIndexState{static_cast<std::uint64_t>(impl.peer_state.column_int(0)),
                          Sequence{impl.peer_state.column_int(1)}};
}

Result<void> Store::put_announced(std::string_view folder_id, ShortId device,
                                  std::span<const FileRecord> records, PeerIndexState state) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    const std::string purpose = "store the index of folder '" + std::string(folder_id) +
                                "' announced by device " + store::id_text(device.value);
    auto txn = Transaction::begin(*impl.db, purpose);
    if (!txn) return error_of(txn);
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    for (const auto& record : records) {
        if (auto ok = put_one(impl, folder->rowid, device_bits(device), folder_id, record); !ok)
            return ok;
    }
    impl.set_peer_state.bind_int(1, folder->rowid);
    impl.set_peer_state.bind_int(2, device_bits(device));
    impl.set_peer_state.bind_int(3, static_cast<std::int64_t>(state.index_id));
    impl.set_peer_state.bind_int(4, state.max_sequence.value);
    if (auto ok = impl.set_peer_state.run(); !ok) return ok;
    return txn->commit();
}

Result<void> Store::drop_announced(std::string_view folder_id, ShortId device) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto& db = *impl.db;
    const std::string purpose = "forget the index of folder '" + std::string(folder_id) +
                                "' announced by device " + store::id_text(device.value);
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    // The chunk lists first, while the rows naming them still exist.
    for (const char* sql : {"DELETE FROM announced_chunk_lists WHERE id IN (SELECT chunk_list "
                            "FROM announced WHERE folder = ?1 AND device = ?2)",
                            "DELETE FROM announced WHERE folder = ?1 AND device = ?2",
                            "DELETE FROM peer_index_states WHERE folder = ?1 AND device = ?2"}) {
        auto stmt = db.prepare(sql, purpose);
        if (!stmt) return error_of(stmt);
        stmt->bind_int(1, folder->rowid);
        stmt->bind_int(2, device_bits(device));
        if (auto ok = stmt->run(); !ok) return ok;
    }
    return txn->commit();
}

Result<std::vector<AnnouncedRecord>> Store::announced_versions(std::string_view folder_id,
                                                               std::string_view path) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    ResetOnExit reset(impl.announced_versions);
    if (auto ok = store::bind_path(impl, impl.announced_versions, folder_id, path); !ok)
        return error_of(ok);
    std::vector<AnnouncedRecord> out;
    for (;;) {
        auto row = impl.announced_versions.step();
        if (!row) return error_of(row);
        if (!*row) break;
        auto record = store::read_record(impl, impl.announced_versions, 1, folder_id);
        if (!record) return error_of(record);
        out.push_back(AnnouncedRecord{
            ShortId{static_cast<std::uint64_t>(impl.announced_versions.column_int(0))},
            std::move(*record)});
    }
    return out;
}

Result<std::vector<std::string>> Store::announced_names(std::string_view folder_id,
                                                        std::string_view parent) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    ResetOnExit reset(impl.announced_names);
    impl.announced_names.bind_int(1, folder->rowid);
    impl.announced_names.bind_text(2, parent);
    std::vector<std::string> names;
    for (;;) {
        auto row = impl.announced_names.step();
        if (!row) return error_of(row);
        if (!*row) break;
        names.emplace_back(impl.announced_names.column_text(0));
    }
    return names;
}

Result<std::optional<FileRecord>> Store::announced_file(std::string_view folder_id, ShortId device,
                                                        std::string_view path) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    ResetOnExit reset(impl.announced_file);
    if (auto ok = store::bind_path(impl, impl.announced_file, folder_id, path); !ok)
        return error_of(ok);
    impl.announced_file.bind_int(4, device_bits(device));
    return store::step_record(impl, impl.announced_file, folder_id);
}

}  // namespace ferry
