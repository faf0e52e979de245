// Store: file records, their sequences, and the chunk lookup.
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

// Rows per chunk-lookup era (see the chunks table in migrations.cc). Smaller
// eras make inserts cheaper and lookups dearer (one probe per era): at
// 10 million chunks this gives ~80 probes of a few microseconds each.
constexpr std::int64_t k_era_rows = 128 * 1024;

std::int64_t hash_prefix(const ChunkHash& hash) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | hash.bytes[i];
    return static_cast<std::int64_t>(v);
}

// A stored version vector or chunk list, decoded; a blob that does not
// decode makes `path`'s record corrupt.
Result<VersionVector> stored_version(const store::State& impl, std::string_view folder_id,
                                     std::string_view path, std::span<const std::uint8_t> blob) {
    auto version = VersionVector::decode(blob);
    if (!version)
        return tl::unexpected(impl.corrupt(folder_id, path,
                                           "stored version vector does not decode (" +
                                               version.error().message + ")"));
    return version;
}

Result<std::vector<ChunkRef>> stored_chunks(const store::State& impl, std::string_view folder_id,
                                            std::string_view path,
                                            std::span<const std::uint8_t> blob) {
    auto chunks = decode_chunk_list(blob);
    if (!chunks)
        return tl::unexpected(impl.corrupt(folder_id, path,
                                           "stored chunk list does not decode (" +
                                               chunks.error().message + ")"));
    return chunks;
}

}  // namespace

Result<void> store::check_path(const std::string& db_path, std::string_view folder_id,
                               std::string_view path) {
    const auto parts = split_path(path);
    if (parts.name.empty() || path.front() == '/') {
        return fail(Errc::invalid_argument, db_path + ": folder '" + std::string(folder_id) +
                                                "': '" + std::string(path) +
                                                "' is not a folder-relative file path");
    }
    return {};
}

Result<void> store::prepare_file_statements(store::State& impl) {
    auto& db = *impl.db;
    const std::string select_records =
        std::string("SELECT ") + k_record_columns + " FROM " + k_record_tables;
    const store::StatementSpec statements[] = {
        {&impl.file_key,
         "SELECT files.id, chunk_lists.chunks, chunk_lists.era FROM files "
         "LEFT JOIN chunk_lists ON chunk_lists.file = files.id "
         "WHERE folder = ? AND parent = ? AND name = ?",
         "look up a file record"},
        {&impl.insert_file,
         "INSERT INTO files (folder, parent, name, kind, size, mtime_ns, mode, deleted, version, "
         "symlink_target, sequence, modified_by, inode, id) "
         "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
         "insert a file record"},
        {&impl.update_file,
         "UPDATE files SET kind = ?4, size = ?5, mtime_ns = ?6, mode = ?7, deleted = ?8, "
         "version = ?9, symlink_target = ?10, sequence = ?11, modified_by = ?12, inode = ?13 "
         "WHERE folder = ?1 AND parent = ?2 AND name = ?3",
         "update a file record"},
        {&impl.write_chunk_list,
         "INSERT INTO chunk_lists (file, era, chunks) VALUES (?, ?, ?) "
         "ON CONFLICT (file) DO UPDATE SET era = excluded.era, chunks = excluded.chunks",
         "store a chunk list"},
        {&impl.delete_chunk_list, "DELETE FROM chunk_lists WHERE file = ?",
         "drop a chunk list"},
        {&impl.insert_chunk,
         "INSERT INTO chunks (era, hash_prefix, file, chunk_index) VALUES (?, ?, ?, ?)",
         "index a chunk"},
        {&impl.delete_chunk,
         "DELETE FROM chunks WHERE era = ? AND hash_prefix = ? AND file = ? AND chunk_index = ?",
         "forget a replaced chunk"},
        {&impl.delete_file_chunks, "DELETE FROM chunks WHERE file = ?",
         "forget the chunks of a damaged record"},
        {&impl.children,
         "SELECT name, kind, deleted, size, mtime_ns, mode, inode, symlink_target, version "
         "FROM files WHERE folder = ? AND parent = ? ORDER BY name",
         "list a directory"},
        {&impl.entry,
         "SELECT name, kind, deleted, size, mtime_ns, mode, inode, symlink_target, version "
         "FROM files WHERE folder = ? AND parent = ? AND name = ?",
         "read a directory entry"},
        {&impl.get_file, select_records + " WHERE folder = ? AND parent = ? AND name = ?",
         "read a file record"},
        {&impl.files_since,
         select_records + " WHERE folder = ? AND sequence > ? ORDER BY sequence LIMIT ?",
         "read changes since a sequence"},
        {&impl.files_page,
         select_records +
             " WHERE folder = ?1 AND (parent, name) > (?2, ?3) ORDER BY parent, name LIMIT ?4",
         "read a folder's records"},
        {&impl.chunk_probe,
         "SELECT file, chunk_index FROM chunks WHERE era = ? AND hash_prefix = ?",
         "look up a chunk"},
        {&impl.chunk_file,
         "SELECT folders.folder_id, files.parent, files.name, chunk_lists.chunks "
         "FROM chunk_lists JOIN files ON files.id = chunk_lists.file "
         "JOIN folders ON folders.id = files.folder WHERE chunk_lists.file = ?",
         "read the file holding a chunk"},
    };
    if (auto ok = store::prepare_all(db, statements); !ok) return ok;

    auto last_id = db.prepare("SELECT coalesce(max(id), 0) FROM files", "read the last file number");
    if (!last_id) return error_of(last_id);
    if (auto row = last_id->step(); !row) return error_of(row);
    impl.last_file_id = last_id->column_int(0);

    auto era = db.prepare("SELECT era, count(*) FROM chunks WHERE era = (SELECT max(era) FROM chunks)",
                          "read the chunk lookup's era");
    if (!era) return error_of(era);
    auto row = era->step();
    if (!row) return error_of(row);
    impl.chunk_era = era->column_int(0);
    impl.chunk_era_rows = era->column_int(1);
    return {};
}

