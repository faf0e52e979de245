// Internals shared by cluster.cc (trust, gossip, revocations, invites) and
// cluster_join.cc (both sides of joining). Not part of the cluster's
// interface. Thread rule: as Cluster's.
#pragma once

#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.hh"
#include "crypto/certificate.hh"
#include "crypto/identity.hh"
#include "net/clock.hh"
#include "net/messages.hh"
#include "store/store.hh"
#include "sync/cluster.hh"

namespace ferry {

struct Cluster::Impl {
    Impl(IdentityFiles files, Store& store, const Clock& clock, KeyPair device, KeyPair user,
         DeviceCertificate certificate)
        : files(std::move(files)),
          store(store),
          clock(clock),
          device(std::move(device)),
          user(std::move(user)),
          certificate(std::move(certificate)) {
        std::copy(this->user.public_key().begin(), this->user.public_key().end(),
                  user_public.begin());
    }

    IdentityFiles files;
    Store& store;
    const Clock& clock;
    KeyPair device;
    KeyPair user;
    DeviceCertificate certificate;  // this device's, under `user`
    PublicKey user_public{};
    std::string device_name;  // as given to open(), sent in ClusterConfig
};

namespace cluster_detail {

// "NAME (DEVICE-ID)" or the id alone: how messages name a device.
std::string device_text(const PublicKey& key, std::string_view name = {});

// A verified, not revoked certificate of another device (own_key excluded)
// from gossip or a join; the reason it is unusable otherwise.
Result<DeviceCertificate> usable_certificate(Store& store, std::string_view encoded,
                                             const PublicKey& user_public,
                                             const PublicKey& own_key);

// A verified revocation under `user_public`.
Result<Revocation> usable_revocation(std::string_view encoded, const PublicKey& user_public);

// Stores a verified revocation and forgets the device: its record and what
// it announced in every folder. True when it was not revoked before.
Result<bool> apply_revocation(Store& store, const Revocation& revocation);

// The devices to gossip (or hand to a joiner): this one first, then every
// known device.
Result<std::vector<wire::DeviceInfo>> device_infos(const DeviceCertificate& own, Store& store,
                                                   std::vector<std::string> own_addresses);

}  // namespace cluster_detail
}  // namespace ferry
