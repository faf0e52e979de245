// SqliteMetadata: device mailboxes (post, fetch, ack) and message expiry.
#include "relay/metadata_sqlite.hh"

namespace ferry::relay {

using namespace sql_detail;
using sqlite::ResetOnExit;
using sqlite::Transaction;

Result<void> SqliteMetadata::release_references_locked(std::int64_t account,
                                                       const wire::MailboxMessageId& message_id) {
    auto stmt = statement(
        "DELETE FROM message_chunks WHERE account = ?1 AND message_id = ?2 AND NOT EXISTS"
        " (SELECT 1 FROM messages WHERE account = ?1 AND message_id = ?2 AND notice = 0)",
        "release a message's chunks");
    if (!stmt) return error_of(stmt);
    (*stmt)->bind_int(1, account);
    (*stmt)->bind_blob(2, blob(message_id));
    return (*stmt)->run();
}

Result<PostResult> SqliteMetadata::post(const PostRequest& request, const MailboxLimits& limits) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "post a message");
    if (!txn) return error_of(txn);
    PostResult result;
    auto usage = usage_locked(request.account);
    if (!usage) return error_of(usage);
    result.usage = *usage;

    auto duplicate = statement(
        "SELECT 1 FROM messages WHERE account = ? AND recipient = ? AND message_id = ? AND notice "
        "= 0",
        "look for a posted message");
    auto mailbox = statement(
        "SELECT count(*), coalesce(sum(length(payload)), 0) FROM messages"
        " WHERE account = ? AND recipient = ?",
        "measure a mailbox");
    if (!duplicate) return error_of(duplicate);
    if (!mailbox) return error_of(mailbox);
    const std::uint64_t size = request.payload.size();
    for (const wire::DeviceKey& recipient : request.recipients) {
        {
            ResetOnExit reset(**duplicate);
            (*duplicate)->bind_int(1, request.account);
            (*duplicate)->bind_blob(2, blob(recipient));
            (*duplicate)->bind_blob(3, blob(request.message_id));
            auto row = (*duplicate)->step();
            if (!row) return error_of(row);
            if (*row) continue;  // a retry: stored once
        }
        ResetOnExit reset(**mailbox);
        (*mailbox)->bind_int(1, request.account);
        (*mailbox)->bind_blob(2, blob(recipient));
        auto row = (*mailbox)->step();
        if (!row) return error_of(row);
        const std::uint64_t count = from_sql((*mailbox)->column_int(0));
        const std::uint64_t bytes = from_sql((*mailbox)->column_int(1));
        if (count + 1 > limits.max_messages || size > limits.max_bytes ||
            bytes > limits.max_bytes - size) {
            result.outcome = PostOutcome::mailbox_full;
            result.full_mailbox = recipient;
            return result;
        }
        result.delivered_to.push_back(recipient);
    }
    const std::uint64_t charge = size * result.delivered_to.size();
    if (usage->quota_bytes != 0 &&
        (charge > usage->quota_bytes || usage->used_bytes > usage->quota_bytes - charge)) {
        result.outcome = PostOutcome::quota_exceeded;
        result.delivered_to.clear();
        return result;
    }
    if (result.delivered_to.empty()) return result;

    auto insert = statement(
        "INSERT INTO messages (account, recipient, message_id, peer, posted_ns, expires_ns,"
        " notice, payload, size) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?)",
        "store a message");
    if (!insert) return error_of(insert);
    for (const wire::DeviceKey& recipient : result.delivered_to) {
        (*insert)->bind_int(1, request.account);
        (*insert)->bind_blob(2, blob(recipient));
        (*insert)->bind_blob(3, blob(request.message_id));
        (*insert)->bind_blob(4, blob(request.sender));
        (*insert)->bind_int(5, request.posted_ns);
        (*insert)->bind_int(6, request.expires_ns);
        (*insert)->bind_blob(7, request.payload);
        (*insert)->bind_int(8, to_sql(size));
        if (auto ok = (*insert)->run(); !ok) return error_of(ok);
    }
    auto reference = statement(
        "INSERT OR IGNORE INTO message_chunks (account, message_id, chunk) VALUES (?, ?, ?)",
        "record a message's chunk");
    if (!reference) return error_of(reference);
    for (const wire::RelayChunkId& chunk : request.chunks) {
        (*reference)->bind_int(1, request.account);
        (*reference)->bind_blob(2, blob(request.message_id));
        (*reference)->bind_blob(3, blob(chunk));
        if (auto ok = (*reference)->run(); !ok) return error_of(ok);
    }
    if (auto ok = charge_locked(request.account, to_sql(charge)); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    result.usage.used_bytes += charge;
    return result;
}

Result<FetchResult> SqliteMetadata::fetch(std::int64_t account, const PublicKey& device,
                                          std::uint32_t max_messages, std::uint64_t max_bytes) {
    std::lock_guard lock(m_mutex);
    auto stmt = statement(
        "SELECT message_id, peer, posted_ns, notice, payload FROM messages"
        " WHERE account = ? AND recipient = ? ORDER BY seq LIMIT ?",
        "read a mailbox");
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(**stmt);
    (*stmt)->bind_int(1, account);
    (*stmt)->bind_blob(2, blob(device));
    (*stmt)->bind_int(3, static_cast<std::int64_t>(max_messages) + 1);
    FetchResult result;
    std::uint64_t bytes = 0;
    for (;;) {
        auto row = (*stmt)->step();
        if (!row) return error_of(row);
        if (!*row) break;
        const auto payload = (*stmt)->column_blob(4);
        const bool fits = result.entries.empty() || (result.entries.size() < max_messages &&
                                                     bytes + payload.size() <= max_bytes);
        if (!fits) {
            result.more = true;
            break;
        }
        wire::MailboxEntry entry;
        if (!read_blob(**stmt, 0, entry.message_id) || !read_blob(**stmt, 1, entry.peer)) {
            return tl::unexpected(corrupt("a mailbox entry has a malformed id or device key"));
        }
        entry.posted_ns = (*stmt)->column_int(2);
        entry.expired = (*stmt)->column_int(3) != 0;
        entry.payload.assign(reinterpret_cast<const char*>(payload.data()), payload.size());
        bytes += payload.size();
        result.entries.push_back(std::move(entry));
    }
    return result;
}

