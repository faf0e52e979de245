#include "store/migrations.hh"

#include <algorithm>
#include <array>
#include <string>

namespace ferry::store {

namespace {

// Unsigned 64-bit values (sizes, inodes, short ids) are stored as their
// signed two's-complement bit pattern: SQLite integers are signed 64-bit.
//
// Room for ownership and extended attributes (planned, not yet written): a
// later migration adds nullable columns files.owner_uid / files.owner_gid
// (ALTER TABLE ADD COLUMN rewrites nothing in SQLite, so no placeholder column
// is needed now) and a table
//   xattrs(file INTEGER, name TEXT, value BLOB, PRIMARY KEY (file, name)) WITHOUT ROWID
// whose rows the store deletes together with their file.
constexpr const char* k_migration_1 = R"sql(
CREATE TABLE settings (
    key   TEXT NOT NULL PRIMARY KEY,  -- setting name, e.g. "device_name"
    value TEXT NOT NULL               -- its value, as text
) STRICT, WITHOUT ROWID;

CREATE TABLE folders (
    id           INTEGER PRIMARY KEY,     -- internal row id; files refer to it
    folder_id    TEXT NOT NULL UNIQUE,    -- user-visible id, the same on every device
    path         TEXT NOT NULL UNIQUE,    -- absolute local path of the folder
    mode         INTEGER NOT NULL,        -- FolderMode: 0 send-receive, 1 send-only, 2 receive-only
    sequence     INTEGER NOT NULL DEFAULT 0,  -- highest local sequence given to a file of this folder
    last_scan_ns INTEGER NOT NULL DEFAULT 0   -- when the last scan finished, ns since the epoch; 0 never
) STRICT;

-- Keyed by path, WITHOUT ROWID: a directory's entries are adjacent on disk,
-- so children() (the scanner's no-change rescan) is one range scan, not one
-- seek per entry. Rows stay narrow (chunk lists live in chunk_lists) so that
-- a rescan reads few pages and the hot part stays in the page cache.
CREATE TABLE files (
    folder         INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,  -- folders.id
    parent         TEXT NOT NULL,        -- folder-relative path of the directory holding it; '' is the root
    name           TEXT NOT NULL,        -- last path component
    id             INTEGER NOT NULL UNIQUE,  -- the record's number, kept across updates; chunk_lists.file and chunks.file refer to it
    kind           INTEGER NOT NULL,     -- FileKind: 0 file, 1 directory, 2 symlink
    size           INTEGER NOT NULL,     -- bytes (uint64 bit pattern); 0 for directories and tombstones
    mtime_ns       INTEGER NOT NULL,     -- modification time, ns since the epoch
    mode           INTEGER NOT NULL,     -- permission bits (07777)
    deleted        INTEGER NOT NULL,     -- 1 for a tombstone, else 0
    version        BLOB NOT NULL,        -- VersionVector::encode()
    symlink_target TEXT NOT NULL,        -- symlinks only, as read; '' otherwise
    sequence       INTEGER NOT NULL,     -- local sequence of this version (per folder, increasing)
    modified_by    INTEGER NOT NULL,     -- ShortId of the device that made this version (bit pattern)
    inode          INTEGER NOT NULL,     -- local only, never synced: inode at the last scan (bit pattern)
    PRIMARY KEY (folder, parent, name)
) STRICT, WITHOUT ROWID;

-- The ordered chunk list of every record that has chunks: one compact blob
-- per file. No row for directories, symlinks, tombstones and empty files.
CREATE TABLE chunk_lists (
    file   INTEGER PRIMARY KEY REFERENCES files(id) ON DELETE CASCADE,  -- files.id
    era    INTEGER NOT NULL,     -- chunks.era under which this list's rows in chunks were written
    chunks BLOB NOT NULL         -- encode_chunk_list(): per chunk 32-byte hash and LEB128 size
) STRICT;

-- files_since(): a folder's changes in sequence order.
CREATE INDEX files_by_sequence ON files (folder, sequence);

-- Where each chunk is: one narrow row per chunk of every file. The full hash
-- and the offset live in files.chunks; a lookup confirms them there.
-- The key starts with an era (a counter that advances every ~128k rows)
-- because a B-tree keyed only by a random hash makes every batch of inserts
-- touch almost every leaf page: at 10 million rows that made bulk indexing
-- quadratic. Within an era inserts stay in a small subtree; a lookup probes
-- each era. No foreign key on `file`: enforcing it would need a second index
-- over this table; the store deletes a file's rows itself.
CREATE TABLE chunks (
    era         INTEGER NOT NULL,  -- insertion era (see above)
    hash_prefix INTEGER NOT NULL,  -- first 8 bytes of the chunk hash, big-endian, as a signed integer
    file        INTEGER NOT NULL,  -- files.id of a file containing the chunk
    chunk_index INTEGER NOT NULL,  -- position of the chunk in that file's chunk list
    PRIMARY KEY (era, hash_prefix, file, chunk_index)
) STRICT, WITHOUT ROWID;

-- Files the last scan of a folder could not index; replaced by every scan.
CREATE TABLE scan_issues (
    folder  INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,  -- folders.id
    path    TEXT NOT NULL,  -- folder-relative path of the file
    message TEXT NOT NULL   -- what failed and what to do
) STRICT;
CREATE INDEX scan_issues_by_folder ON scan_issues (folder);
)sql";

// Peers: the user's other devices, revocations, invites, this device's index
// ids, and what each peer announced of each folder. Sized for 1M files
// announced by each of 3 peers: an announced row holds the metadata only
// (~100 bytes plus the path); chunk lists, which grow with the file size,
// live in a rowid table beside it and are read only when a record is.
constexpr const char* k_migration_2 = R"sql(
-- This device's index id of the folder: names one life of its index, so a
-- peer that stored sequences of an earlier life (a database reset) sees the
-- change and asks for everything again. Random, non-zero (bit pattern);
-- existing folders get one below, Store::add_folder gives new ones theirs.
ALTER TABLE folders ADD COLUMN index_id INTEGER NOT NULL DEFAULT 0;
UPDATE folders SET index_id = coalesce(nullif(random(), 0), 1);

CREATE TABLE devices (
    key          BLOB NOT NULL PRIMARY KEY CHECK (length(key) = 32),  -- the device's Ed25519 public key
    certificate  BLOB NOT NULL,     -- encoded DeviceCertificate, verified before storing
    name         TEXT NOT NULL,     -- the device's name, as it calls itself
    addresses    TEXT NOT NULL,     -- "host:port" entries separated by newlines, last known first
    last_seen_ns INTEGER NOT NULL,  -- last connection activity, ns since the epoch; 0 never
    bytes_in     INTEGER NOT NULL,  -- bytes received from it over all sessions
    bytes_out    INTEGER NOT NULL   -- bytes sent to it over all sessions
) STRICT, WITHOUT ROWID;

-- A revocation is permanent: rows are never deleted.
CREATE TABLE revocations (
    device_key BLOB NOT NULL PRIMARY KEY CHECK (length(device_key) = 32),  -- the revoked device's public key
    revocation BLOB NOT NULL  -- encoded Revocation signed by the user key, verified before storing
) STRICT, WITHOUT ROWID;

CREATE TABLE invites (
    id         BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 16),  -- invite id, carried in the join code
    secret     BLOB NOT NULL CHECK (length(secret) = 32),  -- the one-time secret the joiner proves
    expires_ns INTEGER NOT NULL,  -- ns since the epoch; claims at or after it fail
    used       INTEGER NOT NULL   -- 1 once claimed, else 0
) STRICT, WITHOUT ROWID;

-- How far this device holds each peer's index of each folder.
CREATE TABLE peer_index_states (
    folder       INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,  -- folders.id
    device       INTEGER NOT NULL,  -- the peer's ShortId (bit pattern)
    index_id     INTEGER NOT NULL,  -- the peer's index id these rows came from (bit pattern)
    max_sequence INTEGER NOT NULL,  -- highest of the peer's sequences stored in announced
    PRIMARY KEY (folder, device)
) STRICT, WITHOUT ROWID;

-- Each peer's latest record of each path. Keyed like files (a directory's
-- entries adjacent), then by device, so a path's versions from all peers are
-- one range. Dropping one device's rows scans the folder: that happens only
-- when a peer's index id changes or a device is removed.
CREATE TABLE announced (
    folder         INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,  -- folders.id
    parent         TEXT NOT NULL,     -- folder-relative path of the directory holding it; '' is the root
    name           TEXT NOT NULL,     -- last path component
    device         INTEGER NOT NULL,  -- ShortId of the peer that announced it (bit pattern)
    kind           INTEGER NOT NULL,  -- FileKind: 0 file, 1 directory, 2 symlink
    size           INTEGER NOT NULL,  -- bytes (uint64 bit pattern)
    mtime_ns       INTEGER NOT NULL,  -- modification time, ns since the epoch
    mode           INTEGER NOT NULL,  -- permission bits (07777)
    deleted        INTEGER NOT NULL,  -- 1 for a tombstone, else 0
    version        BLOB NOT NULL,     -- VersionVector::encode()
    symlink_target TEXT NOT NULL,     -- symlinks only; '' otherwise
    sequence       INTEGER NOT NULL,  -- the peer's sequence of this version
    modified_by    INTEGER NOT NULL,  -- ShortId of the device that made this version (bit pattern)
    chunk_list     INTEGER,           -- announced_chunk_lists.id; NULL when the record has no chunks
    PRIMARY KEY (folder, parent, name, device)
) STRICT, WITHOUT ROWID;

