// Store: opening, settings, folders, scan outcomes and statistics. File
// records and the chunk lookup are in store_files.cc.
#include "store/store.hh"

#include <algorithm>
#include <utility>

#include "core/path_rules.hh"
#include "store/migrations.hh"
#include "store/store_impl.hh"

namespace ferry {

namespace {

using sqlite::ResetOnExit;
using sqlite::Statement;
using sqlite::Transaction;
using store::error_of;

// Why FULL and not NORMAL: in WAL mode NORMAL may lose the last committed
// transactions on power loss (never consistency). Version vectors and
// sequences are not re-derivable from the disk: a lost commit would hand the
// same sequence number to a different change after the restart, and a peer
// that already received the first one would never ask for the second. FULL
// costs one fsync of the WAL per commit; the scanner commits ~1000 files at a
// time, so this is one fsync per batch (measured: see the commit message).
constexpr const char* k_pragmas =
    "PRAGMA foreign_keys = ON;"
    "PRAGMA busy_timeout = 10000;"
    "PRAGMA synchronous = FULL;"
    // 8 MiB of page cache: the hot part of the chunk lookup and the
    // directories being scanned; the rest comes from the OS's file cache.
    // (32 MiB held ~25 MiB of a daemon watching 100,000 files, whose index
    // is ~19 MB: the daemon's whole memory was 48 MiB; see bench/latency.)
    "PRAGMA cache_size = -8192;";

// A larger WAL than the default 1000 pages: pages written by several
// consecutive batches are then copied back to the database once per
// checkpoint instead of once per batch.
constexpr const char* k_wal_pragmas =
    "PRAGMA journal_mode = WAL;"
    "PRAGMA wal_autocheckpoint = 8192;";

}  // namespace

Store::Store(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Store::~Store() = default;

int Store::latest_schema_version() { return store::latest_schema_version(); }

void Store::set_commit_check(std::function<bool()> allow) {
    std::lock_guard lock(m_impl->mutex);
    m_impl->db->set_commit_check(std::move(allow));
}
int Store::schema_version() const { return m_impl->schema_version; }

Result<std::unique_ptr<Store>> Store::open(const std::string& path) {
    auto impl = std::make_unique<Impl>();
    auto db = sqlite::Database::open(path);
    if (!db) return error_of(db);
    impl->db = std::move(*db);
    if (auto ok = impl->db->exec(k_pragmas, "configure the connection"); !ok) return error_of(ok);
    auto version = store::migrate(*impl->db);
    if (!version) return error_of(version);
    impl->schema_version = *version;
    if (auto ok = impl->db->exec(k_wal_pragmas, "switch to WAL mode"); !ok) return error_of(ok);

    auto folder_row = impl->db->prepare("SELECT id, sequence FROM folders WHERE folder_id = ?",
                                        "look up a folder");
    if (!folder_row) return error_of(folder_row);
    impl->folder_row = std::move(*folder_row);
    auto set_sequence = impl->db->prepare("UPDATE folders SET sequence = ? WHERE id = ?",
                                          "store a folder's sequence");
    if (!set_sequence) return error_of(set_sequence);
    impl->set_folder_sequence = std::move(*set_sequence);
    if (auto ok = store::prepare_file_statements(*impl); !ok) return error_of(ok);
    if (auto ok = store::prepare_remote_statements(*impl); !ok) return error_of(ok);
    if (auto ok = store::prepare_version_statements(*impl); !ok) return error_of(ok);
    if (auto ok = store::prepare_pending_statements(*impl); !ok) return error_of(ok);
    return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Result<store::State::FolderRow> store::State::folder(std::string_view folder_id) {
    ResetOnExit reset(folder_row);
    folder_row.bind_text(1, folder_id);
    auto row = folder_row.step();
    if (!row) return error_of(row);
    if (!*row) {
        return fail(Errc::not_found, db->path() + ": no folder '" + std::string(folder_id) +
                                         "' in the index (see `ferry folder list`)");
    }
    return FolderRow{folder_row.column_int(0), folder_row.column_int(1)};
}

Error store::State::corrupt(std::string_view folder_id, std::string_view path,
                           std::string_view what) const {
    return Error{Errc::corrupt, db->path() + ": folder '" + std::string(folder_id) + "', '" +
                                    std::string(path) + "': " + std::string(what) +
                                    "; the index is damaged: remove the folder and add it again"};
}

// ---- settings ----

Result<std::optional<std::string>> Store::get_setting(std::string_view key) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare("SELECT value FROM settings WHERE key = ?", "read a setting");
    if (!stmt) return error_of(stmt);
    stmt->bind_text(1, key);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<std::string>();
    return std::optional<std::string>(std::string(stmt->column_text(0)));
}

Result<void> Store::set_setting(std::string_view key, std::string_view value) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare(
        "INSERT INTO settings (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        "write setting '" + std::string(key) + "'");
    if (!stmt) return error_of(stmt);
    stmt->bind_text(1, key);
    stmt->bind_text(2, value);
    return stmt->run();
}

// ---- folders ----

Result<void> Store::add_folder(const Folder& folder) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto clash = db.prepare("SELECT folder_id, path FROM folders WHERE folder_id = ? OR path = ?",
                            "check for a clashing folder");
    if (!clash) return error_of(clash);
    clash->bind_text(1, folder.id);
    clash->bind_text(2, folder.path);
    auto row = clash->step();
    if (!row) return error_of(row);
    if (*row) {
        const bool same_id = clash->column_text(0) == folder.id;
        return fail(Errc::already_exists,
                    db.path() + ": " +
                        (same_id ? "a folder with id '" + folder.id + "' exists already"
                                 : "the path " + folder.path + " is already folder '" +
                                       std::string(clash->column_text(0)) + "'") +
                        " (see `ferry folder list`)");
    }
    clash->reset();
    // SQLite's random() draws from its own generator seeded by the OS;
    // index ids need uniqueness, not secrecy.
    auto insert = db.prepare(
        "INSERT INTO folders (folder_id, path, mode, index_id) "
        "VALUES (?, ?, ?, coalesce(nullif(random(), 0), 1))",
        "add folder '" + folder.id + "'");
    if (!insert) return error_of(insert);
    insert->bind_text(1, folder.id);
    insert->bind_text(2, folder.path);
    insert->bind_int(3, static_cast<std::int64_t>(folder.mode));
    return insert->run();
}

namespace {

Result<Folder> read_folder(const std::string& db_path, const Statement& row) {
    const auto mode = row.column_int(2);
    if (mode < 0 || mode > static_cast<std::int64_t>(FolderMode::receive_only)) {
        return fail(Errc::corrupt, db_path + ": folder '" + std::string(row.column_text(0)) +
                                       "' has an unknown mode " + std::to_string(mode));
    }
    return Folder{std::string(row.column_text(0)), std::string(row.column_text(1)),
                  static_cast<FolderMode>(mode)};
}

}  // namespace

Result<std::vector<Folder>> Store::folders() {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare("SELECT folder_id, path, mode FROM folders ORDER BY folder_id",
                                    "list folders");
    if (!stmt) return error_of(stmt);
    std::vector<Folder> out;
    for (;;) {
        auto row = stmt->step();
        if (!row) return error_of(row);
        if (!*row) break;
        auto folder = read_folder(m_impl->db->path(), *stmt);
        if (!folder) return error_of(folder);
        out.push_back(std::move(*folder));
    }
    return out;
}

Result<std::optional<Folder>> Store::folder(std::string_view id) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare("SELECT folder_id, path, mode FROM folders WHERE folder_id = ?",
                                    "read folder '" + std::string(id) + "'");
    if (!stmt) return error_of(stmt);
    stmt->bind_text(1, id);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<Folder>();
    auto folder = read_folder(m_impl->db->path(), *stmt);
    if (!folder) return error_of(folder);
    return std::optional<Folder>(std::move(*folder));
}

