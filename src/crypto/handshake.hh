// The handshake: how two ferry devices agree on session keys and prove who
// they are (specified byte for byte in proto/handshake.md, with test vectors
// that tests/crypto checks).
//
// Three messages, SIGMA-style with Noise XX's shape, from libsodium
// primitives only (X25519, Ed25519, BLAKE2b, XChaCha20-Poly1305):
//   1. initiator -> responder: magic, protocol version, ephemeral X25519 key
//   2. responder -> initiator: its ephemeral key, then encrypted under a key
//      from the shared secret and the transcript hash: its credential and an
//      Ed25519 signature over the transcript hash
//   3. initiator -> responder: encrypted likewise, its credential and signature
// Session keys come from the final transcript hash and the X25519 shared
// secret; ephemeral secrets are wiped once used. Properties: mutual
// authentication, forward secrecy, no replay (fresh ephemerals on both sides
// are under every signature), no downgrade (magic and version are in the
// transcript), identities hidden from a passive observer.
//
// A credential is either a device certificate (crypto/certificate.hh) or,
// for a device joining with `ferry join`, an invite proof: the invite's id
// and a MAC of the transcript hash keyed by the invite's one-time secret. The
// handshake checks signatures and the encryption; whether the peer is
// *trusted* (certificate chains to the user key, not revoked; invite known,
// unused, unexpired) is decided by the caller from peer(), before it sends
// anything else. The initiator learns the responder's identity after
// message 2 and should abort (not send message 3) if it is not the expected
// device.
//
// Thread rule: one Handshake per connection, used by one thread. Failures:
// Errc::corrupt for malformed or wrongly sized messages, bad magic, an
// unsupported version, a failed decryption or a bad signature;
// Errc::invalid_argument for calls out of order (write_hello(), which
// returns no Result, throws std::logic_error then: a bug). The first failure
// ends the handshake: every later call fails.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "crypto/identity.hh"

namespace ferry {

inline constexpr std::uint16_t kProtocolVersion = 1;

using InviteId = std::array<std::uint8_t, 16>;
using InviteSecret = std::array<std::uint8_t, 32>;

// What the joining device presents instead of a certificate.
struct InviteCredential {
    InviteId invite_id{};
    InviteSecret secret{};
};

using Credential = std::variant<DeviceCertificate, InviteCredential>;

// What one side learned about the other once the handshake has succeeded
// (signatures over the transcript already checked).
struct PeerIdentity {
    PublicKey device_key{};
    std::optional<DeviceCertificate> certificate;  // set unless joining
    std::optional<InviteId> invite_id;             // set when joining
    DeviceId device_id() const { return DeviceId::from_public_key(device_key); }
};

struct SessionKeys {
    std::array<std::uint8_t, 32> send{};     // this side -> peer
    std::array<std::uint8_t, 32> receive{};  // peer -> this side
    std::array<std::uint8_t, 32> transcript_hash{};
};

struct EphemeralKey {  // X25519; fixed only in test vectors (public_key is recomputed)
    std::array<std::uint8_t, 32> public_key{};
    std::array<std::uint8_t, 32> secret_key{};
};

class Handshake {
public:
    // No handshake message is longer (certificates are a few hundred bytes).
    static constexpr std::size_t kMaxMessageBytes = 2048;

    // `device` must outlive the Handshake. `ephemeral` only for test vectors.
    static Handshake initiator(const KeyPair& device, Credential credential,
                               std::optional<EphemeralKey> ephemeral = std::nullopt);
    static Handshake responder(const KeyPair& device, DeviceCertificate certificate,
                               std::optional<EphemeralKey> ephemeral = std::nullopt);
    Handshake(Handshake&&) noexcept;
    Handshake& operator=(Handshake&&) noexcept;
    ~Handshake();

    // Initiator: write_hello(), read_reply(m2), write_finish(); then keys().
    std::vector<std::uint8_t> write_hello();
    Result<PeerIdentity> read_reply(std::span<const std::uint8_t> message);
    Result<std::vector<std::uint8_t>> write_finish();

    // Responder: read_hello(m1), write_reply(), read_finish(m3); then keys().
    Result<void> read_hello(std::span<const std::uint8_t> message);
    Result<std::vector<std::uint8_t>> write_reply();
    Result<PeerIdentity> read_finish(std::span<const std::uint8_t> message);
    // Responder, after read_finish() returned an invite_id: whether the
    // peer's proof was made with `secret` (constant-time compare).
    bool invite_proof_matches(const InviteSecret& secret) const;

    // After the last message: the session keys (Errc::invalid_argument before).
    Result<SessionKeys> keys() const;

private:
    struct State;
    explicit Handshake(std::unique_ptr<State> state);
    std::unique_ptr<State> m_state;
};

}  // namespace ferry
