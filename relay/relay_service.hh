// What a ferry-relay does with a request from an authenticated device,
// without sockets: accounts, quotas, the chunk store and the mailboxes
// (proto/relay.md). The network server (relay/relay_server.hh) owns the
// connections, runs the handshake, and hands every request here.
//
// Storage sits behind two interfaces (relay/chunk_store.hh for sealed chunk
// bytes, relay/metadata_store.hh for accounts, mailboxes and chunk
// references) so that an object store and a database server can replace the
// local files and SQLite (docs/ARCHITECTURE.md, "Relay scale-out").
//
// Guarantees: a MailboxPost or ChunkPut is answered ok only once it is
// durable (fsynced); a message stays in its mailbox until the recipient acks
// it or it expires (the sender then finds an expiry notice in its own
// mailbox); quota and mailbox bounds are checked in the same transaction
// that stores, so concurrent requests cannot overshoot them; stores are
// refused (RelayCode::unavailable) once the data folder's disk is fuller
// than `max_disk_fraction`.
//
// Thread rule: thread-safe; the server calls it from its worker threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "net/messages.hh"

namespace ferry::relay {

struct ServiceOptions {
    std::chrono::seconds default_ttl{30LL * 24 * 3600};
    std::chrono::seconds max_ttl{90LL * 24 * 3600};
    std::uint64_t max_mailbox_bytes = 1ull << 30;  // per device mailbox
    std::uint32_t max_mailbox_messages = 100'000;
    // A chunk no message refers to is kept this long after its Put (the
    // MailboxPost that refers to it follows its chunks).
    std::chrono::seconds unreferenced_grace{24 * 3600};
    double max_disk_fraction = 0.90;
    // A chunk put whose object is still not durable after this long was
    // interrupted (a crash): maintain() finishes or drops it.
    std::chrono::seconds unfinished_put_timeout{3600};
    // How often maintain() lists every stored object for orphans (objects
    // a crash left without a record) and has the chunk store reclaim the
    // space of removed objects: the first call does, then at most once per
    // this (both grow with the store).
    std::chrono::seconds sweep_interval{3600};
    // The relay's clock, ns since the Unix epoch (empty: the system clock).
    // Tests set it, so TTL and grace tests need not sleep.
    std::function<std::int64_t()> now_ns;
};

// Who is asking: set by the server after the handshake and RelayHello.
struct DeviceSession {
    std::string account;
    PublicKey device_key{};
    PublicKey user_key{};
};

class RelayService {
public:
    virtual ~RelayService() = default;

    // RelayHello from a device whose certificate (already verified by the
    // handshake) names `certificate.user_key`: finds the account bound to
    // that user key, or binds the one whose unused token `hello.token` is;
    // stores the hello's revocations that verify under the account's user
    // key; refuses a revoked device. Errc::permission_denied with a message
    // for the device otherwise (unknown account, used token, revoked).
    virtual Result<std::pair<DeviceSession, wire::RelayWelcome>> hello(
        const DeviceCertificate& certificate, const wire::RelayHello& hello) = 0;

    // A request (ChunkPut, ChunkHave, ChunkGet, MailboxPost, MailboxFetch,
    // MailboxAck) from an authenticated session: its answer (RelayReply,
    // ChunkHaveReply, ChunkData, MailboxBatch). `on_posted` is told which
    // devices got new mail (the server pushes MailboxNotify to them).
    virtual wire::Message handle(const DeviceSession& session, const wire::Message& request,
                                 const std::function<void(const PublicKey&)>& on_posted) = 0;

    // Whether the device is still allowed (not revoked, account not removed):
    // the server checks sessions with it when accounts change.
    virtual bool allowed(const DeviceSession& session) = 0;

    // Expires messages past their TTL (posting expiry notices), frees chunks
    // no live message needs, removes what a crash left half-done. Returns
    // the devices that got expiry notices.
    virtual Result<std::vector<PublicKey>> maintain() = 0;
};

// Account administration (`ferry-relay user ...`, `ferry-relay status`),
// run by the CLI on the same data folder while the relay serves: changes
// take effect on the running relay (it reads accounts from the store).
struct AccountInfo {
    std::string name;
    bool bound = false;  // a device has used the token
    std::uint64_t used_bytes = 0;
    std::uint64_t quota_bytes = 0;  // 0: unlimited
    std::uint64_t devices = 0;      // devices seen
    std::uint64_t messages = 0;     // undelivered messages in its mailboxes
    std::int64_t created_ns = 0;
};

struct RelayTotals {
    std::uint64_t accounts = 0;
    std::uint64_t mailboxes = 0;  // device mailboxes holding messages
    std::uint64_t messages = 0;
    std::uint64_t chunks = 0;
    std::uint64_t stored_bytes = 0;  // chunks and payloads as stored (padded)
};

class RelayAdmin {
public:
    virtual ~RelayAdmin() = default;
    // A new account; returns its one-time token (only its hash is stored).
    // Names: 1-64 characters of [A-Za-z0-9._-]; Errc::already_exists.
    virtual Result<std::string> add_user(const std::string& name, std::uint64_t quota_bytes) = 0;
    virtual Result<std::vector<AccountInfo>> users() = 0;
    // Removes the account with its mailboxes and chunks. Errc::not_found.
    virtual Result<void> remove_user(const std::string& name) = 0;
    virtual Result<void> set_quota(const std::string& name, std::uint64_t quota_bytes) = 0;
    virtual Result<RelayTotals> totals() = 0;
};

// The local implementation: SQLite (WAL) and chunk pack files under `data_dir`.
Result<std::unique_ptr<RelayService>> open_local_service(const std::string& data_dir,
                                                         ServiceOptions options = {});
Result<std::unique_ptr<RelayAdmin>> open_local_admin(const std::string& data_dir);

}  // namespace ferry::relay
