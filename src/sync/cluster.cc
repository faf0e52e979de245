// The cluster: loading the identity, trust decisions, gossip of devices and
// revocations, revoking, and making invites. Joining is in cluster_join.cc.
#include "sync/cluster.hh"

#include <fcntl.h>
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <utility>

#include "crypto/key_file.hh"
#include "net/byte_stream.hh"
#include "sync/cluster_impl.hh"

namespace ferry {

namespace {

using cluster_detail::device_text;

// A certificate is a few hundred bytes; anything much larger is not one.
constexpr std::size_t kMaxCertificateFile = 4096;

PublicKey public_key_of(const KeyPair& key) {
    PublicKey out{};
    std::copy(key.public_key().begin(), key.public_key().end(), out.begin());
    return out;
}

// The bytes of device.cert, or nullopt when there is none.
Result<std::optional<std::string>> read_certificate_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return std::optional<std::string>();
        return fail(errno == EACCES ? Errc::permission_denied : Errc::io,
                    "cannot open " + path + ": " + std::strerror(errno) +
                        " (check the permissions of FERRY_HOME)");
    }
    std::string bytes(kMaxCertificateFile + 1, '\0');
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::read(fd, bytes.data() + got, bytes.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return fail(Errc::io, "cannot read " + path + ": " + std::strerror(err));
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);
    bytes.resize(got);
    return std::optional<std::string>(std::move(bytes));
}

// device.cert when it is this device's certificate under the user key;
// nullopt when it is missing or is not (then a new one is issued).
Result<std::optional<DeviceCertificate>> load_certificate(const std::string& path,
                                                          const PublicKey& device_key,
                                                          const PublicKey& user_key) {
    auto bytes = read_certificate_file(path);
    if (!bytes) return tl::unexpected(bytes.error());
    if (!*bytes || (*bytes)->size() > kMaxCertificateFile) return std::optional<DeviceCertificate>();
    auto certificate = DeviceCertificate::decode(bytes_of(**bytes));
    if (!certificate || certificate->device_key != device_key || !certificate->verify(user_key)) {
        return std::optional<DeviceCertificate>();
    }
    return std::optional<DeviceCertificate>(std::move(*certificate));
}

// Whether `address` is a "host:port" worth storing and dialing.
bool usable_address(const std::string& address) {
    if (address.empty() || address.size() > InviteCode::kMaxAddressBytes ||
        address.find('\n') != std::string::npos) {
        return false;
    }
    auto parts = split_address(address);
    return parts && parts->port != 0;
}

// The addresses a device announced for itself, made dialable: a wildcard
// host ("0.0.0.0:22000", ":22000") becomes the host this device saw it at.
std::vector<std::string> own_addresses_of(const std::vector<std::string>& announced,
                                          const std::string& observed_address) {
    auto observed = split_address(observed_address);
    std::vector<std::string> out;
    for (const auto& address : announced) {
        if (out.size() == InviteCode::kMaxAddresses) break;
        if (!usable_address(address)) continue;
        const auto parts = split_address(address);
        std::string dialable = address;
        if (parts->host.empty() || parts->host == "0.0.0.0" || parts->host == "::") {
            if (!observed || observed->host.empty()) continue;
            const bool v6 = observed->host.find(':') != std::string::npos;
            dialable = (v6 ? "[" + observed->host + "]" : observed->host) + ":" +
                       std::to_string(parts->port);
        }
        if (std::find(out.begin(), out.end(), dialable) == out.end()) out.push_back(dialable);
    }
    return out;
}

std::vector<std::string> gossiped_addresses(const std::vector<std::string>& addresses) {
    std::vector<std::string> out;
    for (const auto& address : addresses) {
        if (out.size() == InviteCode::kMaxAddresses) break;
        if (usable_address(address)) out.push_back(address);
    }
    return out;
}

std::string joined(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& part : parts) out += (out.empty() ? "" : "; ") + part;
    return out;
}

}  // namespace

// ---- shared with cluster_join.cc ----

