// Store: pending targets, the records sync steps are about to put on disk
// (Store::put_pending_targets, migration 3).
#include <string>

#include "store/store_impl.hh"

namespace ferry {

namespace {

using sqlite::ResetOnExit;
using sqlite::Transaction;
using store::check_path;
using store::error_of;
using store::split_path;

// The columns read_record() expects; a pending target has no sequence yet.
constexpr const char* k_pending_columns =
    "parent, name, kind, size, mtime_ns, mode, deleted, version, chunks, symlink_target, 0, "
    "modified_by";

}  // namespace

Result<void> store::prepare_pending_statements(store::State& impl) {
    const store::StatementSpec statements[] = {
        {&impl.any_pending, "SELECT 1 FROM pending_targets WHERE folder = ? LIMIT 1",
         "look for pending targets"},
        {&impl.drop_pending, "DELETE FROM pending_targets WHERE folder = ? AND parent = ? AND name = ?",
         "drop a pending target"},
    };
    return store::prepare_all(*impl.db, statements);
}

Result<void> store::drop_pending_of(store::State& impl, std::int64_t folder,
                                    std::span<const FileUpdate> updates) {
    {
        ResetOnExit reset(impl.any_pending);
        impl.any_pending.bind_int(1, folder);
        auto row = impl.any_pending.step();
        if (!row) return error_of(row);
        if (!*row) return {};
    }
    for (const FileUpdate& update : updates) {
        const auto parts = split_path(update.record.path);
        impl.drop_pending.bind_int(1, folder);
        impl.drop_pending.bind_text(2, parts.parent);
        impl.drop_pending.bind_text(3, parts.name);
        if (auto ok = impl.drop_pending.run(); !ok) return ok;
    }
    return {};
}

Result<void> Store::put_pending_targets(std::string_view folder_id,
                                        std::span<const FileRecord> targets) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    const std::string purpose = "store the pending targets of folder '" + std::string(folder_id) + "'";
    auto txn = Transaction::begin(*impl.db, purpose);
    if (!txn) return error_of(txn);
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    // Parameter 11, bind_record's sequence, is left out: a target has none yet.
    auto write = impl.db->prepare(
        "INSERT OR REPLACE INTO pending_targets (folder, parent, name, kind, size, mtime_ns, mode, "
        "deleted, version, symlink_target, modified_by, chunks) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?12, ?13)",
        purpose);
    if (!write) return error_of(write);
    for (const FileRecord& target : targets) {
        if (auto ok = check_path(impl.db->path(), folder_id, target.path); !ok) return ok;
        const auto parts = split_path(target.path);
        write->bind_int(1, folder->rowid);
        write->bind_text(2, parts.parent);
        write->bind_text(3, parts.name);
        store::bind_record(*write, 4, target, 0);
        write->bind_blob(13, encode_chunk_list(target.chunks));
        if (auto ok = write->run(); !ok) return ok;
    }
    return txn->commit();
}

Result<std::vector<FileRecord>> Store::pending_targets(std::string_view folder_id) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    auto read = impl.db->prepare(std::string("SELECT ") + k_pending_columns +
                                     " FROM pending_targets WHERE folder = ? ORDER BY parent, name",
                                 "read the pending targets of folder '" + std::string(folder_id) + "'");
    if (!read) return error_of(read);
    read->bind_int(1, folder->rowid);
    std::vector<FileRecord> out;
    for (;;) {
        auto record = store::step_record(impl, *read, folder_id);
        if (!record) return error_of(record);
        if (!*record) return out;
        out.push_back(std::move(**record));
    }
}

Result<void> Store::drop_pending_targets(std::string_view folder_id,
                                         std::span<const std::string> paths) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto txn = Transaction::begin(*impl.db, "drop pending targets of folder '" +
                                                std::string(folder_id) + "'");
    if (!txn) return error_of(txn);
    for (const std::string& path : paths) {
        if (auto ok = store::bind_path(impl, impl.drop_pending, folder_id, path); !ok) return ok;
        if (auto ok = impl.drop_pending.run(); !ok) return ok;
    }
    return txn->commit();
}

}  // namespace ferry
