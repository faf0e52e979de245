// Mailbox envelopes: messages a device leaves at a relay for the user's
// offline devices (proto/relay_sealing.md, "Mailbox envelopes", gives the
// exact bytes). The relay stores and forwards them, but cannot read them,
// forge one, change its message id or move it to another device's mailbox.
//
// The mailbox key = KH(user seed, "ferry-mailbox-key-v1") is the same on
// every device of the user. An envelope is the padded seal
// (crypto/padded_aead.hh) under it, with message id || recipient device key
// as associated data, of: sender device key || the sender device's Ed25519
// signature over "ferry-envelope-v1" || message id || recipient || payload
// || payload. open_envelope() checks the seal (Errc::corrupt: changed, for
// another recipient or id, another user's) and then the signature
// (Errc::permission_denied: not made by the device the envelope names). It
// does NOT decide whether that device is trusted: the caller checks the
// sender is a certified, unrevoked device of the user (anyone holding the
// mailbox key, e.g. a revoked device, can seal).
//
// seal_envelope() REQUIRES payload.size() <= kMaxEnvelopePayload
// (std::invalid_argument otherwise, a bug). A sealed envelope is then at
// most wire::kMaxMailboxPayload bytes; open_envelope() refuses larger input
// before allocating.
//
// Pure functions (randomness from libsodium); safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/error.hh"
#include "crypto/certificate.hh"
#include "crypto/identity.hh"
#include "crypto/padded_aead.hh"
#include "net/messages.hh"  // ids and limits only: crypto does not link net

namespace ferry {

using wire::MailboxMessageId;

// Sender device key (32) and signature (64) inside, the seal's 45 around.
inline constexpr std::size_t kEnvelopeOverhead = crypto_detail::kSealOverhead + 32 + 64;
inline constexpr std::size_t kMaxEnvelopePayload = wire::kMaxMailboxPayload - kEnvelopeOverhead;

struct OpenedEnvelope {
    PublicKey sender{};  // the device that signed it: the caller checks it is trusted
    std::string payload;
};

std::array<std::uint8_t, 32> derive_mailbox_key(const KeyPair& user);

std::string seal_envelope(const KeyPair& user, const KeyPair& sender_device,
                          const MailboxMessageId& id, const PublicKey& recipient,
                          std::span<const std::uint8_t> payload);

Result<OpenedEnvelope> open_envelope(const KeyPair& user, const MailboxMessageId& id,
                                     const PublicKey& recipient,
                                     std::span<const std::uint8_t> sealed);

// 16 random bytes.
MailboxMessageId new_message_id();

}  // namespace ferry
