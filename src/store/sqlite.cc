#include "store/sqlite.hh"

#include <sqlite3.h>

#include <cerrno>
#include <iterator>
#include <utility>

namespace ferry::sqlite {

namespace {

Errc errc_of(int extended_rc, int system_errno) {
    switch (extended_rc) {
    case SQLITE_CONSTRAINT_COMMITHOOK: return Errc::io;  // a refused commit (Database::set_commit_check)
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY: return Errc::already_exists;
    default: break;
    }
    switch (extended_rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Errc::busy;
    case SQLITE_FULL: return Errc::no_space;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Errc::corrupt;
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
    case SQLITE_TOOBIG: return Errc::invalid_argument;
    case SQLITE_PERM:
    case SQLITE_READONLY: return Errc::permission_denied;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
        if (system_errno == EACCES || system_errno == EPERM) return Errc::permission_denied;
        if (system_errno == ENOSPC) return Errc::no_space;
        return Errc::io;
    default: return Errc::io;
    }
}

}  // namespace

// ---- Database ----

Database::Database(sqlite3* handle, std::string path) : m_handle(handle), m_path(std::move(path)) {}

Database::~Database() {
    // Statements are finalised first (the Store's by the Store, which
    // declares them after its Database), so close_v2 closes at once.
    for (auto& stmt : m_control) stmt = Statement();
    sqlite3_close_v2(m_handle);
}

Result<std::unique_ptr<Database>> Database::open(const std::string& path) {
    sqlite3* handle = nullptr;
    // NOMUTEX: the Store serialises access itself, SQLite's own mutex would
    // only add cost. URI: explicit, though Debian's SQLite is built with
    // SQLITE_USE_URI already (no ferry path starts with "file:").
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI;
    const int rc = sqlite3_open_v2(path.c_str(), &handle, flags, nullptr);
    if (rc != SQLITE_OK) {
        const int sys = handle ? sqlite3_system_errno(handle) : 0;
        std::string message = path + ": open the index database: " +
                              (handle ? sqlite3_errmsg(handle) : sqlite3_errstr(rc));
        sqlite3_close_v2(handle);
        return fail(errc_of(rc, sys), std::move(message) + " (check the path and its permissions)");
    }
    sqlite3_extended_result_codes(handle, 1);
    std::unique_ptr<Database> db(new Database(handle, path));
    const char* control_sql[] = {"BEGIN", "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"};
    for (std::size_t i = 0; i < std::size(control_sql); ++i) {
        auto stmt = db->prepare(control_sql[i], "transaction control");
        if (!stmt) return tl::unexpected(stmt.error());
        db->m_control[i] = std::move(*stmt);
    }
    return db;
}

Result<void> Database::control(Control which, std::string_view purpose) {
    sqlite3_stmt* stmt = m_control[static_cast<std::size_t>(which)].m_stmt;
    const int rc = sqlite3_step(stmt);
    if (rc != SQLITE_DONE) {
        Error failure = error(rc, purpose);
        sqlite3_reset(stmt);
        return tl::unexpected(std::move(failure));
    }
    sqlite3_reset(stmt);
    return {};
}

void Database::set_commit_check(std::function<bool()> allow) {
    m_commit_check = std::move(allow);
    if (!m_commit_check) {
        sqlite3_commit_hook(m_handle, nullptr, nullptr);
        return;
    }
    // Non-zero from the hook turns the COMMIT into a ROLLBACK.
    sqlite3_commit_hook(
        m_handle, [](void* self) { return static_cast<Database*>(self)->m_commit_check() ? 0 : 1; }, this);
}

Error Database::error(int rc, std::string_view purpose) const {
    const int extended = sqlite3_extended_errcode(m_handle);
    const int code = (extended & 0xff) == (rc & 0xff) ? extended : rc;
    return Error{errc_of(code, sqlite3_system_errno(m_handle)),
                 m_path + ": " + std::string(purpose) + ": " + sqlite3_errmsg(m_handle)};
}

Result<void> Database::exec(const std::string& sql, std::string_view purpose) {
    const int rc = sqlite3_exec(m_handle, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(error(rc, purpose));
    return {};
}

Result<Statement> Database::prepare(std::string_view sql, std::string_view purpose) {
    sqlite3_stmt* stmt = nullptr;
    const int rc = sqlite3_prepare_v3(m_handle, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return tl::unexpected(error(rc, std::string("prepare ") + std::string(purpose)));
    return Statement(this, stmt, std::string(purpose));
}

// ---- Statement ----

Statement::Statement(Database* db, sqlite3_stmt* stmt, std::string purpose)
    : m_db(db), m_stmt(stmt), m_purpose(std::move(purpose)) {}

Statement::Statement(Statement&& other) noexcept
    : m_db(other.m_db), m_stmt(std::exchange(other.m_stmt, nullptr)),
      m_purpose(std::move(other.m_purpose)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
    if (this != &other) {
        sqlite3_finalize(m_stmt);
        m_db = other.m_db;
        m_stmt = std::exchange(other.m_stmt, nullptr);
        m_purpose = std::move(other.m_purpose);
    }
    return *this;
}

Statement::~Statement() { sqlite3_finalize(m_stmt); }

void Statement::bind_int(int index, std::int64_t value) { sqlite3_bind_int64(m_stmt, index, value); }

void Statement::bind_text(int index, std::string_view value) {
    // An empty view may have a null data pointer, which SQLite would bind as NULL.
    sqlite3_bind_text64(m_stmt, index, value.data() ? value.data() : "", value.size(),
                        SQLITE_TRANSIENT, SQLITE_UTF8);
}

void Statement::bind_blob(int index, std::span<const std::uint8_t> value) {
    // A zero-length blob must stay a blob, not NULL: give SQLite a valid pointer.
    static const std::uint8_t empty = 0;
    sqlite3_bind_blob64(m_stmt, index, value.empty() ? &empty : value.data(), value.size(),
                        SQLITE_TRANSIENT);
}

void Statement::bind_blob(int index, std::string_view bytes) {
    bind_blob(index, std::span<const std::uint8_t>(
                         reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
}

void Statement::bind_null(int index) { sqlite3_bind_null(m_stmt, index); }

Result<bool> Statement::step() {
    const int rc = sqlite3_step(m_stmt);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return tl::unexpected(m_db->error(rc, m_purpose));
}

Result<void> Statement::run() {
    ResetOnExit reset(*this);
    auto row = step();
    if (!row) return tl::unexpected(row.error());
    return {};
}

void Statement::reset() {
    sqlite3_reset(m_stmt);
    sqlite3_clear_bindings(m_stmt);
}

std::int64_t Statement::column_int(int index) const { return sqlite3_column_int64(m_stmt, index); }

std::string_view Statement::column_text(int index) const {
    const auto* text = sqlite3_column_text(m_stmt, index);
    const int size = sqlite3_column_bytes(m_stmt, index);
    if (!text) return {};
    return {reinterpret_cast<const char*>(text), static_cast<std::size_t>(size)};
}

std::span<const std::uint8_t> Statement::column_blob(int index) const {
    const auto* blob = static_cast<const std::uint8_t*>(sqlite3_column_blob(m_stmt, index));
    const int size = sqlite3_column_bytes(m_stmt, index);
    if (!blob) return {};
    return {blob, static_cast<std::size_t>(size)};
}

bool Statement::column_is_null(int index) const {
    return sqlite3_column_type(m_stmt, index) == SQLITE_NULL;
}

// ---- Transaction ----

Transaction::Transaction(Database& db, std::string purpose) : m_db(&db), m_purpose(std::move(purpose)) {}

Transaction::Transaction(Transaction&& other) noexcept
    : m_db(std::exchange(other.m_db, nullptr)), m_purpose(std::move(other.m_purpose)) {}

Result<Statement*> StatementCache::get(std::string_view sql, std::string_view purpose) {
    auto found = m_statements.find(std::string(sql));
    if (found == m_statements.end()) {
        auto stmt = m_db.prepare(sql, purpose);
        if (!stmt) return tl::unexpected(stmt.error());
        found = m_statements.emplace(std::string(sql), std::move(*stmt)).first;
    }
    found->second.reset();
    return &found->second;
}

Result<Transaction> Transaction::begin(Database& db, std::string_view purpose) {
    if (auto ok = db.control(Database::Control::begin_write, purpose); !ok)
        return tl::unexpected(ok.error());
    return Transaction(db, std::string(purpose));
}

Result<void> Transaction::commit() {
    Database* db = std::exchange(m_db, nullptr);
    if (auto ok = db->control(Database::Control::commit, m_purpose); !ok) {
        (void)db->control(Database::Control::rollback, m_purpose);
        return ok;
    }
    return {};
}

Transaction::~Transaction() {
    // Nothing useful can be done with a failed rollback here: SQLite rolls
    // back by itself when the connection closes.
    if (m_db) (void)m_db->control(Database::Control::rollback, m_purpose);
}

}  // namespace ferry::sqlite