Result<Usage> SqliteMetadata::ack(std::int64_t account, const PublicKey& device,
                                  std::span<const wire::MailboxMessageId> message_ids,
                                  std::int64_t now_ns) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "acknowledge messages");
    if (!txn) return error_of(txn);
    auto remove = statement(
        "DELETE FROM messages WHERE account = ? AND recipient = ? AND message_id = ? RETURNING "
        "size",
        "delete acknowledged messages");
    if (!remove) return error_of(remove);
    auto regrace = statement(
        "UPDATE chunks SET put_ns = max(put_ns, ?1) WHERE account = ?2 AND chunk IN"
        " (SELECT chunk FROM message_chunks WHERE account = ?2 AND message_id = ?3)",
        "restart the grace of delivered chunks");
    if (!regrace) return error_of(regrace);
    std::int64_t freed = 0;
    for (const wire::MailboxMessageId& id : message_ids) {
        {
            ResetOnExit reset(**regrace);
            (*regrace)->bind_int(1, now_ns);
            (*regrace)->bind_int(2, account);
            (*regrace)->bind_blob(3, blob(id));
            if (auto ok = (*regrace)->run(); !ok) return error_of(ok);
        }
        {
            ResetOnExit reset(**remove);
            (*remove)->bind_int(1, account);
            (*remove)->bind_blob(2, blob(device));
            (*remove)->bind_blob(3, blob(id));
            for (;;) {
                auto row = (*remove)->step();
                if (!row) return error_of(row);
                if (!*row) break;
                freed += (*remove)->column_int(0);
            }
        }
        if (auto ok = release_references_locked(account, id); !ok) return error_of(ok);
    }
    if (auto ok = charge_locked(account, -freed); !ok) return error_of(ok);
    auto usage = usage_locked(account);
    if (!usage) return usage;
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return usage;
}

namespace {

struct ExpiredRow {
    std::int64_t seq = 0;
    std::int64_t account = 0;
    PublicKey recipient{};
    wire::MailboxMessageId message_id{};
    PublicKey peer{};
    std::int64_t posted_ns = 0;
    bool notice = false;
    std::int64_t size = 0;
};

}  // namespace

Result<ExpiryResult> SqliteMetadata::expire(std::int64_t now_ns, std::int64_t notice_expires_ns) {
    std::lock_guard lock(m_mutex);
    auto txn = Transaction::begin(*m_db, "expire messages");
    if (!txn) return error_of(txn);
    auto select = statement(
        "SELECT seq, account, recipient, message_id, peer, posted_ns, notice, size FROM messages"
        " WHERE expires_ns <= ? ORDER BY seq",
        "find expired messages");
    if (!select) return error_of(select);
    std::vector<ExpiredRow> rows;
    {
        ResetOnExit reset(**select);
        (*select)->bind_int(1, now_ns);
        for (;;) {
            auto row = (*select)->step();
            if (!row) return error_of(row);
            if (!*row) break;
            ExpiredRow expired;
            expired.seq = (*select)->column_int(0);
            expired.account = (*select)->column_int(1);
            if (!read_blob(**select, 2, expired.recipient) ||
                !read_blob(**select, 3, expired.message_id) ||
                !read_blob(**select, 4, expired.peer)) {
                return tl::unexpected(corrupt("a mailbox entry has a malformed id or device key"));
            }
            expired.posted_ns = (*select)->column_int(5);
            expired.notice = (*select)->column_int(6) != 0;
            expired.size = (*select)->column_int(7);
            rows.push_back(expired);
        }
    }
    auto remove = statement("DELETE FROM messages WHERE seq = ?", "delete an expired message");
    auto notice = statement(
        "INSERT OR IGNORE INTO messages (account, recipient, message_id, peer, posted_ns,"
        " expires_ns, notice, payload, size) VALUES (?, ?, ?, ?, ?, ?, 1, x'', 0)",
        "post an expiry notice");
    if (!remove) return error_of(remove);
    if (!notice) return error_of(notice);
    ExpiryResult result;
    for (const ExpiredRow& row : rows) {
        (*remove)->bind_int(1, row.seq);
        if (auto ok = (*remove)->run(); !ok) return error_of(ok);
        if (row.notice) continue;  // a notice nobody fetched simply goes
        ++result.expired;
        if (auto ok = charge_locked(row.account, -row.size); !ok) return error_of(ok);
        if (auto ok = release_references_locked(row.account, row.message_id); !ok) {
            return error_of(ok);
        }
        (*notice)->bind_int(1, row.account);
        (*notice)->bind_blob(2, blob(row.peer));
        (*notice)->bind_blob(3, blob(row.message_id));
        (*notice)->bind_blob(4, blob(row.recipient));
        (*notice)->bind_int(5, row.posted_ns);
        (*notice)->bind_int(6, notice_expires_ns);
        if (auto ok = (*notice)->run(); !ok) return error_of(ok);
        if (std::find(result.notified.begin(), result.notified.end(), row.peer) ==
            result.notified.end()) {
            result.notified.push_back(row.peer);
        }
    }
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    return result;
}

}  // namespace ferry::relay
