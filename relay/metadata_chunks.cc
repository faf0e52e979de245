// SqliteMetadata: chunk rows (reservation, state, references, clean-up).
#include "relay/metadata_sqlite.hh"

namespace ferry::relay {

using namespace sql_detail;
using sqlite::ResetOnExit;
using sqlite::Transaction;

namespace {

enum ChunkState : std::int64_t { kPending = 0, kStored = 1 };

void bind_ref(sqlite::Statement& stmt, int first, const ChunkRef& chunk) {
    stmt.bind_int(first, chunk.account);
    stmt.bind_blob(first + 1, blob(chunk.chunk));
}

}  // namespace

// Group commit: every put needs its reservation durable (one synced
// commit), and they come many at a time. A caller queues its reservation,
// then takes the database; the first one in commits every queued
// reservation in one transaction (one sync), and those it took find their
// result when they get the database in turn. Each is checked in queue
// order against the usage the ones before it left, so the quota holds
// exactly as if they had been committed one by one.
Result<Reservation> SqliteMetadata::reserve_chunks(std::int64_t account,
                                                   std::span<const ChunkSize> chunks,
                                                   std::int64_t now_ns) {
    return m_reservations.submit(ReservationRequest{account, chunks, now_ns},
                                 [this](ReservationCommit::Batch& batch) {
                                     std::lock_guard lock(m_mutex);
                                     const auto fail_all = [&](const Error& error) {
                                         for (const auto& entry : batch)
                                             entry->outcome = tl::unexpected(error);
                                     };
                                     auto txn = Transaction::begin(*m_db, "reserve chunks");
                                     if (!txn) return fail_all(txn.error());
                                     for (const auto& entry : batch) {
                                         auto reserved = reserve_locked(entry->item);
                                         // The transaction is rolled back: none of them holds.
                                         if (!reserved) return fail_all(reserved.error());
                                         entry->outcome = std::move(reserved);
                                     }
                                     if (auto ok = txn->commit(); !ok) fail_all(ok.error());
                                 });
}

Result<std::optional<std::int64_t>> SqliteMetadata::chunk_state_locked(const ChunkRef& chunk) {
    auto stmt =
        statement("SELECT state FROM chunks WHERE account = ? AND chunk = ?", "look up a chunk");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    bind_ref(**stmt, 1, chunk);
    auto row = (*stmt)->step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>((*stmt)->column_int(0));
}

Result<Reservation> SqliteMetadata::reserve_locked(const ReservationRequest& request) {
    auto usage = usage_locked(request.account);
    if (!usage) return error_of(usage);
    Reservation out;
    out.outcomes.reserve(request.chunks.size());
    std::uint64_t needed = 0;
    for (const ChunkSize& chunk : request.chunks) {
        auto state = chunk_state_locked(ChunkRef{request.account, chunk.chunk});
        if (!state) return error_of(state);
        if (*state == kPending) {
            out.outcomes.push_back(ReserveOutcome::pending);
        } else if (*state == kStored) {
            out.outcomes.push_back(ReserveOutcome::stored);
        } else {
            out.outcomes.push_back(ReserveOutcome::reserved);
            needed += chunk.size;
        }
    }
    if (usage->quota_bytes != 0 &&
        (needed > usage->quota_bytes || usage->used_bytes > usage->quota_bytes - needed)) {
        return Reservation{true, *usage, {}};
    }
    for (std::size_t i = 0; i < request.chunks.size(); ++i) {
        const ChunkRef ref{request.account, request.chunks[i].chunk};
        if (out.outcomes[i] == ReserveOutcome::stored) {
            // A put of a stored chunk restarts its grace: the device is about
            // to post a message that refers to it.
            auto touch = statement(
                "UPDATE chunks SET put_ns = max(put_ns, ?) WHERE account = ? AND chunk = ?",
                "refresh a chunk's put time");
            if (!touch) return error_of(touch);
            (*touch)->bind_int(1, request.now_ns);
            bind_ref(**touch, 2, ref);
            if (auto ok = (*touch)->run(); !ok) return error_of(ok);
        } else if (out.outcomes[i] == ReserveOutcome::reserved) {
            auto insert = statement(
                "INSERT INTO chunks (account, chunk, size, state, put_ns) VALUES (?, ?, ?, 0, ?)",
                "reserve a chunk");
            if (!insert) return error_of(insert);
            bind_ref(**insert, 1, ref);
            (*insert)->bind_int(3, to_sql(request.chunks[i].size));
            (*insert)->bind_int(4, request.now_ns);
            if (auto ok = (*insert)->run(); !ok) return error_of(ok);
        }
    }
    if (needed != 0) {
        if (auto ok = charge_locked(request.account, to_sql(needed)); !ok) return error_of(ok);
    }
    usage->used_bytes += needed;
    out.usage = *usage;
    return out;
}

Result<void> SqliteMetadata::mark_stored(std::int64_t account,
                                         std::span<const wire::RelayChunkId> chunks) {
    std::lock_guard lock(m_mutex);
    // This commit need not reach the disk before the put is answered: the
    // objects are durable already, and a pending row whose object exists is
    // marked stored again by a retried put or by maintain() after a crash.
    // So it does not wait for an fsync of its own (the next FULL commit
    // syncs it with its own); that halves the syncs of a put.
    if (auto ok = m_db->exec("PRAGMA synchronous = NORMAL", "mark chunks stored"); !ok) return ok;
    struct FullAgain {
        sqlite::Database& db;
        ~FullAgain() { (void)db.exec("PRAGMA synchronous = FULL", "mark chunks stored"); }
    } full_again{*m_db};
    auto txn = Transaction::begin(*m_db, "mark chunks stored");
    if (!txn) return error_of(txn);
    auto stmt = statement("UPDATE chunks SET state = 1 WHERE account = ? AND chunk = ? RETURNING 1",
                          "mark a chunk stored");
    if (!stmt) return error_of(stmt);
    std::size_t gone = 0;
    for (const wire::RelayChunkId& chunk : chunks) {
        ResetOnExit reset(**stmt);
        bind_ref(**stmt, 1, ChunkRef{account, chunk});
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) ++gone;
    }
    if (auto ok = txn->commit(); !ok) return ok;
    if (gone != 0) {
        return fail(Errc::not_found,
                    m_db->path() + ": the reservation of " + std::to_string(gone) + " of " +
                        std::to_string(chunks.size()) +
                        " chunks is gone (dropped as a stale put); put them again");
    }
    return {};
}