-- The chunk lists of announced records. No foreign key: the store deletes a
-- list together with the row that names it (a key from announced to here
-- would need a second index over announced).
CREATE TABLE announced_chunk_lists (
    id     INTEGER PRIMARY KEY,  -- named by announced.chunk_list
    chunks BLOB NOT NULL         -- encode_chunk_list(): per chunk 32-byte hash and LEB128 size
) STRICT;
)sql";

// Pending targets: the record a sync step is about to put on disk, stored
// before the disk changes and deleted in the transaction that stores the
// record (Store::put_files). A crash in between leaves the row, and the
// next scan adopts what the disk holds as that record instead of taking it
// for a local edit (fs/pending_targets.hh). Few rows: a pull batch's steps.
constexpr const char* k_migration_3 = R"sql(
CREATE TABLE pending_targets (
    folder         INTEGER NOT NULL REFERENCES folders(id) ON DELETE CASCADE,  -- folders.id
    parent         TEXT NOT NULL,     -- folder-relative path of the directory holding it; '' is the root
    name           TEXT NOT NULL,     -- last path component
    kind           INTEGER NOT NULL,  -- FileKind: 0 file, 1 directory, 2 symlink
    size           INTEGER NOT NULL,  -- bytes (uint64 bit pattern)
    mtime_ns       INTEGER NOT NULL,  -- modification time the step gives it, ns since the epoch
    mode           INTEGER NOT NULL,  -- permission bits (07777) as the record says
    deleted        INTEGER NOT NULL,  -- 1 for a tombstone (the step removes the path), else 0
    version        BLOB NOT NULL,     -- VersionVector::encode()
    symlink_target TEXT NOT NULL,     -- symlinks only; '' otherwise
    modified_by    INTEGER NOT NULL,  -- ShortId of the device that made this version (bit pattern)
    chunks         BLOB NOT NULL,     -- encode_chunk_list(); empty when the record has no chunks
    PRIMARY KEY (folder, parent, name)
) STRICT;
)sql";

