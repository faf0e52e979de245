#include "crypto/handshake.hh"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <string_view>

#include <sodium.h>

#include "crypto/bytes.hh"
#include "crypto/handshake_payload.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

using crypto_detail::append_be;
using crypto_detail::append_bytes;
using crypto_detail::append_text;
using crypto_detail::as_bytes;
using Hash = std::array<std::uint8_t, 32>;

// proto/handshake.md gives each of these its place.
constexpr std::string_view kMagic = "ferry-hs";
constexpr std::size_t kHelloBytes = 8 + 2 + 32;
constexpr std::string_view kProtocolName =
    "ferry-hs-v1 X25519 Ed25519 BLAKE2b-256 XChaCha20-Poly1305";
constexpr std::string_view kResponderKeyLabel = "ferry-hs-v1 responder credential key";
constexpr std::string_view kInitiatorKeyLabel = "ferry-hs-v1 initiator credential key";
constexpr std::string_view kInitiatorToResponder = "ferry-hs-v1 initiator to responder";
constexpr std::string_view kResponderToInitiator = "ferry-hs-v1 responder to initiator";
constexpr std::string_view kResponderSignature = "ferry-hs-v1 responder signature";
constexpr std::string_view kInitiatorSignature = "ferry-hs-v1 initiator signature";
constexpr std::string_view kInviteProof = "ferry-hs-v1 invite proof";
constexpr std::size_t kTag = crypto_aead_xchacha20poly1305_ietf_ABYTES;

enum class Step { start, hello_sent, reply_read, hello_read, reply_sent, done, failed };

// BLAKE2b-256 of the pieces in order, keyed when `key` is given.
Hash blake2b(std::span<const std::uint8_t> key, std::span<const std::uint8_t> a,
             std::span<const std::uint8_t> b) {
    Hash out{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, key.data(), key.size(), out.size());
    crypto_generichash_update(&state, a.data(), a.size());
    crypto_generichash_update(&state, b.data(), b.size());
    crypto_generichash_final(&state, out.data(), out.size());
    sodium_memzero(&state, sizeof state);
    return out;
}

// The transcript: h' = BLAKE2b-256(h || data).
Hash mix(const Hash& h, std::span<const std::uint8_t> data) {
    return blake2b({}, h, data);
}

// A key for one purpose: BLAKE2b-256 keyed by the X25519 secret over the
// purpose's label and the transcript hash at that point.
Hash derive(const Hash& shared, std::string_view label, const Hash& h) {
    return blake2b(shared, as_bytes(label), h);
}

std::vector<std::uint8_t> signed_message(std::string_view prefix, const Hash& h) {
    std::vector<std::uint8_t> out;
    append_text(out, prefix);
    append_bytes(out, h);
    return out;
}

// Each key seals exactly one message, so the all-zero nonce is safe.
std::vector<std::uint8_t> seal(const Hash& key, const Hash& ad,
                               std::span<const std::uint8_t> plaintext) {
    const std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    std::vector<std::uint8_t> out(plaintext.size() + kTag);
    unsigned long long written = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &written, plaintext.data(),
                                               plaintext.size(), ad.data(), ad.size(), nullptr,
                                               nonce.data(), key.data());
    return out;
}

bool open(const Hash& key, const Hash& ad, std::span<const std::uint8_t> ciphertext,
          std::vector<std::uint8_t>& plaintext) {
    const std::array<std::uint8_t, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
    if (ciphertext.size() < kTag) return false;
    plaintext.resize(ciphertext.size() - kTag);
    unsigned long long written = 0;
    return crypto_aead_xchacha20poly1305_ietf_decrypt(
               plaintext.data(), &written, nullptr, ciphertext.data(), ciphertext.size(), ad.data(),
               ad.size(), nonce.data(), key.data()) == 0;
}

Hash make_invite_proof(const InviteSecret& secret, const Hash& h) {
    return blake2b(secret, as_bytes(kInviteProof), h);
}

void wipe(std::span<std::uint8_t> bytes) {
    sodium_memzero(bytes.data(), bytes.size());
}