Result<FileRecord> store::read_record(const store::State& impl, const Statement& row, int first,
                               std::string_view folder_id) {
    FileRecord record;
    record.path = join_path(row.column_text(first), row.column_text(first + 1));
    const auto kind = row.column_int(first + 2);
    if (kind < 0 || kind > static_cast<std::int64_t>(FileKind::symlink)) {
        return tl::unexpected(impl.corrupt(folder_id, record.path, "unknown file kind"));
    }
    record.kind = static_cast<FileKind>(kind);
    record.size = static_cast<std::uint64_t>(row.column_int(first + 3));
    record.mtime_ns = row.column_int(first + 4);
    record.mode = static_cast<std::uint32_t>(row.column_int(first + 5));
    record.deleted = row.column_int(first + 6) != 0;
    auto version = stored_version(impl, folder_id, record.path, row.column_blob(first + 7));
    if (!version) return error_of(version);
    record.version = std::move(*version);
    auto chunks = stored_chunks(impl, folder_id, record.path, row.column_blob(first + 8));
    if (!chunks) return error_of(chunks);
    record.chunks = std::move(*chunks);
    record.symlink_target = std::string(row.column_text(first + 9));
    record.sequence = Sequence{row.column_int(first + 10)};
    record.modified_by = ShortId{static_cast<std::uint64_t>(row.column_int(first + 11))};
    return record;
}

void store::bind_record(Statement& write, int first, const FileRecord& record,
                        std::int64_t sequence) {
    write.bind_int(first, static_cast<std::int64_t>(record.kind));
    write.bind_int(first + 1, static_cast<std::int64_t>(record.size));
    write.bind_int(first + 2, record.mtime_ns);
    write.bind_int(first + 3, record.mode);
    write.bind_int(first + 4, record.deleted ? 1 : 0);
    write.bind_blob(first + 5, record.version.encode());
    write.bind_text(first + 6, record.symlink_target);
    write.bind_int(first + 7, sequence);
    write.bind_int(first + 8, static_cast<std::int64_t>(record.modified_by.value));
}

Result<void> store::bind_path(store::State& impl, Statement& stmt, std::string_view folder_id,
                              std::string_view path) {
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    store::bind_path(stmt, folder->rowid, path);
    return {};
}

void store::bind_path(Statement& stmt, std::int64_t folder_rowid, std::string_view path) {
    const auto parts = split_path(path);
    stmt.bind_int(1, folder_rowid);
    stmt.bind_text(2, parts.parent);
    stmt.bind_text(3, parts.name);
}

