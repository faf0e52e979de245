// Joining: the inviter's side (serve_join) and the joiner's (join).
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>

#include <sodium.h>

#include "crypto/key_file.hh"
#include "net/monotonic_time.hh"
#include "sync/cluster.hh"
#include "sync/cluster_impl.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {

namespace {

using cluster_detail::device_text;

// Close reasons of a refused join start with this, so the joiner can tell a
// refusal from a broken connection.
constexpr std::string_view kRefused = "join refused: ";

// What the joiner is told when its invite cannot be claimed (the inviter's
// own error names its database, which is none of the joiner's business).
std::string refusal_for(const Error& claim) {
    switch (claim.code) {
    case Errc::already_exists: return "this code was used already: ask for a new one";
    case Errc::changed: return "this code has expired: ask for a new one";
    case Errc::not_found: return "this code is not known here: ask for a new one";
    default: return "the inviting device cannot record the join; try again later";
    }
}

// Closes the connection unless cancelled first: bounds a wait on it.
class Deadline {
public:
    Deadline(const asio::any_io_executor& executor, std::shared_ptr<Connection> connection,
             std::chrono::milliseconds limit)
        : m_timer(std::make_shared<Timer>(executor, limit)),
          m_expired(std::make_shared<bool>(false)) {
        m_timer->async_wait([connection, expired = m_expired](std::error_code ec) {
            if (ec) return;
            *expired = true;
            connection->close("timed out");
        });
    }
    ~Deadline() { m_timer->cancel(); }
    Deadline(const Deadline&) = delete;
    Deadline& operator=(const Deadline&) = delete;
    bool expired() const { return *m_expired; }

private:
    std::shared_ptr<Timer> m_timer;
    std::shared_ptr<bool> m_expired;
};

// The inviter's answer once verified: the user key and everything to store.
struct VerifiedAccept {
    KeyPair user;
    DeviceCertificate certificate;
    std::vector<Revocation> revocations;
    std::vector<DeviceRecord> devices;
};

Result<VerifiedAccept> verify_accept(const wire::JoinAccept& accept, const PeerIdentity& inviter,
                                     const PublicKey& own_key) {
    VerifiedAccept out{KeyPair::from_seed(accept.user_seed), {}, {}, {}};
    PublicKey user_public{};
    std::copy(out.user.public_key().begin(), out.user.public_key().end(), user_public.begin());
    const std::string who = device_text(inviter.device_key, inviter.certificate->device_name);
    if (auto ok = inviter.certificate->verify(user_public); !ok) {
        return fail(Errc::permission_denied,
                    who + " sent a user key that did not sign its own certificate: not joined");
    }
    auto certificate = DeviceCertificate::decode(bytes_of(accept.certificate));
    if (!certificate || certificate->device_key != own_key || !certificate->verify(user_public)) {
        return fail(Errc::permission_denied,
                    who + " sent a certificate that is not this device's under the user key: "
                          "not joined");
    }
    out.certificate = std::move(*certificate);
    for (const auto& encoded : accept.revocations) {
        // Each is checked; one that does not verify is the inviter's problem,
        // not a reason to refuse the join.
        if (auto revocation = cluster_detail::usable_revocation(encoded, user_public); revocation) {
            out.revocations.push_back(std::move(*revocation));
        }
    }
    for (const auto& info : accept.devices) {
        auto device = DeviceCertificate::decode(bytes_of(info.certificate));
        if (!device || !device->verify(user_public) || device->device_key == own_key) continue;
        const bool revoked = std::any_of(out.revocations.begin(), out.revocations.end(),
                                         [&](const Revocation& r) {
                                             return r.device_key == device->device_key;
                                         });
        if (revoked) continue;
        DeviceRecord record;
        record.key = device->device_key;
        record.certificate = info.certificate;
        record.name = device->device_name;
        for (const auto& address : info.addresses) {
            if (record.addresses.size() == InviteCode::kMaxAddresses) break;
            auto parts = split_address(address);
            if (parts && parts->port != 0 && address.size() <= InviteCode::kMaxAddressBytes &&
                address.find('\n') == std::string::npos) {
                record.addresses.push_back(address);
            }
        }
        out.devices.push_back(std::move(record));
    }
    return out;
}

// Writes what the join brought: the user key, then the certificate (see
// Cluster::open for a crash between the two), then the store.
Result<void> save_join(const IdentityFiles& files, Store& store, const VerifiedAccept& accept,
                       const std::string& encoded_certificate) {
    if (auto ok = save_key(files.user_key, accept.user, KeyRole::user); !ok) return ok;
    if (auto ok = write_file_atomically(files.certificate, encoded_certificate); !ok) return ok;
    for (const auto& revocation : accept.revocations) {
        if (auto ok = store.add_revocation(revocation.device_key, revocation.encode()); !ok)
            return ok;
    }
    for (const auto& device : accept.devices) {
        if (auto ok = store.put_device(device); !ok) return ok;
    }
    return {};
}

Result<void> check_fresh(Store& store) {
    auto folders = store.folders();
    if (!folders) return tl::unexpected(folders.error());
    auto devices = store.devices();
    if (!devices) return tl::unexpected(devices.error());
    if (!folders->empty() || !devices->empty()) {
        return fail(Errc::already_exists,
                    "this device already has " +
                        std::string(folders->empty() ? "other devices" : "folders") +
                        ": join only from a freshly initialised home (set FERRY_HOME to a new "
                        "folder and run `ferry init` there)");
    }
    return {};
}

// A TCP connection to "host:port" within `timeout` (resolving included).
asio::awaitable<Result<std::unique_ptr<ByteStream>>> dial_tcp(const std::string& address,
                                                              std::chrono::milliseconds timeout) {
    auto parts = split_address(address);
    if (!parts) co_return tl::unexpected(parts.error());
    const auto executor = co_await asio::this_coro::executor;
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(executor);
    auto socket = std::make_shared<asio::ip::tcp::socket>(executor);
    Timer timer(executor, timeout);
    auto expired = std::make_shared<bool>(false);
    timer.async_wait([resolver, socket, expired](std::error_code ec) {
        if (ec) return;
        *expired = true;
        resolver->cancel();
        std::error_code ignored;
        socket->close(ignored);
    });
    auto failed = [&](const std::string& what, const std::error_code& ec) {
        timer.cancel();
        return fail(Errc::io, address + ": " + what + ": " +
                                  (*expired ? "timed out after " + std::to_string(timeout.count()) +
                                                  " ms"
                                            : ec.message()));
    };
    std::error_code ec;
    const auto endpoints = co_await resolver->async_resolve(
        parts->host, std::to_string(parts->port), asio::ip::tcp::resolver::numeric_service,
        asio::redirect_error(asio::use_awaitable, ec));
    if (ec || *expired) co_return failed("cannot resolve", ec);
    for (const auto& endpoint : endpoints) {
        if (socket->is_open()) socket->close(ec);
        co_await socket->async_connect(endpoint.endpoint(),
                                       asio::redirect_error(asio::use_awaitable, ec));
        if (*expired) break;
        if (!ec) {
            timer.cancel();
            co_return make_tcp_stream(std::move(*socket));
        }
    }
    co_return failed("cannot connect", ec);
}

}  // namespace