std::string cluster_detail::device_text(const PublicKey& key, std::string_view name) {
    const std::string id = DeviceId::from_public_key(key).to_string();
    return name.empty() ? "device " + id : "device '" + std::string(name) + "' (" + id + ")";
}

Result<DeviceCertificate> cluster_detail::usable_certificate(Store& store,
                                                             std::string_view encoded,
                                                             const PublicKey& user_public,
                                                             const PublicKey& own_key) {
    auto certificate = DeviceCertificate::decode(bytes_of(encoded));
    if (!certificate) return tl::unexpected(certificate.error());
    if (auto ok = certificate->verify(user_public); !ok) return tl::unexpected(ok.error());
    if (certificate->device_key == own_key) {
        return fail(Errc::already_exists, "the certificate of this device itself");
    }
    auto revoked = store.is_revoked(certificate->device_key);
    if (!revoked) return tl::unexpected(revoked.error());
    if (*revoked) {
        return fail(Errc::changed, device_text(certificate->device_key, certificate->device_name) +
                                       " was removed");
    }
    return certificate;
}

Result<Revocation> cluster_detail::usable_revocation(std::string_view encoded,
                                                     const PublicKey& user_public) {
    auto revocation = Revocation::decode(bytes_of(encoded));
    if (!revocation) return tl::unexpected(revocation.error());
    if (auto ok = revocation->verify(user_public); !ok) return tl::unexpected(ok.error());
    return revocation;
}

Result<bool> cluster_detail::apply_revocation(Store& store, const Revocation& revocation) {
    const PublicKey& key = revocation.device_key;
    auto revoked = store.is_revoked(key);
    if (!revoked) return tl::unexpected(revoked.error());
    if (*revoked) return false;
    // Forget first, record last: a crash in between leaves the revocation
    // unrecorded, and the next gossip of it does all of this again.
    auto folders = store.folders();
    if (!folders) return tl::unexpected(folders.error());
    const ShortId short_id = DeviceId::from_public_key(key).short_id();
    for (const Folder& folder : *folders) {
        if (auto ok = store.drop_announced(folder.id, short_id); !ok) return tl::unexpected(ok.error());
    }
    if (auto removed = store.remove_device(key); !removed && removed.error().code != Errc::not_found) {
        return tl::unexpected(removed.error());
    }
    if (auto ok = store.add_revocation(key, revocation.encode()); !ok) return tl::unexpected(ok.error());
    return true;
}

Result<std::vector<wire::DeviceInfo>> cluster_detail::device_infos(
    const DeviceCertificate& own, Store& store, std::vector<std::string> own_addresses) {
    std::vector<wire::DeviceInfo> out;
    out.push_back(wire::DeviceInfo{own.encode(), std::move(own_addresses)});
    auto devices = store.devices();
    if (!devices) return tl::unexpected(devices.error());
    for (auto& device : *devices) {
        out.push_back(wire::DeviceInfo{std::move(device.certificate), std::move(device.addresses)});
    }
    return out;
}

// ---- Cluster ----

