// The daemon's relays (proto/relay.md): one RelayClient per relay the
// user's devices use (cli/relay_entries.hh), the dispatcher of this
// device's mailboxes, the RelayLinks (sync/relay_link.hh) to devices not
// connected directly, and forwarded connections.
//
// Links: once a relay is connected, every known device that has had no
// direct connection for `link_grace` gets a link, which the engine uses
// like a connection (so what changes here is posted for it); a direct
// connection replaces the link (the engine keeps one connection per
// device). Mailboxes: fetched when a relay connects, when it says there is
// mail (MailboxNotify) and every `fetch_interval`; each message is opened
// (only the user's devices can), its sender checked against the cluster
// (a stranger's or a revoked device's message is dropped with a warning)
// and handed to the sender's link, which acknowledges it once applied; a
// message from a device connected directly is acknowledged at once (the
// direct exchange carries the same). An expiry notice (a message this
// device posted expired undelivered) makes the link to that device start
// again from what the device last confirmed, so nothing is skipped.
// Forwarding: the device with the lower id asks the relay to join it with
// each device it cannot reach directly, every `forward_interval`; the
// other side accepts the relay's offer; `forwarded` gets the stream for the
// ordinary device handshake.
// The relay in use is the connected one with the lowest round trip.
//
// Thread rule: everything on the io_context's thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "net/monotonic_time.hh"
#include "net/relay_client.hh"
#include "store/store.hh"
#include "sync/cluster.hh"
#include "sync/relay_link.hh"

namespace ferry::cli {

struct DaemonRelaysHooks {
    // Whether the device has a live connection (direct or forwarded).
    std::function<bool(const PublicKey&)> directly_connected;
    // Hands a new link to the engine.
    std::function<void(std::shared_ptr<RelayLink>)> add_link;
    // A stream joined by the relay with `peer`'s; `initiator`: this device
    // asked for it (it runs the handshake's initiator side).
    std::function<void(std::unique_ptr<ByteStream>, const PublicKey& peer, bool initiator)>
        forwarded;
};

struct DaemonRelaysOptions {
    std::chrono::milliseconds link_grace{5'000};
    std::chrono::milliseconds check_interval{1'000};
    std::chrono::milliseconds fetch_interval{60'000};
    std::chrono::milliseconds forward_interval{30'000};
    bool forward = true;  // false: mailboxes only (the simulation's relay joins no streams)
    std::chrono::milliseconds retry_interval{30'000};  // a full relay is tried again after this
    RelayClientOptions client;
};

class DaemonRelays {
public:
    DaemonRelays(asio::io_context& io, Store& store, Cluster& cluster, DaemonRelaysHooks hooks,
                 DaemonRelaysOptions options = {});
    ~DaemonRelays();
    DaemonRelays(const DaemonRelays&) = delete;
    DaemonRelays& operator=(const DaemonRelays&) = delete;

    // Connects to the relays in the store and starts the periodic checks.
    void start();
    // The relay list in the store changed (`ferry relay add/remove`).
    void reload();
    // Relays from a peer's ClusterConfig: true when the list changed.
    bool absorb(const std::vector<wire::RelayEntry>& entries);
    std::vector<wire::RelayEntry> entries() const;

    // `device` was revoked (here or by a peer): its link is closed, and every
    // relay is connected to anew, since a relay learns revocations only from
    // a RelayHello; it then refuses the device and closes its connections.
    void revoked(const PublicKey& device);

    // From ferry.toml's relay_retry_seconds; waits already started keep theirs.
    void set_retry_interval(std::chrono::milliseconds interval);

    // `device` is connected directly: its link is dropped, and what was
    // posted to it forgotten (it drops mailbox messages of a device it is
    // connected to; the connection sends what it says it lacks instead).
    void direct_connection(const PublicKey& device);
    void direct_disconnection(const PublicKey& device);

    // "relays": [{url, connected, error, rtt_ms, account, used_bytes,
    // quota_bytes}], "relay_problem", "relay_links" (devices reached through
    // a relay), "relay_pending_uploads" (chunks still to put),
    // "relay_sending" (sends to a relay under way; 0: all is posted).
    nlohmann::json status_json() const;
    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace ferry::cli