Result<std::optional<FileRecord>> store::step_record(const store::State& impl, Statement& stmt,
                                                     std::string_view folder_id) {
    auto row = stmt.step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<FileRecord>();
    auto record = read_record(impl, stmt, 0, folder_id);
    if (!record) return error_of(record);
    return std::optional<FileRecord>(std::move(*record));
}

Result<void> store::prepare_all(sqlite::Database& db, std::span<const StatementSpec> specs) {
    for (const auto& spec : specs) {
        auto stmt = db.prepare(spec.sql, spec.purpose);
        if (!stmt) return error_of(stmt);
        *spec.stmt = std::move(*stmt);
    }
    return {};
}

namespace {

// Removes the chunk rows written for a file's previous chunk list.
Result<void> forget_chunks(store::State& impl, std::int64_t file, std::int64_t era,
                           std::span<const std::uint8_t> old_blob) {
    auto old_chunks = decode_chunk_list(old_blob);
    if (!old_chunks) {
        // The old list is damaged, so its rows cannot be named one by one:
        // scan the table instead. Slow, but it repairs the record.
        impl.delete_file_chunks.bind_int(1, file);
        return impl.delete_file_chunks.run();
    }
    for (std::size_t i = 0; i < old_chunks->size(); ++i) {
        impl.delete_chunk.bind_int(1, era);
        impl.delete_chunk.bind_int(2, hash_prefix((*old_chunks)[i].hash));
        impl.delete_chunk.bind_int(3, file);
        impl.delete_chunk.bind_int(4, static_cast<std::int64_t>(i));
        if (auto ok = impl.delete_chunk.run(); !ok) return ok;
    }
    return {};
}

Result<void> index_chunks(store::State& impl, std::int64_t file, std::int64_t era,
                          std::span<const ChunkRef> chunks) {
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        impl.insert_chunk.bind_int(1, era);
        impl.insert_chunk.bind_int(2, hash_prefix(chunks[i].hash));
        impl.insert_chunk.bind_int(3, file);
        impl.insert_chunk.bind_int(4, static_cast<std::int64_t>(i));
        if (auto ok = impl.insert_chunk.run(); !ok) return ok;
    }
    impl.chunk_era_rows += static_cast<std::int64_t>(chunks.size());
    return {};
}

// Writes one update inside the caller's transaction.
Result<void> put_file(store::State& impl, std::int64_t folder, std::int64_t sequence,
                      std::string_view folder_id, const FileUpdate& update) {
    const FileRecord& record = update.record;
    if (auto ok = check_path(impl.db->path(), folder_id, record.path); !ok) return ok;
    const auto parts = split_path(record.path);
    const std::string chunk_blob = encode_chunk_list(record.chunks);

    std::optional<std::int64_t> file;
    bool chunks_unchanged = false;
    {
        ResetOnExit reset(impl.file_key);
        impl.file_key.bind_int(1, folder);
        impl.file_key.bind_text(2, parts.parent);
        impl.file_key.bind_text(3, parts.name);
        auto row = impl.file_key.step();
        if (!row) return error_of(row);
        if (*row) {
            file = impl.file_key.column_int(0);
            const auto old_blob = impl.file_key.column_blob(1);
            const auto old_era = impl.file_key.column_int(2);
            // Metadata-only changes keep the chunk list and its rows.
            chunks_unchanged = std::ranges::equal(old_blob, bytes_of(chunk_blob));
            if (!chunks_unchanged) {
                if (auto ok = forget_chunks(impl, *file, old_era, old_blob); !ok) return ok;
            }
        }
    }
    if (!chunks_unchanged && impl.chunk_era_rows >= k_era_rows) {
        ++impl.chunk_era;
        impl.chunk_era_rows = 0;
    }
    const std::int64_t era = impl.chunk_era;

    Statement& write = file ? impl.update_file : impl.insert_file;
    if (file && !chunks_unchanged) impl.chunked_files.forget(*file);
    if (!file) {
        file = ++impl.last_file_id;
        write.bind_int(14, *file);
    }
    write.bind_int(1, folder);
    write.bind_text(2, parts.parent);
    write.bind_text(3, parts.name);
    store::bind_record(write, 4, record, sequence);
    write.bind_int(13, static_cast<std::int64_t>(update.inode));
    if (auto ok = write.run(); !ok) return ok;
    if (chunks_unchanged) return {};

    if (record.chunks.empty()) {
        impl.delete_chunk_list.bind_int(1, *file);
        return impl.delete_chunk_list.run();
    }
    impl.write_chunk_list.bind_int(1, *file);
    impl.write_chunk_list.bind_int(2, era);
    impl.write_chunk_list.bind_blob(3, chunk_blob);
    if (auto ok = impl.write_chunk_list.run(); !ok) return ok;
    return index_chunks(impl, *file, era, record.chunks);
}

}  // namespace

