// The SQLite MetadataStore (private to relay/): its class, shared by
// metadata_sqlite.cc (opening, schema, accounts, sessions),
// metadata_chunks.cc (chunk rows) and metadata_mailbox.cc (mailboxes,
// expiry).
//
// Thread rule: every public method takes m_mutex, so one connection serves
// the whole process; other processes (ferry-relay user ...) use their own,
// and BEGIN IMMEDIATE with a busy timeout orders the writers.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "relay/group_commit.hh"
#include "relay/metadata_store.hh"
#include "store/sqlite.hh"

namespace ferry::relay {

namespace sql_detail {

template <class T>
tl::unexpected<Error> error_of(const Result<T>& result) {
    return tl::unexpected(result.error());
}

// SQLite integers are signed: unsigned sizes are stored as their bit pattern.
inline std::int64_t to_sql(std::uint64_t value) {
    return static_cast<std::int64_t>(value);
}
inline std::uint64_t from_sql(std::int64_t value) {
    return static_cast<std::uint64_t>(value);
}

template <std::size_t N>
std::span<const std::uint8_t> blob(const std::array<std::uint8_t, N>& bytes) {
    return {bytes.data(), N};
}

// Column `index` as a fixed-size array; false when its length is not N.
template <std::size_t N>
bool read_blob(const sqlite::Statement& stmt, int index, std::array<std::uint8_t, N>& out) {
    const auto bytes = stmt.column_blob(index);
    if (bytes.size() != N) return false;
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return true;
}

}  // namespace sql_detail

class SqliteMetadata final : public MetadataStore {
public:
    explicit SqliteMetadata(std::unique_ptr<sqlite::Database> db)
        : m_db(std::move(db)), m_statements(*m_db) {}

    Result<void> add_account(const std::string& name, const TokenHash& token_hash,
                             std::uint64_t quota_bytes, std::int64_t now_ns) override;
    Result<std::vector<AccountInfo>> accounts() override;
    Result<void> set_quota(const std::string& name, std::uint64_t quota_bytes) override;
    Result<std::vector<ChunkRef>> remove_account(const std::string& name) override;
    Result<RelayTotals> totals() override;

    Result<std::optional<Account>> account_by_user_key(const PublicKey& user_key) override;
    Result<std::optional<Account>> account_by_name(const std::string& name) override;
    Result<Account> bind_token(const TokenHash& token_hash, const PublicKey& user_key) override;
    Result<void> add_revocations(std::int64_t account,
                                 std::span<const Revocation> revocations) override;
    Result<bool> is_revoked(std::int64_t account, const PublicKey& device_key) override;
    Result<void> device_seen(std::int64_t account, const PublicKey& device_key,
                             std::int64_t now_ns) override;

    Result<Reservation> reserve_chunks(std::int64_t account, std::span<const ChunkSize> chunks,
                                       std::int64_t now_ns) override;
    Result<void> mark_stored(std::int64_t account,
                             std::span<const wire::RelayChunkId> chunks) override;
    Result<std::vector<bool>> stored(std::int64_t account,
                                     std::span<const wire::RelayChunkId> chunks) override;
    Result<bool> row_exists(const ChunkRef& chunk) override;
    Result<Usage> usage(std::int64_t account) override;

    Result<PostResult> post(const PostRequest& request, const MailboxLimits& limits) override;
    Result<FetchResult> fetch(std::int64_t account, const PublicKey& device,
                              std::uint32_t max_messages, std::uint64_t max_bytes) override;
    Result<Usage> ack(std::int64_t account, const PublicKey& device,
                      std::span<const wire::MailboxMessageId> message_ids, std::int64_t now_ns) override;

    Result<ExpiryResult> expire(std::int64_t now_ns, std::int64_t notice_expires_ns) override;
    Result<std::vector<ChunkRef>> unreferenced_chunks(std::int64_t put_before_ns) override;
    Result<std::vector<ChunkRef>> stale_pending(std::int64_t put_before_ns) override;
    Result<bool> drop_unreferenced(const ChunkRef& chunk, std::int64_t put_before_ns) override;
    Result<bool> drop_pending(const ChunkRef& chunk) override;

private:
    // The prepared statement for `text` (prepared on first use, then kept),
    // reset and ready for bindings. Caller holds m_mutex.
    Result<sqlite::Statement*> statement(std::string_view text, std::string_view purpose);
    // Helpers that run inside a caller's transaction (caller holds m_mutex).
    Result<Usage> usage_locked(std::int64_t account);
    Result<void> charge_locked(std::int64_t account, std::int64_t delta);
    // Drops the chunk references of (account, message id) once no
    // undelivered message with that id is left.
    Result<void> release_references_locked(std::int64_t account,
                                           const wire::MailboxMessageId& message_id);
    Result<std::vector<ChunkRef>> chunk_refs_locked(std::string_view text, std::string_view purpose,
                                                    std::int64_t parameter);
    Error corrupt(std::string_view what) const;
    // Concurrent reserve_chunks() calls share one synced transaction.
    struct ReservationRequest {
        std::int64_t account = 0;
        std::span<const ChunkSize> chunks;  // the caller's, alive until it returns
        std::int64_t now_ns = 0;
    };
    // One put's reservation inside the caller's transaction (caller holds m_mutex).
    Result<Reservation> reserve_locked(const ReservationRequest& request);
    // A chunk row's state (kPending, kStored), nullopt when there is none.
    Result<std::optional<std::int64_t>> chunk_state_locked(const ChunkRef& chunk);
    using ReservationCommit = GroupCommit<ReservationRequest, Result<Reservation>>;
    ReservationCommit m_reservations;

    std::mutex m_mutex;
    std::unique_ptr<sqlite::Database> m_db;
    sqlite::StatementCache m_statements;
};

}  // namespace ferry::relay