Result<void> Store::remove_folder(std::string_view id) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "remove folder '" + std::string(id) + "'";
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto folder = m_impl->folder(id);
    if (!folder) return error_of(folder);
    // Rows without a foreign key first (see migrations.cc): the chunk lookup
    // and the announced chunk lists. Files, their chunk lists, scan issues,
    // announced records and peer index states follow the folder by ON DELETE
    // CASCADE.
    for (const char* sql :
         {"DELETE FROM chunks WHERE file IN (SELECT id FROM files WHERE folder = ?)",
          "DELETE FROM announced_chunk_lists WHERE id IN "
          "(SELECT chunk_list FROM announced WHERE folder = ?)"}) {
        auto stmt = db.prepare(sql, purpose);
        if (!stmt) return error_of(stmt);
        stmt->bind_int(1, folder->rowid);
        if (auto ok = stmt->run(); !ok) return ok;
    }
    auto remove = db.prepare("DELETE FROM folders WHERE id = ?", purpose);
    if (!remove) return error_of(remove);
    remove->bind_int(1, folder->rowid);
    if (auto ok = remove->run(); !ok) return ok;
    m_impl->chunked_files.clear();
    return txn->commit();
}

Result<void> Store::set_folder_mode(std::string_view id, FolderMode mode) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "change the mode of folder '" + std::string(id) + "'";
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto folder = m_impl->folder(id);
    if (!folder) return error_of(folder);
    auto update = db.prepare("UPDATE folders SET mode = ? WHERE id = ?", purpose);
    if (!update) return error_of(update);
    update->bind_int(1, static_cast<std::int64_t>(mode));
    update->bind_int(2, folder->rowid);
    if (auto ok = update->run(); !ok) return ok;
    return txn->commit();
}

// ---- scans and statistics ----

