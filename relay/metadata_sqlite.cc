// SqliteMetadata: opening, the schema, accounts and sessions.
#include "relay/metadata_sqlite.hh"

#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace ferry::relay {

using namespace sql_detail;
using sqlite::ResetOnExit;
using sqlite::Transaction;

namespace {

constexpr int kSchemaVersion = 1;

// Unsigned values (sizes) are stored as their signed bit pattern. Keys and
// ids are raw 32- or 16-byte blobs. Times are ns since the Unix epoch.
constexpr const char* kSchema = R"sql(
CREATE TABLE accounts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: chunk object keys hold it
    name        TEXT NOT NULL UNIQUE,               -- [A-Za-z0-9._-]{1,64}
    token_hash  BLOB NOT NULL UNIQUE,               -- BLAKE2b-256 of the one-time token
    user_key    BLOB UNIQUE,                        -- Ed25519 user key; NULL until the token is used
    quota_bytes INTEGER NOT NULL,                   -- 0: unlimited
    used_bytes  INTEGER NOT NULL DEFAULT 0,         -- chunks and mailbox payloads charged
    created_ns  INTEGER NOT NULL
) STRICT;

CREATE TABLE devices (
    account       INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_key    BLOB NOT NULL,     -- Ed25519 device key
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    PRIMARY KEY (account, device_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE revocations (
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    device_key BLOB NOT NULL,        -- the revoked device
    revoked_ns INTEGER NOT NULL,     -- as signed by the user key (the newest kept)
    PRIMARY KEY (account, device_key)
) STRICT, WITHOUT ROWID;

CREATE TABLE chunks (
    account INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    chunk   BLOB NOT NULL,           -- relay chunk id (32 bytes)
    size    INTEGER NOT NULL,        -- bytes stored and charged
    state   INTEGER NOT NULL,        -- 0 pending (object not yet durable), 1 stored
    put_ns  INTEGER NOT NULL,        -- last put: the unreferenced grace counts from it
    PRIMARY KEY (account, chunk)
) STRICT, WITHOUT ROWID;
CREATE INDEX chunks_by_state ON chunks(state, put_ns);

-- One row per mailbox entry: a message for `recipient` from `peer`, or
-- (notice = 1) the notice that the message `peer` never fetched expired.
CREATE TABLE messages (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,  -- post order: a mailbox is read by it
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    recipient  BLOB NOT NULL,        -- the device whose mailbox holds it
    message_id BLOB NOT NULL,        -- chosen by the sender (16 bytes)
    peer       BLOB NOT NULL,        -- message: the sender; notice: the recipient that missed it
    posted_ns  INTEGER NOT NULL,     -- when the message was posted (also for its notice)
    expires_ns INTEGER NOT NULL,
    notice     INTEGER NOT NULL,     -- 0 message, 1 expiry notice
    payload    BLOB NOT NULL,        -- sealed by the devices; empty for a notice
    size       INTEGER NOT NULL      -- bytes charged to the account (0 for a notice)
) STRICT;
CREATE INDEX messages_mailbox ON messages(account, recipient, seq);
CREATE INDEX messages_expiry ON messages(expires_ns);
CREATE UNIQUE INDEX messages_once ON messages(account, recipient, message_id) WHERE notice = 0;
CREATE UNIQUE INDEX notices_once ON messages(account, recipient, message_id, peer) WHERE notice = 1;

-- The chunks an undelivered message refers to, once per (account, message id)
-- however many recipients it has.
CREATE TABLE message_chunks (
    account    INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    message_id BLOB NOT NULL,
    chunk      BLOB NOT NULL,
    PRIMARY KEY (account, message_id, chunk)
) STRICT, WITHOUT ROWID;
CREATE INDEX message_chunks_by_chunk ON message_chunks(account, chunk);
)sql";

// FULL: an ok answer promises durability (relay_service.hh).
constexpr const char* kPragmas =
    "PRAGMA foreign_keys = ON;"
    "PRAGMA busy_timeout = 10000;"
    "PRAGMA synchronous = FULL;";

Result<int> user_version(sqlite::Database& db) {
    auto stmt = db.prepare("PRAGMA user_version", "read the schema version");
    if (!stmt) return error_of(stmt);
    auto row = stmt->step();
    if (!row) return error_of(row);
    return static_cast<int>(stmt->column_int(0));
}

Result<void> migrate(sqlite::Database& db) {
    auto txn = Transaction::begin(db, "create the relay schema");
    if (!txn) return error_of(txn);
    auto version = user_version(db);
    if (!version) return error_of(version);
    if (*version > kSchemaVersion) {
        return fail(Errc::too_new, db.path() + " was written by a newer ferry-relay (schema " +
                                       std::to_string(*version) + ", this one knows up to " +
                                       std::to_string(kSchemaVersion) + "): upgrade ferry-relay");
    }
    if (*version == kSchemaVersion) return {};
    const std::string sql =
        std::string(kSchema) + "PRAGMA user_version = " + std::to_string(kSchemaVersion) + ";";
    if (auto ok = db.exec(sql, "create the relay schema"); !ok) return ok;
    return txn->commit();
}

}  // namespace

