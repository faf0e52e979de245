// The cluster: which devices this device trusts, and how that knowledge
// spreads (proto/security.md).
//
// Trust: a peer is trusted when its certificate verifies under this device's
// user public key and its device key is not revoked. Devices and revocations
// travel in every ClusterConfig; absorb() verifies each one and keeps what is
// new, so a device joined on one machine, or removed on one, becomes known
// to all of them without any command there. A revocation, once verified, is
// permanent; a revoked device is refused in the handshake and its connections
// closed.
//
// Joining (`ferry invite` / `ferry join CODE`): make_invite() stores a
// one-time secret with an expiry and returns the code; serve_join() runs the
// inviter's side on a connection whose peer proved the invite (claims the
// invite once, issues a certificate for the joiner's key, sends JoinAccept
// and records the new device); join() runs the joiner's side (dials the
// addresses in the code, checks the inviter is the device the code names,
// proves the secret, stores what JoinAccept brings: user key, certificate,
// devices, revocations).
//
// Thread rule: one Cluster per daemon, used from the io_context thread (the
// CLI's `ferry invite` and `ferry join` use it alone, without a daemon).
// Failures name the device or the code and say what to do.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "crypto/handshake.hh"
#include "crypto/invite_code.hh"
#include "net/byte_stream.hh"
#include "net/clock.hh"
#include "net/connection.hh"
#include "net/messages.hh"
#include "store/store.hh"

namespace ferry {

// Where the device's identity files are (the CLI's FERRY_HOME layout).
struct IdentityFiles {
    std::string device_key;   // device.key
    std::string user_key;     // user.key
    std::string certificate;  // device.cert (encoded DeviceCertificate, written atomically)
};

// What changed after absorbing a peer's ClusterConfig.
struct ClusterChanges {
    std::vector<DeviceRecord> new_or_updated;  // dial these
    std::vector<PublicKey> revoked;            // drop these
};

class Cluster {
public:
    // Loads the keys; issues and saves this device's certificate if there is
    // none yet (homes made before certificates existed) or the one there is
    // not this device's under the user key (a join interrupted between
    // writing user.key and device.cert). Errc::invalid_argument for a device
    // name a certificate cannot hold.
    static Result<std::unique_ptr<Cluster>> open(const IdentityFiles& files, Store& store,
                                                 const Clock& clock, std::string device_name);
    ~Cluster();  // defined where Impl is complete

    const KeyPair& device_key() const;
    // The user key pair (derives folder and mailbox keys for the relay).
    const KeyPair& user_key() const;
    const DeviceCertificate& certificate() const;
    const PublicKey& user_public_key() const;

    // The trust decision for a handshake (authorizer of net/connection.hh):
    // certificates must chain to the user key and not be revoked, and not be
    // this device's own; an invite credential must name an unused, unexpired
    // invite (its secret is checked by the connection, see invite_secret()).
    // A refused invite makes the connection close after the handshake, which
    // the joiner reports as a used or expired code.
    Result<void> authorize(const PeerIdentity& peer) const;
    // The secret of an invite made here, for ConnectionOptions::invite_secret
    // (nullopt when unknown or unreadable). The connection checks the
    // joiner's proof with it before calling authorize().
    std::optional<InviteSecret> invite_secret(const InviteId& id) const;

    // The devices, revocations and device name to put in a ClusterConfig.
    Result<wire::ClusterConfig> describe(std::vector<std::string> own_addresses) const;
    // Verifies and stores the devices and revocations of a peer's config.
    // Invalid entries are skipped (and reported in the returned error only
    // when nothing could be used); the peer's own addresses are learned.
    Result<ClusterChanges> absorb(const wire::ClusterConfig& config, const PeerIdentity& from,
                                  const std::string& observed_address);

    // Revokes a device (`ferry devices remove`): signs, stores, forgets it
    // and what it announced. Errc::invalid_argument for this device itself.
    Result<Revocation> revoke(const PublicKey& device_key);

    // Invites (see above). `addresses`: where the joiner should dial (at
    // least one). serve_join() refuses a joiner with Close("join refused:
    // ...") when the invite is used or expired by then.
    Result<InviteCode> make_invite(std::vector<std::string> addresses, std::int64_t lifetime_ns);
    asio::awaitable<Result<void>> serve_join(std::shared_ptr<Connection> connection,
                                             std::vector<std::string> own_addresses,
                                             std::vector<std::string> folder_ids);

    // The joining side, run on the caller's io_context; on success the
    // identity files and the store hold the user's key, certificate and
    // devices. Refuses (Errc::already_exists) a home that has folders or
    // devices. Dials the code's addresses in order, each bounded by
    // options.handshake_timeout, and waits at most that long again for the
    // answer. Errc::changed: expired or used code (an inviter that closes
    // the connection after the handshake refused the code); Errc::io:
    // inviter unreachable; Errc::permission_denied: the device answering is
    // not the inviter, or its answer does not verify.
    struct JoinResult {
        std::vector<std::string> folders;  // the user's folder ids
        std::string inviter_name;
    };
    static asio::awaitable<Result<JoinResult>> join(const IdentityFiles& files, Store& store,
                                                    const Clock& clock, std::string device_name,
                                                    const InviteCode& code,
                                                    ConnectionOptions options = {});
    // The same over streams from `dial` (TCP above, bounded by the timeout).
    static asio::awaitable<Result<JoinResult>> join(const IdentityFiles& files, Store& store,
                                                    const Clock& clock, std::string device_name,
                                                    const InviteCode& code,
                                                    ConnectionOptions options, StreamDialer dial);

private:
    struct Impl;
    explicit Cluster(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> m_impl;
};

}  // namespace ferry