namespace {

// Replaces the folder's scan issues (inside the caller's transaction).
Result<void> replace_issues(sqlite::Database& db, std::int64_t folder_rowid,
                            std::span<const ScanIssue> issues, const std::string& purpose) {
    auto clear = db.prepare("DELETE FROM scan_issues WHERE folder = ?", purpose);
    if (!clear) return error_of(clear);
    clear->bind_int(1, folder_rowid);
    if (auto ok = clear->run(); !ok) return ok;
    auto insert = db.prepare("INSERT INTO scan_issues (folder, path, message) VALUES (?, ?, ?)",
                             purpose);
    if (!insert) return error_of(insert);
    for (const auto& issue : issues) {
        insert->bind_int(1, folder_rowid);
        insert->bind_text(2, issue.path);
        insert->bind_text(3, issue.message);
        if (auto ok = insert->run(); !ok) return ok;
    }
    return {};
}

}  // namespace

Result<void> Store::record_scan(std::string_view folder_id, std::int64_t time_ns,
                                std::span<const ScanIssue> issues) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "record the scan of folder '" + std::string(folder_id) + "'";
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto folder = m_impl->folder(folder_id);
    if (!folder) return error_of(folder);
    auto time = db.prepare("UPDATE folders SET last_scan_ns = ? WHERE id = ?", purpose);
    if (!time) return error_of(time);
    time->bind_int(1, time_ns);
    time->bind_int(2, folder->rowid);
    if (auto ok = time->run(); !ok) return ok;
    if (auto ok = replace_issues(db, folder->rowid, issues, purpose); !ok) return ok;
    return txn->commit();
}

Result<std::vector<ScanIssue>> Store::record_partial_scan(std::string_view folder_id,
                                                         std::span<const std::string> scope,
                                                         std::span<const ScanIssue> issues) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "record a scan of part of folder '" + std::string(folder_id) + "'";
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto folder = m_impl->folder(folder_id);
    if (!folder) return error_of(folder);
    auto read = db.prepare("SELECT path, message FROM scan_issues WHERE folder = ? ORDER BY rowid",
                           purpose);
    if (!read) return error_of(read);
    read->bind_int(1, folder->rowid);
    std::vector<ScanIssue> kept;
    bool replaced_any = false;
    for (;;) {
        auto row = read->step();
        if (!row) return error_of(row);
        if (!*row) break;
        ScanIssue issue{std::string(read->column_text(0)), std::string(read->column_text(1))};
        const bool replaced = std::any_of(scope.begin(), scope.end(), [&](const std::string& path) {
            return is_within(issue.path, path);
        });
        replaced_any = replaced_any || replaced;
        if (!replaced) kept.push_back(std::move(issue));
    }
    // Nothing to change (the common case of a watched edit): no write, no
    // commit to make durable.
    if (!replaced_any && issues.empty()) return kept;  // the transaction rolls back
    kept.insert(kept.end(), issues.begin(), issues.end());
    if (auto ok = replace_issues(db, folder->rowid, kept, purpose); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return kept;
}

Result<FolderStats> Store::folder_stats(std::string_view folder_id) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "count the records of folder '" + std::string(folder_id) + "'";
    // One read transaction, so the counts, sequence and issues agree.
    if (auto ok = db.control(sqlite::Database::Control::begin_read, purpose); !ok)
        return error_of(ok);
    sqlite::EndReadOnExit end_read(db);

    auto folder = m_impl->folder(folder_id);
    if (!folder) return error_of(folder);
    FolderStats stats;
    stats.sequence = Sequence{folder->sequence};
    auto counts = db.prepare(
        "SELECT coalesce(sum(kind = 0 AND NOT deleted), 0), "
        "coalesce(sum(kind = 1 AND NOT deleted), 0), coalesce(sum(kind = 2 AND NOT deleted), 0), "
        "coalesce(sum(deleted), 0), coalesce(sum(CASE WHEN kind = 0 AND NOT deleted THEN size END), 0), "
        "(SELECT last_scan_ns FROM folders WHERE id = ?1) "
        "FROM files WHERE folder = ?1",
        purpose);
    if (!counts) return error_of(counts);
    counts->bind_int(1, folder->rowid);
    auto row = counts->step();
    if (!row) return error_of(row);
    stats.files = static_cast<std::uint64_t>(counts->column_int(0));
    stats.directories = static_cast<std::uint64_t>(counts->column_int(1));
    stats.symlinks = static_cast<std::uint64_t>(counts->column_int(2));
    stats.deleted = static_cast<std::uint64_t>(counts->column_int(3));
    stats.bytes = static_cast<std::uint64_t>(counts->column_int(4));
    stats.last_scan_ns = counts->column_int(5);

    auto issues = db.prepare("SELECT path, message FROM scan_issues WHERE folder = ? ORDER BY rowid",
                             "read the scan issues of folder '" + std::string(folder_id) + "'");
    if (!issues) return error_of(issues);
    issues->bind_int(1, folder->rowid);
    for (;;) {
        auto next = issues->step();
        if (!next) return error_of(next);
        if (!*next) break;
        stats.issues.push_back(
            ScanIssue{std::string(issues->column_text(0)), std::string(issues->column_text(1))});
    }
    return stats;
}

}  // namespace ferry