Result<std::unique_ptr<MetadataStore>> open_local_metadata(const std::string& data_dir) {
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(errno == EACCES ? Errc::permission_denied : Errc::io,
                    data_dir + ": create the relay's data folder: " + std::strerror(errno));
    }
    auto db = sqlite::Database::open(data_dir + "/relay.db");
    if (!db) return error_of(db);
    if (auto ok = (*db)->exec(kPragmas, "configure the connection"); !ok) return error_of(ok);
    if (auto ok = (*db)->exec("PRAGMA journal_mode = WAL;", "switch to WAL mode"); !ok) {
        return error_of(ok);
    }
    if (auto ok = migrate(**db); !ok) return error_of(ok);
    return std::unique_ptr<MetadataStore>(new SqliteMetadata(std::move(*db)));
}

Result<sqlite::Statement*> SqliteMetadata::statement(std::string_view text,
                                                     std::string_view purpose) {
    return m_statements.get(text, purpose);
}

Error SqliteMetadata::corrupt(std::string_view what) const {
    return Error{Errc::corrupt,
                 m_db->path() + ": " + std::string(what) + " (the relay database is damaged)"};
}

Result<Usage> SqliteMetadata::usage_locked(std::int64_t account) {
    auto stmt = statement("SELECT used_bytes, quota_bytes FROM accounts WHERE id = ?",
                          "read an account's usage");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_int(1, account);
    auto row = (*stmt)->step();
    if (!row) return error_of(row);
    if (!*row)
        return fail(Errc::not_found,
                    m_db->path() + ": no account number " + std::to_string(account));
    return Usage{from_sql((*stmt)->column_int(0)), from_sql((*stmt)->column_int(1))};
}

Result<void> SqliteMetadata::charge_locked(std::int64_t account, std::int64_t delta) {
    if (delta == 0) return {};
    auto stmt = statement("UPDATE accounts SET used_bytes = max(used_bytes + ?, 0) WHERE id = ?",
                          "charge an account");
    if (!stmt) return error_of(stmt);
    (*stmt)->bind_int(1, delta);
    (*stmt)->bind_int(2, account);
    return (*stmt)->run();
}

Result<Usage> SqliteMetadata::usage(std::int64_t account) {
    std::lock_guard lock(m_mutex);
    return usage_locked(account);
}

// ---- accounts ----

Result<void> SqliteMetadata::add_account(const std::string& name, const TokenHash& token_hash,
                                         std::uint64_t quota_bytes, std::int64_t now_ns) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(
        "INSERT INTO accounts (name, token_hash, quota_bytes, created_ns) VALUES (?, ?, ?, ?)",
        "add an account");
    if (!stmt) return error_of(stmt);
    (*stmt)->bind_text(1, name);
    (*stmt)->bind_blob(2, blob(token_hash));
    (*stmt)->bind_int(3, to_sql(quota_bytes));
    (*stmt)->bind_int(4, now_ns);
    auto ok = (*stmt)->run();
    if (!ok && ok.error().code == Errc::already_exists) {
        return fail(Errc::already_exists, "an account named '" + name + "' exists already");
    }
    return ok;
}

