// A ferry-relay's identity: an Ed25519 key pair kept in DATA/relay.key
// (crypto/key_file.hh, role "relay"), and the certificate it presents in
// the handshake, signed by that same key (the relay belongs to no user).
// Devices pin the relay by its id (the device id of its public key), the
// RELAYID of its URL.
//
// Thread rule: plain functions and a value. Failures name the data folder
// and say what to do (Errc::already_exists: init on an initialised folder;
// Errc::not_found: run before init).
#pragma once

#include <string>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "crypto/identity.hh"

namespace ferry::relay {

struct RelayIdentity {
    KeyPair key;
    DeviceCertificate certificate;
    DeviceId id() const { return key.device_id(); }
};

// Creates DATA (mode 0700) if needed and a new key in it.
Result<RelayIdentity> create_identity(const std::string& data_dir);
Result<RelayIdentity> load_identity(const std::string& data_dir);

}  // namespace ferry::relay
