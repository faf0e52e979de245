// The relay's metadata: accounts, devices, revocations, chunk rows and the
// device mailboxes (proto/relay.md), as one transactional store.
//
// Each call is one transaction: it happens entirely or not at all, and the
// limits it checks (quota, mailbox bounds) are checked in the transaction
// that stores, so concurrent calls cannot overshoot them. A PostgreSQL store
// can implement the same interface (docs/ARCHITECTURE.md, "Relay
// scale-out"); the local one is SQLite (WAL, synchronous=FULL) in
// DATA/relay.db, whose schema carries a version number.
//
// Usage: an account is charged the stored size of each chunk it put (once:
// a second put of the same chunk is free) and the payload size of each
// mailbox entry (once per recipient). Expiry notices are free.
//
// Chunk rows are `pending` from the reservation until the object is
// durable, then `stored`. A chunk is referenced while an undelivered message
// of its account names it; references are kept per (account, message id),
// so a message posted to 100 devices records its chunks once.
//
// Thread rule: thread-safe (the local store serialises its connection).
// Failures: Errc::not_found (no such account), Errc::busy (locked by another
// process beyond the busy timeout), Errc::io / corrupt / no_space from the
// database, each naming the database file and what it was doing.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "net/messages.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

using TokenHash = std::array<std::uint8_t, 32>;

struct Account {
    std::int64_t id = 0;  // never reused, even after the account is removed
    std::string name;
    std::optional<PublicKey> user_key;  // set once a device used the token
    std::uint64_t quota_bytes = 0;      // 0: unlimited
    std::uint64_t used_bytes = 0;
};

struct Usage {
    std::uint64_t used_bytes = 0;
    std::uint64_t quota_bytes = 0;
};

struct ChunkRef {
    std::int64_t account = 0;
    wire::RelayChunkId chunk{};
    friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

// One chunk of a put, with the size it is stored at.
struct ChunkSize {
    wire::RelayChunkId chunk{};
    std::uint64_t size = 0;
};

enum class ReserveOutcome {
    reserved,  // a new pending row; usage charged: write the object
    pending,   // another put of it is unfinished; nothing charged: write the object
    stored,    // already stored: nothing to do, nothing charged
};

struct Reservation {
    bool quota_exceeded = false;           // nothing changed
    Usage usage;                           // after the call
    std::vector<ReserveOutcome> outcomes;  // one per chunk (none when quota_exceeded)
};

// One MailboxPost as the relay stores it.
struct PostRequest {
    std::int64_t account = 0;
    wire::MailboxMessageId message_id{};
    PublicKey sender{};
    std::span<const wire::DeviceKey> recipients;  // distinct
    std::string_view payload;
    std::span<const wire::RelayChunkId> chunks;  // recorded whether stored yet or not
    std::int64_t posted_ns = 0;
    std::int64_t expires_ns = 0;
};

struct MailboxLimits {
    std::uint64_t max_bytes = 0;     // per device mailbox, payload bytes
    std::uint32_t max_messages = 0;  // per device mailbox, entries
};

enum class PostOutcome {
    posted,
    quota_exceeded,  // nothing stored
    mailbox_full,    // nothing stored; `full_mailbox` says whose
};

struct PostResult {
    PostOutcome outcome = PostOutcome::posted;
    Usage usage;
    PublicKey full_mailbox{};
    std::vector<PublicKey> delivered_to;  // recipients that got a new entry (not duplicates)
};

struct FetchResult {
    std::vector<wire::MailboxEntry> entries;
    bool more = false;
};

struct ExpiryResult {
    std::vector<PublicKey> notified;  // senders that got expiry notices, distinct
    std::uint64_t expired = 0;        // messages removed
};

class MetadataStore {
public:
    virtual ~MetadataStore() = default;

    // ---- accounts (RelayAdmin) ----
    // Errc::already_exists when the name is taken.
    virtual Result<void> add_account(const std::string& name, const TokenHash& token_hash,
                                     std::uint64_t quota_bytes, std::int64_t now_ns) = 0;
    virtual Result<std::vector<AccountInfo>> accounts() = 0;
    virtual Result<void> set_quota(const std::string& name, std::uint64_t quota_bytes) = 0;
    // Deletes the account and everything it owns; returns its chunks, whose
    // objects the caller removes next (rows go first: an object without a
    // row is an orphan maintain() sweeps; the reverse would be a lie).
    virtual Result<std::vector<ChunkRef>> remove_account(const std::string& name) = 0;
    virtual Result<RelayTotals> totals() = 0;

