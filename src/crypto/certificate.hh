// Device certificates and revocations: how a user's devices trust each other.
//
// The user key (an Ed25519 key pair shared by the user's devices, see
// crypto/identity.hh) signs one certificate per device: "this device key,
// with this name, belongs to this user, since this time". A device trusts a
// peer whose certificate verifies under its own user public key and whose
// device key is not revoked. A revocation is a statement signed by the user
// key: "this device key is no longer trusted, since this time". Both are
// small binary values with a strict encoding (proto/security.md gives the
// exact bytes); what is signed is a domain-separated prefix followed by the
// encoded fields, so a signature of one kind can never pass as another.
//
// Pure values; thread-safe to copy. decode() of untrusted bytes fails with
// Errc::corrupt (wrong length, unknown version, a name check_device_name()
// refuses); verify() fails with Errc::permission_denied when the signature is
// not the given user key's.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hh"
#include "crypto/device_id.hh"
#include "crypto/identity.hh"

namespace ferry {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;

struct DeviceCertificate {
    static constexpr std::size_t kMaxNameBytes = 255;

    PublicKey device_key{};   // the device's Ed25519 public key
    PublicKey user_key{};     // the signer's Ed25519 public key
    std::string device_name;  // UTF-8, at most kMaxNameBytes
    std::int64_t issued_ns = 0;
    Signature signature{};

    // A certificate for `device_key`, signed by `user`. REQUIRES:
    // check_device_name(device_name) succeeds (std::invalid_argument
    // otherwise: the caller must check names it did not make itself).
    static DeviceCertificate issue(const KeyPair& user, const PublicKey& device_key,
                                   std::string device_name, std::int64_t issued_ns);
    // OK when the signature is valid and made by `user_key`.
    Result<void> verify(const PublicKey& user_key) const;
    DeviceId device_id() const { return DeviceId::from_public_key(device_key); }

    std::string encode() const;
    static Result<DeviceCertificate> decode(std::span<const std::uint8_t> bytes);
    friend bool operator==(const DeviceCertificate&, const DeviceCertificate&) = default;
};

// Whether `name` can be a device name: valid UTF-8, at most
// DeviceCertificate::kMaxNameBytes bytes, no control characters (names are
// printed on terminals). Errc::invalid_argument saying what is wrong.
Result<void> check_device_name(std::string_view name);

struct Revocation {
    PublicKey device_key{};  // the revoked device
    PublicKey user_key{};
    std::int64_t revoked_ns = 0;
    Signature signature{};

    static Revocation issue(const KeyPair& user, const PublicKey& device_key,
                            std::int64_t revoked_ns);
    Result<void> verify(const PublicKey& user_key) const;

    std::string encode() const;
    static Result<Revocation> decode(std::span<const std::uint8_t> bytes);
    friend bool operator==(const Revocation&, const Revocation&) = default;
};

// A 32-byte key for one folder, the same on every device of the user without
// any copying: BLAKE2b-256 keyed by the user's secret seed over a domain
// prefix and the folder id. (The relay issue seals chunks with keys derived
// from it; it never leaves the user's devices.)
std::array<std::uint8_t, 32> derive_folder_key(const KeyPair& user, std::string_view folder_id);

}  // namespace ferry