Result<std::vector<AccountInfo>> SqliteMetadata::accounts() {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(
        "SELECT a.name, a.user_key IS NOT NULL, a.used_bytes, a.quota_bytes, a.created_ns,"
        " (SELECT count(*) FROM devices d WHERE d.account = a.id),"
        " (SELECT count(*) FROM messages m WHERE m.account = a.id AND m.notice = 0)"
        " FROM accounts a ORDER BY a.name",
        "list the accounts");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    std::vector<AccountInfo> out;
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) break;
        AccountInfo info;
        info.name = std::string((*stmt)->column_text(0));
        info.bound = (*stmt)->column_int(1) != 0;
        info.used_bytes = from_sql((*stmt)->column_int(2));
        info.quota_bytes = from_sql((*stmt)->column_int(3));
        info.created_ns = (*stmt)->column_int(4);
        info.devices = from_sql((*stmt)->column_int(5));
        info.messages = from_sql((*stmt)->column_int(6));
        out.push_back(std::move(info));
    }
    return out;
}

Result<void> SqliteMetadata::set_quota(const std::string& name, std::uint64_t quota_bytes) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "set a quota");
    if (!txn) return error_of(txn);
    auto stmt =
        statement("UPDATE accounts SET quota_bytes = ? WHERE name = ? RETURNING id", "set a quota");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_int(1, to_sql(quota_bytes));
    (*stmt)->bind_text(2, name);
    auto row = (*stmt)->step();
    if (!row) return error_of(row);
    if (!*row) return fail(Errc::not_found, "no account named '" + name + "'");
    (*stmt)->reset();
    return txn->commit();
}

Result<std::vector<ChunkRef>> SqliteMetadata::chunk_refs_locked(std::string_view text,
                                                                std::string_view purpose,
                                                                std::int64_t parameter) {
    auto stmt = statement(text, purpose);
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_int(1, parameter);
    std::vector<ChunkRef> out;
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) break;
        ChunkRef ref;
        ref.account = (*stmt)->column_int(0);
        if (!read_blob(**stmt, 1, ref.chunk))
            return tl::unexpected(corrupt("a chunk id is not 32 bytes"));
        out.push_back(ref);
    }
    return out;
}

Result<std::vector<ChunkRef>> SqliteMetadata::remove_account(const std::string& name) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "remove an account");
    if (!txn) return error_of(txn);
    auto found = statement("SELECT id FROM accounts WHERE name = ?", "find an account");
    if (!found) return error_of(found);
    std::int64_t id = 0;
    {
        ResetOnExit reset(**found);
        (*found)->bind_text(1, name);
        auto row = (*found)->step();
        if (!row) return error_of(row);
        if (!*row) return fail(Errc::not_found, "no account named '" + name + "'");
        id = (*found)->column_int(0);
    }
    auto chunks = chunk_refs_locked("SELECT account, chunk FROM chunks WHERE account = ?",
                                    "list an account's chunks", id);
    if (!chunks) return chunks;
    auto remove = statement("DELETE FROM accounts WHERE id = ?", "remove an account");
    if (!remove) return error_of(remove);
    (*remove)->bind_int(1, id);
    if (auto ok = (*remove)->run(); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return chunks;
}

Result<RelayTotals> SqliteMetadata::totals() {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(
        "SELECT (SELECT count(*) FROM accounts),"
        " (SELECT count(*) FROM (SELECT DISTINCT account, recipient FROM messages)),"
        " (SELECT count(*) FROM messages WHERE notice = 0),"
        " (SELECT count(*) FROM chunks WHERE state = 1),"
        " (SELECT coalesce(sum(size), 0) FROM chunks WHERE state = 1)"
        "  + (SELECT coalesce(sum(size), 0) FROM messages)",
        "count the relay's totals");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    auto row = (*stmt)->step();
    if (!row) return error_of(row);
    RelayTotals totals;
    totals.accounts = from_sql((*stmt)->column_int(0));
    totals.mailboxes = from_sql((*stmt)->column_int(1));
    totals.messages = from_sql((*stmt)->column_int(2));
    totals.chunks = from_sql((*stmt)->column_int(3));
    totals.stored_bytes = from_sql((*stmt)->column_int(4));
    return totals;
}

// ---- sessions ----