    // ---- sessions ----
    virtual Result<std::optional<Account>> account_by_user_key(const PublicKey& user_key) = 0;
    virtual Result<std::optional<Account>> account_by_name(const std::string& name) = 0;
    // Binds the account whose token hashes to `token_hash` to `user_key`.
    // Errc::not_found (no such token), Errc::permission_denied (used).
    virtual Result<Account> bind_token(const TokenHash& token_hash, const PublicKey& user_key) = 0;
    // Records verified revocations (the newest time wins for a device).
    virtual Result<void> add_revocations(std::int64_t account,
                                         std::span<const Revocation> revocations) = 0;
    virtual Result<bool> is_revoked(std::int64_t account, const PublicKey& device_key) = 0;
    virtual Result<void> device_seen(std::int64_t account, const PublicKey& device_key,
                                     std::int64_t now_ns) = 0;

    // ---- chunks ----
    // The chunks of one put (distinct ids), together: those neither stored
    // nor pending get pending rows and are charged if they all fit the
    // quota, else nothing changes (quota_exceeded). A stored one has its
    // put time refreshed (a message referring to it follows).
    virtual Result<Reservation> reserve_chunks(std::int64_t account,
                                               std::span<const ChunkSize> chunks,
                                               std::int64_t now_ns) = 0;
    // Marks these pending rows stored; Errc::not_found when some row is gone
    // (dropped as a stale put; the others are marked).
    virtual Result<void> mark_stored(std::int64_t account,
                                     std::span<const wire::RelayChunkId> chunks) = 0;
    // Per id: whether it is stored (pending counts as absent).
    virtual Result<std::vector<bool>> stored(std::int64_t account,
                                             std::span<const wire::RelayChunkId> chunks) = 0;
    virtual Result<bool> row_exists(const ChunkRef& chunk) = 0;
    virtual Result<Usage> usage(std::int64_t account) = 0;

    // ---- mailboxes ----
    virtual Result<PostResult> post(const PostRequest& request, const MailboxLimits& limits) = 0;
    // Oldest first: at most `max_messages`, and entries while their payloads
    // fit `max_bytes` (the first one always).
    virtual Result<FetchResult> fetch(std::int64_t account, const PublicKey& device,
                                      std::uint32_t max_messages, std::uint64_t max_bytes) = 0;
    // Deletes those entries (messages and notices) of this device's mailbox.
    // The chunks a delivered message named start their unreferenced grace
    // again at `now_ns`: the recipient fetches them after it has the message.
    virtual Result<Usage> ack(std::int64_t account, const PublicKey& device,
                              std::span<const wire::MailboxMessageId> message_ids,
                              std::int64_t now_ns) = 0;

    // ---- maintenance ----
    // Removes messages whose expiry passed (usage released) and adds a
    // notice to each sender's mailbox, kept until `notice_expires_ns`;
    // removes notices whose own expiry passed.
    virtual Result<ExpiryResult> expire(std::int64_t now_ns, std::int64_t notice_expires_ns) = 0;
    // Stored chunks put before `put_before_ns` that no message refers to.
    virtual Result<std::vector<ChunkRef>> unreferenced_chunks(std::int64_t put_before_ns) = 0;
    // Pending rows older than `put_before_ns` (puts a crash interrupted).
    virtual Result<std::vector<ChunkRef>> stale_pending(std::int64_t put_before_ns) = 0;
    // Deletes the row (releasing its usage) if it still is unreferenced and
    // put before `put_before_ns`; whether it did.
    virtual Result<bool> drop_unreferenced(const ChunkRef& chunk, std::int64_t put_before_ns) = 0;
    // Deletes a pending row (releasing its usage); whether there was one.
    virtual Result<bool> drop_pending(const ChunkRef& chunk) = 0;
};

// The local store: SQLite in `data_dir`/relay.db (created and migrated).
Result<std::unique_ptr<MetadataStore>> open_local_metadata(const std::string& data_dir);

}  // namespace ferry::relay
