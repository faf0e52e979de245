// The plaintext inside handshake messages 2 and 3: a credential, then the
// sender's Ed25519 signature (proto/handshake.md, "Credentials").
//
// Separate from the handshake's state machine so that the decoder of this
// untrusted plaintext can be fuzzed directly (it is only reachable through
// an authenticated decryption otherwise). Private to src/crypto. Pure;
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hh"
#include "crypto/handshake.hh"

namespace ferry::crypto_detail {

inline constexpr std::uint8_t kCertificateCredential = 1;
inline constexpr std::uint8_t kInviteCredential = 2;

std::vector<std::uint8_t> encode_certificate_credential(const DeviceCertificate& certificate);
std::vector<std::uint8_t> encode_invite_credential(const InviteId& invite_id,
                                                   const PublicKey& device_key,
                                                   const std::array<std::uint8_t, 32>& proof);

struct SignedCredential {
    PeerIdentity identity;                        // device key, and certificate or invite id
    std::array<std::uint8_t, 32> invite_proof{};  // when identity.invite_id is set
    std::span<const std::uint8_t> credential;     // the credential's bytes (within the input)
    Signature signature{};
};

// Errc::corrupt naming what is wrong: unknown kind, bad length, a certificate
// that does not decode, bytes missing or left over.
Result<SignedCredential> decode_signed_credential(std::span<const std::uint8_t> plaintext);

}  // namespace ferry::crypto_detail