Cluster::Cluster(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Cluster::~Cluster() = default;

Result<std::unique_ptr<Cluster>> Cluster::open(const IdentityFiles& files, Store& store,
                                               const Clock& clock, std::string device_name) {
    auto device = load_key(files.device_key, KeyRole::device);
    if (!device) return tl::unexpected(device.error());
    auto user = load_key(files.user_key, KeyRole::user);
    if (!user) return tl::unexpected(user.error());
    const PublicKey device_public = public_key_of(*device);
    const PublicKey user_public = public_key_of(*user);
    auto certificate = load_certificate(files.certificate, device_public, user_public);
    if (!certificate) return tl::unexpected(certificate.error());
    if (!*certificate) {
        if (auto ok = check_device_name(device_name); !ok) return tl::unexpected(ok.error());
        auto issued = DeviceCertificate::issue(*user, device_public, device_name, clock.now_ns());
        if (auto saved = write_file_atomically(files.certificate, issued.encode()); !saved) {
            return fail(saved.error().code, "cannot save this device's certificate: " +
                                                saved.error().message);
        }
        *certificate = std::move(issued);
    }
    auto impl = std::make_unique<Impl>(files, store, clock, std::move(*device), std::move(*user),
                                       std::move(**certificate));
    impl->device_name = std::move(device_name);
    return std::unique_ptr<Cluster>(new Cluster(std::move(impl)));
}

const KeyPair& Cluster::device_key() const { return m_impl->device; }

const KeyPair& Cluster::user_key() const { return m_impl->user; }
const DeviceCertificate& Cluster::certificate() const { return m_impl->certificate; }
const PublicKey& Cluster::user_public_key() const { return m_impl->user_public; }

Result<void> Cluster::authorize(const PeerIdentity& peer) const {
    Impl& impl = *m_impl;
    if (peer.invite_id) {
        auto invite = impl.store.invite(*peer.invite_id);
        if (!invite) return tl::unexpected(invite.error());
        if (!*invite) {
            return fail(Errc::permission_denied,
                        "a joining device presented an invite that was not made here");
        }
        if ((*invite)->used) {
            return fail(Errc::permission_denied,
                        "a joining device presented an invite that was used already");
        }
        if ((*invite)->expires_ns <= impl.clock.now_ns()) {
            return fail(Errc::permission_denied,
                        "a joining device presented an invite that has expired");
        }
        return {};
    }
    if (!peer.certificate || peer.certificate->device_key != peer.device_key) {
        return fail(Errc::permission_denied,
                    device_text(peer.device_key) + " presented no certificate for its key");
    }
    const auto& certificate = *peer.certificate;
    const std::string who = device_text(peer.device_key, certificate.device_name);
    if (peer.device_key == public_key_of(impl.device)) {
        return fail(Errc::permission_denied, who + " is this device itself");
    }
    if (auto ok = certificate.verify(impl.user_public); !ok) {
        return fail(Errc::permission_denied, who + " is not one of this user's devices: " +
                                                 ok.error().message);
    }
    auto revoked = impl.store.is_revoked(peer.device_key);
    if (!revoked) return tl::unexpected(revoked.error());
    if (*revoked) {
        return fail(Errc::permission_denied,
                    who + " was removed from this user's devices; it is refused");
    }
    return {};
}

std::optional<InviteSecret> Cluster::invite_secret(const InviteId& id) const {
    auto invite = m_impl->store.invite(id);
    if (!invite || !*invite) return std::nullopt;
    return (*invite)->secret;
}

Result<wire::ClusterConfig> Cluster::describe(std::vector<std::string> own_addresses) const {
    wire::ClusterConfig config;
    config.device_name = m_impl->device_name;
    auto devices = cluster_detail::device_infos(m_impl->certificate, m_impl->store, std::move(own_addresses));
    if (!devices) return tl::unexpected(devices.error());
    config.devices = std::move(*devices);
    auto revocations = m_impl->store.revocations();
    if (!revocations) return tl::unexpected(revocations.error());
    config.revocations = std::move(*revocations);
    return config;
}

Result<ClusterChanges> Cluster::absorb(const wire::ClusterConfig& config, const PeerIdentity& from,
                                       const std::string& observed_address) {
    Impl& impl = *m_impl;
    Store& store = impl.store;
    const PublicKey own_key = public_key_of(impl.device);
    const std::string sender = device_text(from.device_key, config.device_name);
    ClusterChanges changes;
    std::vector<std::string> skipped;
    std::size_t usable = 0;

    // Revocations first, so a device revoked in the same config is not
    // learned from it.
    for (const auto& encoded : config.revocations) {
        auto revocation = cluster_detail::usable_revocation(encoded, impl.user_public);
        if (!revocation) {
            skipped.push_back("a revocation: " + revocation.error().message);
            continue;
        }
        ++usable;
        auto fresh = cluster_detail::apply_revocation(store, *revocation);
        if (!fresh) return tl::unexpected(fresh.error());
        if (*fresh) changes.revoked.push_back(revocation->device_key);
    }

    for (const auto& info : config.devices) {
        auto certificate =
            cluster_detail::usable_certificate(store, info.certificate, impl.user_public, own_key);
        if (!certificate) {
            const Errc code = certificate.error().code;
            // This device's own entry and removed devices are expected.
            if (code == Errc::already_exists || code == Errc::changed) {
                ++usable;
            } else if (code == Errc::io || code == Errc::busy || code == Errc::no_space) {
                return tl::unexpected(certificate.error());
            } else {
                skipped.push_back("a device: " + certificate.error().message);
            }
            continue;
        }
        ++usable;
        const bool is_sender = certificate->device_key == from.device_key;
        auto existing = store.device(certificate->device_key);
        if (!existing) return tl::unexpected(existing.error());

        DeviceRecord record;
        bool changed = false;
        if (*existing) {
            record = std::move(**existing);
        } else {
            record.key = certificate->device_key;
            changed = true;
        }
        // A newer certificate (a renamed device) replaces an older one.
        auto stored = DeviceCertificate::decode(bytes_of(record.certificate));
        if (!*existing || !stored || certificate->issued_ns > stored->issued_ns) {
            if (record.certificate != info.certificate) changed = true;
            record.certificate = info.certificate;
            record.name = certificate->device_name;
        }
        // A device's word on its own addresses beats what others relay.
        auto addresses = is_sender ? own_addresses_of(info.addresses, observed_address)
                                   : gossiped_addresses(info.addresses);
        if (!addresses.empty() && addresses != record.addresses &&
            (is_sender || record.addresses.empty())) {
            record.addresses = std::move(addresses);
            changed = true;
        }
        if (!changed) continue;
        if (auto ok = store.put_device(record); !ok) return tl::unexpected(ok.error());
        changes.new_or_updated.push_back(std::move(record));
    }
    if (usable == 0 && !skipped.empty()) {
        return fail(Errc::permission_denied,
                    "nothing usable in the device list of " + sender + ": " + joined(skipped));
    }
    return changes;
}

Result<Revocation> Cluster::revoke(const PublicKey& device_key) {
    Impl& impl = *m_impl;
    if (device_key == public_key_of(impl.device)) {
        return fail(Errc::invalid_argument,
                    "cannot remove this device itself: run `ferry devices remove` on another of "
                    "your devices");
    }
    Revocation revocation = Revocation::issue(impl.user, device_key, impl.clock.now_ns());
    if (auto ok = cluster_detail::apply_revocation(impl.store, revocation); !ok) {
        return tl::unexpected(ok.error());
    }
    return revocation;
}

Result<InviteCode> Cluster::make_invite(std::vector<std::string> addresses,
                                        std::int64_t lifetime_ns) {
    Impl& impl = *m_impl;
    if (lifetime_ns <= 0) {
        return fail(Errc::invalid_argument, "an invite must live for some time (--expires 1h)");
    }
    if (addresses.empty()) {
        return fail(Errc::invalid_argument,
                    "no address to put in the join code: start `ferry run` or give "
                    "--address HOST:PORT");
    }
    if (addresses.size() > InviteCode::kMaxAddresses) addresses.resize(InviteCode::kMaxAddresses);
    for (const auto& address : addresses) {
        if (!usable_address(address)) {
            return fail(Errc::invalid_argument, "'" + address +
                                                    "' is not an address a joiner can dial "
                                                    "(HOST:PORT, [IPv6]:PORT)");
        }
    }
    const std::int64_t now = impl.clock.now_ns();
    InviteCode code;
    code.inviter = impl.device.device_id();
    code.addresses = std::move(addresses);
    code.expires_ns = lifetime_ns > std::numeric_limits<std::int64_t>::max() - now
                          ? std::numeric_limits<std::int64_t>::max()
                          : now + lifetime_ns;
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot start");
    randombytes_buf(code.invite_id.data(), code.invite_id.size());
    randombytes_buf(code.secret.data(), code.secret.size());
    InviteRecord record;
    record.id = code.invite_id;
    record.secret = code.secret;
    record.expires_ns = code.expires_ns;
    if (auto ok = impl.store.add_invite(record); !ok) return tl::unexpected(ok.error());
    return code;
}

}  // namespace ferry