constexpr std::array k_migrations = {k_migration_1, k_migration_2, k_migration_3};

Result<int> user_version(sqlite::Database& db) {
    auto stmt = db.prepare("PRAGMA user_version", "read the schema version");
    if (!stmt) return tl::unexpected(stmt.error());
    sqlite::ResetOnExit reset(*stmt);
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    return static_cast<int>(stmt->column_int(0));
}

}  // namespace

int latest_schema_version() { return static_cast<int>(k_migrations.size()); }

Result<int> migrate(sqlite::Database& db) { return migrate(db, latest_schema_version()); }

Result<int> migrate(sqlite::Database& db, int target) {
    auto version = user_version(db);
    if (!version) return version;
    const int latest = latest_schema_version();
    if (*version > latest) {
        return fail(Errc::too_new, db.path() + " was written by a newer ferry (schema " +
                                       std::to_string(*version) + ", this ferry knows up to " +
                                       std::to_string(latest) + "): upgrade ferry");
    }
    for (int next = *version + 1; next <= std::min(target, latest); ++next) {
        const std::string purpose = "apply schema migration " + std::to_string(next);
        auto txn = sqlite::Transaction::begin(db, purpose);
        if (!txn) return tl::unexpected(txn.error());
        // Another process may have migrated between our read and our lock.
        auto now = user_version(db);
        if (!now) return now;
        if (*now >= next) continue;
        const std::string sql = std::string(k_migrations[static_cast<std::size_t>(next - 1)]) +
                                "\nPRAGMA user_version = " + std::to_string(next) + ";";
        if (auto ok = db.exec(sql, purpose); !ok) return tl::unexpected(ok.error());
        if (auto ok = txn->commit(); !ok) return tl::unexpected(ok.error());
    }
    return std::max(*version, std::min(target, latest));
}

}  // namespace ferry::store