Result<void> Store::put_files(std::string_view folder_id, std::span<FileUpdate> updates) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    const std::string purpose = "write file records of folder '" + std::string(folder_id) + "'";
    auto txn = Transaction::begin(*impl.db, purpose);
    if (!txn) return error_of(txn);
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    std::int64_t sequence = folder->sequence;
    for (const auto& update : updates) {
        if (auto ok = put_file(impl, folder->rowid, sequence + 1, folder_id, update); !ok) return ok;
        ++sequence;
    }
    if (auto ok = store::drop_pending_of(impl, folder->rowid, updates); !ok) return ok;
    impl.set_folder_sequence.bind_int(1, sequence);
    impl.set_folder_sequence.bind_int(2, folder->rowid);
    if (auto ok = impl.set_folder_sequence.run(); !ok) return ok;
    if (auto ok = txn->commit(); !ok) return ok;
    // Only once committed: a failed batch leaves the callers' records as they were.
    for (auto& update : updates) update.record.sequence = Sequence{++folder->sequence};
    return {};
}

namespace {

// Decodes a row of the `children` or `entry` statement: an entry of `parent`.
Result<StoredEntry> read_stored_entry(const store::State& impl, const Statement& r,
                                      std::string_view folder_id, std::string_view parent) {
    StoredEntry entry;
    entry.name = std::string(r.column_text(0));
    const auto kind = r.column_int(1);
    if (kind < 0 || kind > static_cast<std::int64_t>(FileKind::symlink)) {
        return tl::unexpected(
            impl.corrupt(folder_id, join_path(parent, entry.name), "unknown file kind"));
    }
    entry.kind = static_cast<FileKind>(kind);
    entry.deleted = r.column_int(2) != 0;
    entry.size = static_cast<std::uint64_t>(r.column_int(3));
    entry.mtime_ns = r.column_int(4);
    entry.mode = static_cast<std::uint32_t>(r.column_int(5));
    entry.inode = static_cast<std::uint64_t>(r.column_int(6));
    entry.symlink_target = std::string(r.column_text(7));
    auto version = stored_version(impl, folder_id, join_path(parent, entry.name), r.column_blob(8));
    if (!version) return tl::unexpected(version.error());
    entry.version = std::move(*version);
    return entry;
}

}  // namespace

Result<std::vector<StoredEntry>> Store::children(std::string_view folder_id,
                                                 std::string_view parent) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    ResetOnExit reset(impl.children);
    impl.children.bind_int(1, folder->rowid);
    impl.children.bind_text(2, parent);
    std::vector<StoredEntry> entries;
    for (;;) {
        auto row = impl.children.step();
        if (!row) return error_of(row);
        if (!*row) break;
        auto entry = read_stored_entry(impl, impl.children, folder_id, parent);
        if (!entry) return error_of(entry);
        entries.push_back(std::move(*entry));
    }
    return entries;
}

Result<std::optional<StoredEntry>> Store::entry(std::string_view folder_id, std::string_view path) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    ResetOnExit reset(impl.entry);
    if (auto ok = store::bind_path(impl, impl.entry, folder_id, path); !ok) return error_of(ok);
    auto row = impl.entry.step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<StoredEntry>();
    auto entry = read_stored_entry(impl, impl.entry, folder_id, split_path(path).parent);
    if (!entry) return error_of(entry);
    return std::optional<StoredEntry>(std::move(*entry));
}

Result<std::optional<FileRecord>> Store::get_file(std::string_view folder_id,
                                                  std::string_view path) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    ResetOnExit reset(impl.get_file);
    if (auto ok = store::bind_path(impl, impl.get_file, folder_id, path); !ok) return error_of(ok);
    return store::step_record(impl, impl.get_file, folder_id);
}