asio::awaitable<Result<void>> Cluster::serve_join(std::shared_ptr<Connection> connection,
                                                  std::vector<std::string> own_addresses,
                                                  std::vector<std::string> folder_ids) {
    Impl& impl = *m_impl;
    const std::string address = connection->peer_address();
    const PeerIdentity peer = connection->peer();
    auto refuse = [&](Errc code, const std::string& reason) {
        connection->close(std::string(kRefused) + reason);
        return fail(code, address + ": " + reason);
    };
    if (!peer.invite_id) co_return refuse(Errc::permission_denied, "no invite was presented");
    auto message = co_await connection->receive();
    if (!message) co_return tl::unexpected(message.error());
    const auto* request = std::get_if<wire::JoinRequest>(&*message);
    if (!request) {
        co_return refuse(Errc::corrupt, std::string("expected a JoinRequest, got ") +
                                            wire::message_type_name(wire::message_type(*message)));
    }
    if (auto ok = check_device_name(request->device_name); !ok) {
        co_return refuse(Errc::invalid_argument, "the device name is refused: " + ok.error().message);
    }
    const std::int64_t now = impl.clock.now_ns();
    auto claimed = impl.store.claim_invite(*peer.invite_id, now);
    if (!claimed) {
        connection->close(std::string(kRefused) + refusal_for(claimed.error()));
        co_return tl::unexpected(claimed.error());
    }

    const auto certificate =
        DeviceCertificate::issue(impl.user, peer.device_key, request->device_name, now);
    DeviceRecord joined;
    joined.key = peer.device_key;
    joined.certificate = certificate.encode();
    joined.name = request->device_name;
    joined.last_seen_ns = now;
    if (auto ok = impl.store.put_device(joined); !ok) {
        connection->close(std::string(kRefused) + refusal_for(ok.error()));
        co_return tl::unexpected(ok.error());
    }
    wire::JoinAccept accept;
    std::copy(impl.user.seed().begin(), impl.user.seed().end(), accept.user_seed.begin());
    accept.certificate = joined.certificate;
    auto devices = cluster_detail::device_infos(impl.certificate, impl.store, std::move(own_addresses));
    if (!devices) co_return tl::unexpected(devices.error());
    accept.devices = std::move(*devices);
    auto revocations = impl.store.revocations();
    if (!revocations) co_return tl::unexpected(revocations.error());
    accept.revocations = std::move(*revocations);
    accept.folders = std::move(folder_ids);
    wire::Message message_out = std::move(accept);
    auto sent = co_await connection->send(message_out);
    auto& seed = std::get<wire::JoinAccept>(message_out).user_seed;
    sodium_memzero(seed.data(), seed.size());
    if (!sent) co_return tl::unexpected(sent.error());
    connection->close("joined");
    co_return Result<void>{};
}

