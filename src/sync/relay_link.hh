// A link to one of the user's devices that is not connected directly,
// carried by a ferry-relay's mailboxes and chunk store (proto/relay.md): a
// Connection the engine uses like any other, so the index exchange and
// chunk fetching need no relay-specific code.
//
// What the engine sends becomes, through the relay picked for the send:
// - ClusterConfig, ResendRequest, IndexUpdate: a message posted to the
//   device's mailbox, sealed so only the user's devices can read it
//   (crypto/relay_seal.hh). Sends are queued and posted in order, so send()
//   returns once a message is queued (it waits while 4 are); a failure to
//   post closes the link.
// - Before an IndexUpdate is posted, the chunks its records need that the
//   relay lacks (ChunkHave) are put, up to 64 at a time over all queued
//   updates: the link asks the engine for each with a Request of its own,
//   which the engine serves from local files, seals it with the folder's
//   relay key and puts it. A chunk an earlier queued update puts is not put
//   again. The post names the update's chunks so the relay keeps them until
//   delivered. When the post is acknowledged (durable on the relay), the
//   sequence it reached is remembered in the store, so a restarted link
//   does not post the same records again.
// - Request (the engine fetching a chunk this device lacks): ChunkGet; the
//   sealed chunk is opened and verified and comes back as a Response.
// A relay that is full (quota) or cannot store makes the puts and posts wait
// and retry every `retry_interval`, reporting "relay full" in status(); other
// relay failures close the link (the daemon makes a new one when a relay is
// connected again).
//
// What receive() returns: first the device's last known ClusterConfig (from
// the store: save_peer_config() of every one it sent), with each
// folder's peer_max_sequence raised to what was already posted, so the
// engine starts where the mailbox left off (DaemonRelays forgets what was
// posted once the device connects directly: it then drops those messages); then the messages the mailbox
// dispatcher delivers (deliver()), in mailbox order; and the Responses and
// Requests described above. An IndexUpdate the store already covers (a
// redelivery) is acknowledged and skipped. Acknowledgements go back to the
// relay a message came from once it is applied: an IndexUpdate when the
// store's index state of the device reaches its last sequence, any other
// message once the engine asked for the next one.
//
// Thread rule: everything on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "crypto/certificate.hh"
#include "crypto/identity.hh"
#include "net/connection.hh"
#include "net/relay_client.hh"
#include "store/store.hh"

namespace ferry {

// What the links of one daemon share.
struct RelayLinkContext {
    const KeyPair* user = nullptr;    // derives folder and mailbox keys
    const KeyPair* device = nullptr;  // signs this device's envelopes
    Store* store = nullptr;
    // The relay to use for the next operation (connected, lowest round
    // trip), or null when none is connected.
    std::function<std::shared_ptr<RelayClient>()> pick_relay;
    std::chrono::milliseconds retry_interval{30'000};
    std::chrono::milliseconds ack_interval{500};
    // Set while an upload waits because the relay is full, for `ferry status`.
    std::function<void(const std::string& problem)> report;
    // Chunks found missing on the relay and not yet put, over all links.
    std::uint64_t pending_uploads = 0;
    // Messages queued for posting or being posted, over all links: 0 means
    // what the engine gave the links is on the relay.
    std::uint64_t sends_in_progress = 0;
};

// Store settings the links keep per device (hex device id).
std::string relay_peer_config_key(const DeviceId& device);
std::string relay_posted_key(const DeviceId& device, const std::string& folder_id);

// Remembers a ClusterConfig the device sent (over a direct connection, or
// in a mailbox message) for the next link to it to start from. Not the
// config a link starts with: that one is raised by what was posted, and an
// expiry must be able to lower it again.
Result<void> save_peer_config(Store& store, const DeviceId& device,
                              const wire::ClusterConfig& config);

class RelayLink final : public Connection {
public:
    RelayLink(asio::any_io_executor executor, std::shared_ptr<RelayLinkContext> context,
              DeviceCertificate peer);
    ~RelayLink() override;

    // A message from the peer found in this device's mailbox on `relay`.
    void deliver(std::shared_ptr<RelayClient> relay, const wire::MailboxMessageId& id,
                 wire::Message message);

    asio::awaitable<Result<wire::Message>> receive() override;
    asio::awaitable<Result<void>> send(const wire::Message& message) override;
    void close(std::string reason) override;
    bool is_open() const override;
    asio::awaitable<void> wait_closed() override;
    const PeerIdentity& peer() const override;
    bool initiated_here() const override { return true; }
    std::string peer_address() const override { return "relay"; }
    std::uint64_t bytes_in() const override;
    std::uint64_t bytes_out() const override;
    bool relayed() const override { return true; }

private:
    struct State;
    std::shared_ptr<State> m_state;
};

}  // namespace ferry