// A fresh X25519 key pair, or the fixed one of a test vector (its public
// half is recomputed from the secret).
EphemeralKey make_ephemeral(std::optional<EphemeralKey> fixed) {
    crypto_detail::ensure_sodium();
    EphemeralKey key;
    if (fixed) {
        key.secret_key = fixed->secret_key;
        wipe(fixed->secret_key);
    } else {
        randombytes_buf(key.secret_key.data(), key.secret_key.size());
    }
    crypto_scalarmult_base(key.public_key.data(), key.secret_key.data());
    return key;
}

}  // namespace

struct Handshake::State {
    bool initiator = false;
    Step step = Step::start;
    const KeyPair* device = nullptr;
    Credential credential;  // the responder's is always a certificate
    EphemeralKey ephemeral;
    PublicKey peer_ephemeral{};
    Hash hash{};               // the transcript so far
    Hash shared{};             // X25519(own ephemeral, peer ephemeral)
    Hash invite_transcript{};  // h2, what an invite proof MACs (responder)
    Hash invite_proof{};
    std::optional<PeerIdentity> peer;
    SessionKeys keys;

    State(bool is_initiator, const KeyPair& own_key, Credential own_credential,
          std::optional<EphemeralKey> fixed_ephemeral)
        : initiator(is_initiator),
          device(&own_key),
          credential(std::move(own_credential)),
          ephemeral(make_ephemeral(std::move(fixed_ephemeral))),
          hash(blake2b({}, as_bytes(kProtocolName), {})) {}
    State(const State&) = delete;
    State& operator=(const State&) = delete;
    ~State() {
        wipe_secrets();
        wipe(keys.send);
        wipe(keys.receive);
        if (auto* invite = std::get_if<InviteCredential>(&credential)) wipe(invite->secret);
    }
    void wipe_secrets() {
        wipe(ephemeral.secret_key);
        wipe(shared);
    }
    // Every failure ends the handshake: no later call can use half a state.
    tl::unexpected<Error> failed(Errc code, std::string message) {
        step = Step::failed;
        wipe_secrets();
        return fail(code, "handshake: " + std::move(message));
    }
    // The X25519 secret with the peer's ephemeral key; the own ephemeral
    // secret is wiped as soon as it is used.
    bool agree() {
        const bool ok = crypto_scalarmult(shared.data(), ephemeral.secret_key.data(),
                                          peer_ephemeral.data()) == 0;
        wipe(ephemeral.secret_key);
        return ok;
    }
    std::vector<std::uint8_t> credential_bytes(const Hash& h) const {
        if (const auto* cert = std::get_if<DeviceCertificate>(&credential)) {
            return crypto_detail::encode_certificate_credential(*cert);
        }
        const auto& invite = std::get<InviteCredential>(credential);
        PublicKey device_key{};
        std::copy(device->public_key().begin(), device->public_key().end(), device_key.begin());
        return crypto_detail::encode_invite_credential(invite.invite_id, device_key,
                                                       make_invite_proof(invite.secret, h));
    }
    bool certificate_is_ours() const {
        const auto* cert = std::get_if<DeviceCertificate>(&credential);
        return cert == nullptr || std::equal(cert->device_key.begin(), cert->device_key.end(),
                                             device->public_key().begin());
    }
    // The encrypted half of messages 2 and 3: credential and signature over
    // the transcript with the credential, sealed under `key` with `h` as AD.
    std::vector<std::uint8_t> sealed_credential(const Hash& key, const Hash& h,
                                                std::string_view signature_prefix) const {
        std::vector<std::uint8_t> payload = credential_bytes(h);
        const auto signature = device->sign(signed_message(signature_prefix, mix(h, payload)));
        append_bytes(payload, signature);
        return seal(key, h, payload);
    }
    // Opens and checks the peer's credential; the signature must be by the
    // device key the credential names.
    Result<crypto_detail::SignedCredential> open_credential(
        const Hash& key, const Hash& h, std::span<const std::uint8_t> ciphertext,
        std::string_view signature_prefix, std::vector<std::uint8_t>& plaintext) {
        if (!open(key, h, ciphertext, plaintext)) {
            return failed(Errc::corrupt,
                          std::string(initiator ? "reply" : "finish") +
                              " fails authentication: altered, replayed from another session, or "
                              "from a peer that did not receive our message");
        }
        auto signed_credential = crypto_detail::decode_signed_credential(plaintext);
        if (!signed_credential) return failed(Errc::corrupt, signed_credential.error().message);
        const auto message =
            signed_message(signature_prefix, mix(h, signed_credential->credential));
        if (crypto_sign_verify_detached(signed_credential->signature.data(), message.data(),
                                        message.size(),
                                        signed_credential->identity.device_key.data()) != 0) {
            return failed(Errc::corrupt, "the peer's signature over the transcript is invalid");
        }
        return signed_credential;
    }
    // Session keys from the whole transcript; nothing secret is left but them.
    void finish() {
        const Hash i2r = derive(shared, kInitiatorToResponder, hash);
        const Hash r2i = derive(shared, kResponderToInitiator, hash);
        keys.send = initiator ? i2r : r2i;
        keys.receive = initiator ? r2i : i2r;
        keys.transcript_hash = hash;
        wipe_secrets();
        step = Step::done;
    }
};