Result<std::vector<bool>> SqliteMetadata::stored(std::int64_t account,
                                                 std::span<const wire::RelayChunkId> chunks) {
    std::lock_guard lock(m_mutex);
    auto stmt =
        statement("SELECT state FROM chunks WHERE account = ? AND chunk = ?", "look up a chunk");
    if (!stmt) return error_of(stmt);
    // One snapshot for the whole batch.
    if (auto ok = m_db->control(sqlite::Database::Control::begin_read, "look up chunks"); !ok) {
        return error_of(ok);
    }
    sqlite::EndReadOnExit end(*m_db);
    std::vector<bool> out;
    out.reserve(chunks.size());
    for (const auto& chunk : chunks) {
        ResetOnExit reset(**stmt);
        bind_ref(**stmt, 1, ChunkRef{account, chunk});
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        out.push_back(*row && (*stmt)->column_int(0) == kStored);
    }
    return out;
}

Result<bool> SqliteMetadata::row_exists(const ChunkRef& chunk) {
    std::lock_guard lock(m_mutex);
    auto stmt =
        statement("SELECT 1 FROM chunks WHERE account = ? AND chunk = ?", "look up a chunk");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    bind_ref(**stmt, 1, chunk);
    return (*stmt)->step();
}

Result<std::vector<ChunkRef>> SqliteMetadata::unreferenced_chunks(std::int64_t put_before_ns) {
    std::lock_guard lock(m_mutex);
    return chunk_refs_locked(
        "SELECT account, chunk FROM chunks c WHERE state = 1 AND put_ns < ? AND NOT EXISTS"
        " (SELECT 1 FROM message_chunks r WHERE r.account = c.account AND r.chunk = c.chunk)",
        "list unreferenced chunks", put_before_ns);
}

Result<std::vector<ChunkRef>> SqliteMetadata::stale_pending(std::int64_t put_before_ns) {
    std::lock_guard lock(m_mutex);
    return chunk_refs_locked("SELECT account, chunk FROM chunks WHERE state = 0 AND put_ns < ?",
                             "list unfinished chunk puts", put_before_ns);
}

Result<bool> SqliteMetadata::drop_unreferenced(const ChunkRef& chunk, std::int64_t put_before_ns) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "drop an unreferenced chunk");
    if (!txn) return error_of(txn);
    auto stmt = statement(
        "DELETE FROM chunks AS c WHERE account = ? AND chunk = ? AND state = 1 AND put_ns < ?"
        " AND NOT EXISTS (SELECT 1 FROM message_chunks r"
        "  WHERE r.account = c.account AND r.chunk = c.chunk) RETURNING size",
        "drop an unreferenced chunk");
    if (!stmt) return error_of(stmt);
    std::int64_t size = 0;
    {
        ResetOnExit reset(**stmt);
        bind_ref(**stmt, 1, chunk);
        (*stmt)->bind_int(3, put_before_ns);
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) return false;
        size = (*stmt)->column_int(0);
    }
    if (auto ok = charge_locked(chunk.account, -size); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return true;
}

Result<bool> SqliteMetadata::drop_pending(const ChunkRef& chunk) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "drop an unfinished chunk put");
    if (!txn) return error_of(txn);
    auto stmt =
        statement("DELETE FROM chunks WHERE account = ? AND chunk = ? AND state = 0 RETURNING size",
                  "drop an unfinished chunk put");
    if (!stmt) return error_of(stmt);
    std::int64_t size = 0;
    {
        ResetOnExit reset(**stmt);
        bind_ref(**stmt, 1, chunk);
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) return false;
        size = (*stmt)->column_int(0);
    }
    if (auto ok = charge_locked(chunk.account, -size); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return true;
}

}  // namespace ferry::relay