Result<std::vector<std::optional<FileRecord>>> Store::files_at(
    std::string_view folder_id, std::span<const std::string> paths) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    if (auto ok = impl.db->control(sqlite::Database::Control::begin_read, "read file records"); !ok)
        return error_of(ok);
    sqlite::EndReadOnExit end_read(*impl.db);
    auto folder = impl.folder(folder_id);  // once for all the paths
    if (!folder) return error_of(folder);
    std::vector<std::optional<FileRecord>> out;
    out.reserve(paths.size());
    for (const std::string& path : paths) {
        ResetOnExit reset(impl.get_file);
        store::bind_path(impl.get_file, folder->rowid, path);
        auto record = store::step_record(impl, impl.get_file, folder_id);
        if (!record) return error_of(record);
        out.push_back(std::move(*record));
    }
    return out;
}

Result<std::vector<FileRecord>> Store::files_since(std::string_view folder_id, Sequence after,
                                                   std::size_t limit) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    auto folder = impl.folder(folder_id);
    if (!folder) return error_of(folder);
    ResetOnExit reset(impl.files_since);
    impl.files_since.bind_int(1, folder->rowid);
    impl.files_since.bind_int(2, after.value);
    impl.files_since.bind_int(3, static_cast<std::int64_t>(std::min<std::size_t>(limit, INT64_MAX)));
    std::vector<FileRecord> records;
    for (;;) {
        auto row = impl.files_since.step();
        if (!row) return error_of(row);
        if (!*row) break;
        auto record = store::read_record(impl, impl.files_since, 0, folder_id);
        if (!record) return error_of(record);
        records.push_back(std::move(*record));
    }
    return records;
}

Result<void> Store::for_each_file(std::string_view folder_id,
                                  const std::function<Result<void>(const FileRecord&)>& fn) {
    auto& impl = *m_impl;
    return store::for_each_paged(
        impl, impl.files_page, folder_id,
        [&impl, folder_id](const Statement& row) {
            return store::read_record(impl, row, 0, folder_id);
        },
        fn);
}

namespace {

// The folder, path and decoded chunk list of file number `file`; null if it
// has none.
Result<std::shared_ptr<const store::ChunkedFile>> read_chunked_file(store::State& impl,
                                                                    std::int64_t file) {
    ResetOnExit reset(impl.chunk_file);
    impl.chunk_file.bind_int(1, file);
    auto found = impl.chunk_file.step();
    if (!found) return error_of(found);
    if (!*found) return nullptr;
    const std::string_view folder_id = impl.chunk_file.column_text(0);
    auto path = join_path(impl.chunk_file.column_text(1), impl.chunk_file.column_text(2));
    auto chunks = stored_chunks(impl, folder_id, path, impl.chunk_file.column_blob(3));
    if (!chunks) return error_of(chunks);
    return std::make_shared<const store::ChunkedFile>(std::string(folder_id), std::move(path),
                                                      std::move(*chunks));
}

}  // namespace

Result<std::vector<ChunkLocation>> Store::find_chunk(const ChunkHash& hash, std::size_t limit) {
    std::lock_guard lock(m_impl->mutex);
    auto& impl = *m_impl;
    // One read transaction across all probes, so they see one state.
    if (auto ok = impl.db->control(sqlite::Database::Control::begin_read, "look up a chunk"); !ok)
        return error_of(ok);
    sqlite::EndReadOnExit end_read(*impl.db);

    std::vector<ChunkLocation> locations;
    const auto prefix = hash_prefix(hash);
    for (std::int64_t era = impl.chunk_era; era >= 0 && locations.size() < limit; --era) {
        ResetOnExit reset(impl.chunk_probe);
        impl.chunk_probe.bind_int(1, era);
        impl.chunk_probe.bind_int(2, prefix);
        for (;;) {
            auto row = impl.chunk_probe.step();
            if (!row) return error_of(row);
            if (!*row || locations.size() >= limit) break;
            const auto file = impl.chunk_probe.column_int(0);
            const auto index = static_cast<std::size_t>(impl.chunk_probe.column_int(1));

            auto located = impl.chunked_files.find(file);
            if (!located) {
                auto read = read_chunked_file(impl, file);
                if (!read) return error_of(read);
                if (!*read) continue;  // cannot happen: rows go with their file
                located = std::move(*read);
                impl.chunked_files.put(file, located);
            }
            // Same 8-byte prefix but another hash: a different chunk.
            if (index >= located->chunks.size() || located->chunks[index].hash != hash) continue;
            locations.push_back(ChunkLocation{located->folder_id, located->path,
                                              located->offsets[index],
                                              located->chunks[index].size});
        }
    }
    return locations;
}

}  // namespace ferry
