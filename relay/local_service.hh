// The local RelayService (private to relay/): its class, shared by
// relay_service.cc (hello and requests) and relay_maintain.cc (maintain()).
//
// Order of the two stores, chosen so that a crash anywhere leaves only what
// maintain() repairs:
// - ChunkPut: pending row (usage charged) -> object durable -> row stored.
//   A crash leaves a pending row (with or without its object): maintain()
//   marks it stored if the object is there, else drops it and the charge.
// - Freeing a chunk: row deleted first, then the object. A crash leaves an
//   object without a row, which the orphan sweep deletes. The other order
//   could leave a row whose object is gone: ChunkHave would say "present"
//   for a chunk ChunkGet cannot deliver.
//
// Thread rule: as RelayService; the removal of a chunk holds its KeyLocks
// stripe alone across its row and object changes, a put holds the stripes
// of its chunks shared across its own (puts overlap each other, never a
// removal).
#pragma once

#include <chrono>
#include <mutex>
#include <optional>

#include "relay/chunk_store.hh"
#include "relay/key_locks.hh"
#include "relay/metadata_store.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

inline std::int64_t ns_of(std::chrono::seconds s) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(s).count();
}

class LocalService final : public RelayService {
public:
    LocalService(ServiceOptions options, std::unique_ptr<MetadataStore> meta,
                 std::unique_ptr<ChunkStore> chunks);

    Result<std::pair<DeviceSession, wire::RelayWelcome>> hello(
        const DeviceCertificate& certificate, const wire::RelayHello& hello) override;
    wire::Message handle(const DeviceSession& session, const wire::Message& request,
                         const std::function<void(const PublicKey&)>& on_posted) override;
    bool allowed(const DeviceSession& session) override;
    Result<std::vector<PublicKey>> maintain() override;

private:
    // The session's account while the session may still act.
    Result<std::optional<Account>> session_account(const DeviceSession& session);
    // A RelayReply refusing a store when the disk is too full; nullopt to go on.
    std::optional<wire::RelayReply> disk_refusal(std::uint32_t id);
    // A RelayReply refusing a ChunkPut over the limits, or any store when
    // the disk is too full; nullopt to go on.
    std::optional<wire::RelayReply> put_refusal(const wire::ChunkPut& request);

    wire::Message put(const Account& account, const wire::ChunkPut& request);
    wire::Message have(const Account& account, const wire::ChunkHave& request);
    wire::Message get(const Account& account, const wire::ChunkGet& request);
    wire::Message post(const Account& account, const DeviceSession& session,
                       const wire::MailboxPost& request,
                       const std::function<void(const PublicKey&)>& on_posted);
    wire::Message fetch(const Account& account, const DeviceSession& session,
                        const wire::MailboxFetch& request);
    wire::Message ack(const Account& account, const DeviceSession& session,
                      const wire::MailboxAck& request);

    Result<void> free_unreferenced(std::int64_t now);
    Result<void> settle_unfinished_puts(std::int64_t now);
    Result<void> sweep_orphans();

    ServiceOptions m_options;
    std::mutex m_sweep_mutex;                      // guards m_last_sweep_ns
    std::optional<std::int64_t> m_last_sweep_ns;  // maintain()'s last orphan sweep
    std::unique_ptr<MetadataStore> m_meta;
    std::unique_ptr<ChunkStore> m_chunks;
    KeyLocks m_locks;
};

}  // namespace ferry::relay