Handshake::Handshake(std::unique_ptr<State> state) : m_state(std::move(state)) {}
Handshake::Handshake(Handshake&&) noexcept = default;
Handshake& Handshake::operator=(Handshake&&) noexcept = default;
Handshake::~Handshake() = default;

Handshake Handshake::initiator(const KeyPair& device, Credential credential,
                               std::optional<EphemeralKey> ephemeral) {
    return Handshake(
        std::make_unique<State>(true, device, std::move(credential), std::move(ephemeral)));
}

Handshake Handshake::responder(const KeyPair& device, DeviceCertificate certificate,
                               std::optional<EphemeralKey> ephemeral) {
    return Handshake(
        std::make_unique<State>(false, device, std::move(certificate), std::move(ephemeral)));
}

std::vector<std::uint8_t> Handshake::write_hello() {
    State& s = *m_state;
    if (!s.initiator || s.step != Step::start) {
        throw std::logic_error("Handshake::write_hello() called out of order");
    }
    std::vector<std::uint8_t> hello;
    hello.reserve(kHelloBytes);
    append_text(hello, kMagic);
    append_be(hello, kProtocolVersion, 2);
    append_bytes(hello, s.ephemeral.public_key);
    s.hash = mix(s.hash, hello);
    s.step = Step::hello_sent;
    return hello;
}