namespace {

constexpr const char* kAccountColumns =
    "SELECT id, name, user_key, quota_bytes, used_bytes FROM accounts";

Result<std::optional<Account>> read_account(sqlite::Statement& stmt, const Error& damaged) {
    auto row = stmt.step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<Account>();
    Account account;
    account.id = stmt.column_int(0);
    account.name = std::string(stmt.column_text(1));
    if (!stmt.column_is_null(2)) {
        PublicKey key{};
        if (!read_blob(stmt, 2, key)) return tl::unexpected(damaged);
        account.user_key = key;
    }
    account.quota_bytes = from_sql(stmt.column_int(3));
    account.used_bytes = from_sql(stmt.column_int(4));
    return std::optional<Account>(std::move(account));
}

}  // namespace

Result<std::optional<Account>> SqliteMetadata::account_by_user_key(const PublicKey& user_key) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(std::string(kAccountColumns) + " WHERE user_key = ?",
                          "find the account of a user key");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_blob(1, blob(user_key));
    return read_account(**stmt, corrupt("a user key is not 32 bytes"));
}

Result<std::optional<Account>> SqliteMetadata::account_by_name(const std::string& name) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(std::string(kAccountColumns) + " WHERE name = ?", "find an account");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_text(1, name);
    return read_account(**stmt, corrupt("a user key is not 32 bytes"));
}

Result<Account> SqliteMetadata::bind_token(const TokenHash& token_hash, const PublicKey& user_key) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "bind an account token");
    if (!txn) return error_of(txn);
    auto stmt = statement(std::string(kAccountColumns) + " WHERE token_hash = ?",
                          "find the account of a token");
    if (!stmt) return error_of(stmt);
    std::optional<Account> account;
    {
        ResetOnExit reset(**stmt);
        (*stmt)->bind_blob(1, blob(token_hash));
        auto found = read_account(**stmt, corrupt("a user key is not 32 bytes"));
        if (!found) return error_of(found);
        account = std::move(*found);
    }
    if (!account) return fail(Errc::not_found, "unknown account token");
    if (account->user_key) {
        return fail(Errc::permission_denied,
                    "the token of account '" + account->name +
                        "' was used already (a token binds one user; ask the relay's operator "
                        "for a new account)");
    }
    auto bind = statement("UPDATE accounts SET user_key = ? WHERE id = ?", "bind an account token");
    if (!bind) return error_of(bind);
    (*bind)->bind_blob(1, blob(user_key));
    (*bind)->bind_int(2, account->id);
    if (auto ok = (*bind)->run(); !ok) {
        if (ok.error().code == Errc::already_exists) {
            return fail(Errc::already_exists, "this user key is bound to another account already");
        }
        return error_of(ok);
    }
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    account->user_key = user_key;
    return *account;
}

Result<void> SqliteMetadata::add_revocations(std::int64_t account,
                                             std::span<const Revocation> revocations) {
    if (revocations.empty()) return {};
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "store revocations");
    if (!txn) return error_of(txn);
    auto stmt = statement(
        "INSERT INTO revocations (account, device_key, revoked_ns) VALUES (?, ?, ?)"
        " ON CONFLICT (account, device_key) DO UPDATE"
        " SET revoked_ns = max(revoked_ns, excluded.revoked_ns)",
        "store a revocation");
    if (!stmt) return error_of(stmt);
    for (const Revocation& revocation : revocations) {
        (*stmt)->bind_int(1, account);
        (*stmt)->bind_blob(2, blob(revocation.device_key));
        (*stmt)->bind_int(3, revocation.revoked_ns);
        if (auto ok = (*stmt)->run(); !ok) return ok;
    }
    return txn->commit();
}

Result<bool> SqliteMetadata::is_revoked(std::int64_t account, const PublicKey& device_key) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement("SELECT 1 FROM revocations WHERE account = ? AND device_key = ?",
                          "look up a revocation");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_int(1, account);
    (*stmt)->bind_blob(2, blob(device_key));
    return (*stmt)->step();
}

Result<void> SqliteMetadata::device_seen(std::int64_t account, const PublicKey& device_key,
                                         std::int64_t now_ns) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(
        "INSERT INTO devices (account, device_key, first_seen_ns, last_seen_ns) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account, device_key) DO UPDATE SET last_seen_ns = excluded.last_seen_ns",
        "record a device");
    if (!stmt) return error_of(stmt);
    (*stmt)->bind_int(1, account);
    (*stmt)->bind_blob(2, blob(device_key));
    (*stmt)->bind_int(3, now_ns);
    (*stmt)->bind_int(4, now_ns);
    return (*stmt)->run();
}

}  // namespace ferry::relay
