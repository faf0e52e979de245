// The peer manager: keeps one connection to every known device.
//
// It listens (TCP) and dials every address it was given for each device,
// retrying with exponential backoff (1 s doubling to 60 s) with ±25 %
// jitter, and resetting the backoff after a connection that lasted. When two
// connections to one device exist (both dialed at once), both sides keep the
// same one: the connection whose initiator has the lower device id; the
// other is closed. Every connection passes `authorize` first (see
// net/connection.hh); connections from a joining device (an invite
// credential) go to on_join instead of on_connected.
//
// Thread rule: everything runs on the io_context's thread; the hooks are
// called there. stop() closes the listener, the dialers and every connection.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "net/connection.hh"

namespace ferry {

struct PeerManagerHooks {
    Authorizer authorize;
    // A trusted device's connection, after de-duplication.
    std::function<void(std::shared_ptr<Connection>)> on_connected;
    // An accepted connection whose peer proved an invite.
    std::function<void(std::shared_ptr<Connection>)> on_join;
};

struct PeerManagerOptions {
    // Given to every connection: its rate limiters are shared by all of them.
    ConnectionOptions connection;
    std::chrono::milliseconds backoff_min{1'000};
    std::chrono::milliseconds backoff_max{60'000};
};

class PeerManager {
public:
    PeerManager(asio::io_context& io, const KeyPair& device, DeviceCertificate certificate,
                PeerManagerHooks hooks, PeerManagerOptions options = {});
    ~PeerManager();

    // Starts listening on "host:port" (port 0: any); returns the bound
    // "host:port". Errc::invalid_argument for a malformed address,
    // Errc::io (address in use, ...) naming it.
    Result<std::string> listen(const std::string& address);
    std::vector<std::string> listen_addresses() const;

    // The addresses to dial for a device (replacing earlier ones); an empty
    // list stops dialing it. Dialing stops while a connection is up.
    void set_addresses(const PublicKey& device_key, std::vector<std::string> addresses);
    // Stops dialing the device and closes its connection (revoked, removed).
    void forget(const PublicKey& device_key, const std::string& reason);
    // Connections currently up, by device key.
    std::vector<std::shared_ptr<Connection>> connections() const;

    void stop();

private:
    struct Impl;
    std::shared_ptr<Impl> m_impl;
};

}  // namespace ferry
