// A thin RAII layer over the SQLite C API, used only inside src/store.
//
// Database owns a connection, Statement a prepared statement, Transaction a
// BEGIN IMMEDIATE ... COMMIT that rolls back unless committed. Every failure
// becomes a ferry::Error whose message names the database path, the purpose
// the caller gave ("add folder", "look up chunk") and sqlite3_errmsg.
// Thread rule: none of these objects locks; the owner (Store) serialises all
// use of one Database and its statements. A Statement must not outlive its
// Database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/error.hh"

struct sqlite3;
struct sqlite3_stmt;

namespace ferry::sqlite {

class Database;

class Statement {
public:
    Statement() = default;
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    ~Statement();

    // Binds parameter `index` (1-based). Bind errors surface at step().
    void bind_int(int index, std::int64_t value);
    void bind_text(int index, std::string_view value);
    void bind_blob(int index, std::span<const std::uint8_t> value);
    void bind_blob(int index, std::string_view bytes);
    void bind_null(int index);

    // Advances: true when a row is available, false when done.
    Result<bool> step();
    // Steps a statement that returns no rows, then resets it.
    Result<void> run();
    // Makes the statement ready for new bindings (also releases its read lock).
    void reset();

    // Columns of the current row (0-based). Text and blob views stay valid
    // until the next step() or reset().
    std::int64_t column_int(int index) const;
    std::string_view column_text(int index) const;
    std::span<const std::uint8_t> column_blob(int index) const;
    bool column_is_null(int index) const;

private:
    friend class Database;
    Statement(Database* db, sqlite3_stmt* stmt, std::string purpose);

    Database* m_db = nullptr;
    sqlite3_stmt* m_stmt = nullptr;
    std::string m_purpose;
};

// Resets a statement when leaving a scope, so an early return never leaves it
// half-stepped (holding a read transaction open).
class ResetOnExit {
public:
    explicit ResetOnExit(Statement& stmt) : m_stmt(stmt) {}
    ~ResetOnExit() { m_stmt.reset(); }
    ResetOnExit(const ResetOnExit&) = delete;
    ResetOnExit& operator=(const ResetOnExit&) = delete;

private:
    Statement& m_stmt;
};

class Database {
public:
    // Opens or creates the database file (":memory:" for a private in-memory
    // one). A path starting with "file:" is an SQLite URI (tests share an
    // in-memory database by name: "file:NAME?mode=memory&cache=shared").
    static Result<std::unique_ptr<Database>> open(const std::string& path);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    // Runs one or more statements that return no rows.
    Result<void> exec(const std::string& sql, std::string_view purpose);

    // Transaction control through statements prepared once at open.
    // begin_read is a deferred BEGIN: a consistent snapshot for several reads.
    enum class Control { begin_read, begin_write, commit, rollback };
    Result<void> control(Control which, std::string_view purpose);
    Result<Statement> prepare(std::string_view sql, std::string_view purpose);

    const std::string& path() const { return m_path; }

    // Test support (Store::set_commit_check): `allow` runs at each commit of
    // a write, inside SQLite, before the commit happens; false turns the
    // commit into a rollback (Errc::io). Empty: every commit goes ahead.
    void set_commit_check(std::function<bool()> allow);

    // The Error for the connection's last failure with result code `rc`.
    Error error(int rc, std::string_view purpose) const;

private:
    Database(sqlite3* handle, std::string path);

    sqlite3* m_handle;
    std::string m_path;
    Statement m_control[4];  // indexed by Control
    std::function<bool()> m_commit_check;
};

// Ends a read transaction (Control::begin_read) when leaving a scope.
class EndReadOnExit {
public:
    explicit EndReadOnExit(Database& db) : m_db(db) {}
    ~EndReadOnExit() { (void)m_db.control(Database::Control::commit, "end a read"); }
    EndReadOnExit(const EndReadOnExit&) = delete;
    EndReadOnExit& operator=(const EndReadOnExit&) = delete;

private:
    Database& m_db;
};

// Prepared statements by SQL text: each prepared on first use and kept for
// the life of the Database it belongs to (which must outlive the cache).
class StatementCache {
public:
    explicit StatementCache(Database& db) : m_db(db) {}
    // The statement for `sql`, reset and ready for bindings.
    Result<Statement*> get(std::string_view sql, std::string_view purpose);

private:
    Database& m_db;
    std::unordered_map<std::string, Statement> m_statements;
};

class Transaction {
public:
    // BEGIN IMMEDIATE: takes the write lock up front, so a transaction never
    // fails half-way because another connection wrote first.
    static Result<Transaction> begin(Database& db, std::string_view purpose);
    Transaction(Transaction&& other) noexcept;
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();  // rolls back unless committed

    Result<void> commit();

private:
    Transaction(Database& db, std::string purpose);
    Database* m_db;
    std::string m_purpose;
};

}  // namespace ferry::sqlite