asio::awaitable<Result<Cluster::JoinResult>> Cluster::join(const IdentityFiles& files, Store& store,
                                                           const Clock& clock,
                                                           std::string device_name,
                                                           const InviteCode& code,
                                                           ConnectionOptions options) {
    const auto timeout = options.handshake_timeout;
    StreamDialer dial = [timeout](const std::string& address) { return dial_tcp(address, timeout); };
    co_return co_await join(files, store, clock, std::move(device_name), code, std::move(options),
                            std::move(dial));
}

asio::awaitable<Result<Cluster::JoinResult>> Cluster::join(const IdentityFiles& files, Store& store,
                                                           const Clock& clock,
                                                           std::string device_name,
                                                           const InviteCode& code,
                                                           ConnectionOptions options,
                                                           StreamDialer dial) {
    if (auto ok = check_device_name(device_name); !ok) co_return tl::unexpected(ok.error());
    if (code.expires_ns <= clock.now_ns()) {
        co_return fail(Errc::changed, "this join code has expired: ask for a new one with "
                                      "`ferry invite` (or check this device's clock)");
    }
    if (auto ok = check_fresh(store); !ok) co_return tl::unexpected(ok.error());
    auto device = load_key(files.device_key, KeyRole::device);
    if (!device) co_return tl::unexpected(device.error());
    PublicKey own_key{};
    std::copy(device->public_key().begin(), device->public_key().end(), own_key.begin());

    std::shared_ptr<Connection> connection;
    std::vector<std::string> failures;
    std::optional<Error> impostor;
    for (const auto& address : code.addresses) {
        auto stream = co_await dial(address);
        if (!stream) {
            failures.push_back(stream.error().message);
            continue;
        }
        // Checked after message 2, before the secret's proof goes out.
        Authorizer is_inviter = [&code, &address](const PeerIdentity& peer) -> Result<void> {
            if (peer.device_id() != code.inviter || !peer.certificate) {
                return fail(Errc::permission_denied,
                            "the device answering at " + address + " is " +
                                peer.device_id().to_string() + ", not the inviter " +
                                code.inviter.to_string());
            }
            return {};
        };
        Credential credential = InviteCredential{code.invite_id, code.secret};
        auto opened = co_await Connection::initiate(std::move(*stream), *device,
                                                    std::move(credential), is_inviter, options);
        if (opened) {
            connection = std::move(*opened);
            break;
        }
        if (opened.error().code == Errc::permission_denied) impostor = opened.error();
        failures.push_back(opened.error().message);
    }
    if (!connection) {
        if (impostor) co_return tl::unexpected(*impostor);
        std::string tried;
        for (const auto& f : failures) tried += (tried.empty() ? "" : "; ") + f;
        co_return fail(Errc::io, "cannot reach the inviting device (" + tried +
                                     "): is `ferry run` running there, and reachable from here?");
    }

    const PeerIdentity inviter = connection->peer();
    Result<wire::Message> answer = fail(Errc::io, "no answer");
    bool timed_out = false;
    {
        const auto executor = co_await asio::this_coro::executor;
        Deadline deadline(executor, connection, options.handshake_timeout);
        // Plain statements: GCC 12 miscompiles a co_await inside ?: and
        // braced temporaries in a co_await's arguments.
        const wire::Message request = wire::JoinRequest{device_name};
        auto sent = co_await connection->send(request);
        if (sent) {
            answer = co_await connection->receive();
        } else {
            answer = tl::unexpected(sent.error());
        }
        timed_out = deadline.expired();
    }
    if (!answer) {
        connection->close("join failed");
        if (timed_out) {
            co_return fail(Errc::io, "the inviting device did not answer in time: try again");
        }
        // The inviter refused the code (its authorizer or serve_join closed
        // the connection): used, expired there, or unknown.
        co_return fail(Errc::changed, "the inviting device refused this code (" +
                                          answer.error().message +
                                          "): it was used already or has expired; ask for a new "
                                          "one with `ferry invite`");
    }
    const auto* accept = std::get_if<wire::JoinAccept>(&*answer);
    if (!accept) {
        connection->close("join failed: expected JoinAccept");
        co_return fail(Errc::corrupt,
                       "the inviting device answered with " +
                           std::string(wire::message_type_name(wire::message_type(*answer))) +
                           " instead of accepting the join: not joined");
    }
    auto verified = verify_accept(*accept, inviter, own_key);
    if (!verified) {
        connection->close("join failed: the answer does not verify");
        co_return tl::unexpected(verified.error());
    }
    if (auto ok = save_join(files, store, *verified, accept->certificate); !ok) {
        connection->close("join failed: cannot save");
        co_return fail(ok.error().code, "joined, but cannot save what the inviting device sent (" +
                                            ok.error().message + "): fix that and join again "
                                                                 "with a new code");
    }
    connection->close("joined");
    JoinResult result;
    result.folders = accept->folders;
    result.inviter_name = inviter.certificate->device_name;
    co_return result;
}

}  // namespace ferry