Result<void> Handshake::read_hello(std::span<const std::uint8_t> message) {
    State& s = *m_state;
    if (s.initiator || s.step != Step::start) {
        return s.failed(Errc::invalid_argument, "read_hello() out of order");
    }
    if (message.size() < kMagic.size() + 2 ||
        !std::equal(kMagic.begin(), kMagic.end(), message.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
        return s.failed(Errc::corrupt, "hello does not start with ferry's magic: not a ferry peer");
    }
    const unsigned version = (unsigned{message[8]} << 8) | message[9];
    if (version != kProtocolVersion) {
        return s.failed(Errc::corrupt, "peer speaks protocol version " + std::to_string(version) +
                                           ", this ferry speaks " +
                                           std::to_string(kProtocolVersion) +
                                           ": run the same ferry release on both devices");
    }
    if (message.size() != kHelloBytes) {
        return s.failed(Errc::corrupt, "hello is " + std::to_string(message.size()) +
                                           " bytes, expected " + std::to_string(kHelloBytes));
    }
    std::copy(message.begin() + 10, message.end(), s.peer_ephemeral.begin());
    if (!s.agree()) return s.failed(Errc::corrupt, "hello carries an invalid ephemeral key");
    s.hash = mix(s.hash, message);
    s.step = Step::hello_read;
    return {};
}

Result<std::vector<std::uint8_t>> Handshake::write_reply() {
    State& s = *m_state;
    if (s.initiator || s.step != Step::hello_read) {
        return s.failed(Errc::invalid_argument, "write_reply() out of order");
    }
    if (!s.certificate_is_ours()) {
        return s.failed(Errc::invalid_argument, "the certificate is not for this device's key");
    }
    std::vector<std::uint8_t> reply;
    append_bytes(reply, s.ephemeral.public_key);
    s.hash = mix(s.hash, s.ephemeral.public_key);
    const auto sealed = s.sealed_credential(derive(s.shared, kResponderKeyLabel, s.hash), s.hash,
                                            kResponderSignature);
    append_bytes(reply, sealed);
    s.hash = mix(s.hash, sealed);
    s.step = Step::reply_sent;
    return reply;
}

Result<PeerIdentity> Handshake::read_reply(std::span<const std::uint8_t> message) {
    State& s = *m_state;
    if (!s.initiator || s.step != Step::hello_sent) {
        return s.failed(Errc::invalid_argument, "read_reply() out of order");
    }
    if (message.size() < 32 + kTag || message.size() > kMaxMessageBytes) {
        return s.failed(Errc::corrupt, "reply of " + std::to_string(message.size()) +
                                           " bytes cannot be a ferry handshake reply");
    }
    std::copy(message.begin(), message.begin() + 32, s.peer_ephemeral.begin());
    if (!s.agree()) return s.failed(Errc::corrupt, "reply carries an invalid ephemeral key");
    s.hash = mix(s.hash, s.peer_ephemeral);
    const auto sealed = message.subspan(32);
    std::vector<std::uint8_t> plaintext;
    auto credential = s.open_credential(derive(s.shared, kResponderKeyLabel, s.hash), s.hash,
                                        sealed, kResponderSignature, plaintext);
    if (!credential) return tl::unexpected(credential.error());
    if (!credential->identity.certificate) {
        return s.failed(Errc::corrupt, "the responder presented no certificate");
    }
    s.hash = mix(s.hash, sealed);
    s.peer = credential->identity;
    s.step = Step::reply_read;
    return *s.peer;
}

Result<std::vector<std::uint8_t>> Handshake::write_finish() {
    State& s = *m_state;
    if (!s.initiator || s.step != Step::reply_read) {
        return s.failed(Errc::invalid_argument, "write_finish() out of order");
    }
    if (!s.certificate_is_ours()) {
        return s.failed(Errc::invalid_argument, "the certificate is not for this device's key");
    }
    auto finish = s.sealed_credential(derive(s.shared, kInitiatorKeyLabel, s.hash), s.hash,
                                      kInitiatorSignature);
    s.hash = mix(s.hash, finish);
    s.finish();
    return finish;
}

Result<PeerIdentity> Handshake::read_finish(std::span<const std::uint8_t> message) {
    State& s = *m_state;
    if (s.initiator || s.step != Step::reply_sent) {
        return s.failed(Errc::invalid_argument, "read_finish() out of order");
    }
    if (message.size() > kMaxMessageBytes) {
        return s.failed(Errc::corrupt, "finish of " + std::to_string(message.size()) +
                                           " bytes is longer than any handshake message");
    }
    std::vector<std::uint8_t> plaintext;
    auto credential = s.open_credential(derive(s.shared, kInitiatorKeyLabel, s.hash), s.hash,
                                        message, kInitiatorSignature, plaintext);
    if (!credential) return tl::unexpected(credential.error());
    s.invite_transcript = s.hash;
    s.invite_proof = credential->invite_proof;
    s.hash = mix(s.hash, message);
    s.peer = credential->identity;
    s.finish();
    return *s.peer;
}

bool Handshake::invite_proof_matches(const InviteSecret& secret) const {
    const State& s = *m_state;
    if (s.initiator || s.step != Step::done || !s.peer || !s.peer->invite_id) return false;
    const Hash expected = make_invite_proof(secret, s.invite_transcript);
    return crypto_verify_32(expected.data(), s.invite_proof.data()) == 0;
}

Result<SessionKeys> Handshake::keys() const {
    if (m_state->step != Step::done) {
        return fail(Errc::invalid_argument, "handshake: keys() before the handshake completed");
    }
    return m_state->keys;
}

}  // namespace ferry
