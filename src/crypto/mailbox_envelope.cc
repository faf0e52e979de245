#include "crypto/mailbox_envelope.hh"

#include <algorithm>
#include <stdexcept>

#include <sodium.h>

#include "crypto/bytes.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

using crypto_detail::append_bytes;
using crypto_detail::append_text;
using crypto_detail::as_bytes;

// proto/relay_sealing.md, "Mailbox envelopes".
constexpr std::string_view kMailboxKeyDomain = "ferry-mailbox-key-v1";
constexpr std::string_view kEnvelopeDomain = "ferry-envelope-v1";
constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kBodyHead = 32 + kSignatureBytes;  // sender key, signature
constexpr std::size_t kBodyCap = wire::kMaxMailboxPayload - crypto_detail::kSealOverhead;

static_assert(kBodyHead + kMaxEnvelopePayload == kBodyCap);

// The associated data: the relay cannot change the id or the mailbox.
std::array<std::uint8_t, 16 + 32> associated_data(const MailboxMessageId& id,
                                                  const PublicKey& recipient) {
    std::array<std::uint8_t, 16 + 32> out{};
    std::copy(recipient.begin(), recipient.end(), std::copy(id.begin(), id.end(), out.begin()));
    return out;
}

// What the sender device signs.
std::string signed_text(const MailboxMessageId& id, const PublicKey& recipient,
                        std::span<const std::uint8_t> payload) {
    std::string out;
    out.reserve(kEnvelopeDomain.size() + id.size() + recipient.size() + payload.size());
    append_text(out, kEnvelopeDomain);
    append_bytes(out, id);
    append_bytes(out, recipient);
    append_bytes(out, payload);
    return out;
}

std::string hex(std::span<const std::uint8_t> bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

// Holds the mailbox key for one call and wipes it after.
struct MailboxKey {
    explicit MailboxKey(const KeyPair& user) : bytes(derive_mailbox_key(user)) {}
    MailboxKey(const MailboxKey&) = delete;
    MailboxKey& operator=(const MailboxKey&) = delete;
    ~MailboxKey() { sodium_memzero(bytes.data(), bytes.size()); }
    std::array<std::uint8_t, 32> bytes;
};

}  // namespace

std::array<std::uint8_t, 32> derive_mailbox_key(const KeyPair& user) {
    return crypto_detail::derive_subkey(user.seed(), kMailboxKeyDomain);
}

std::string seal_envelope(const KeyPair& user, const KeyPair& sender_device,
                          const MailboxMessageId& id, const PublicKey& recipient,
                          std::span<const std::uint8_t> payload) {
    if (payload.size() > kMaxEnvelopePayload) {
        throw std::invalid_argument("seal_envelope: a payload of " +
                                    std::to_string(payload.size()) + " bytes, over " +
                                    std::to_string(kMaxEnvelopePayload));
    }
    const auto signature = sender_device.sign(as_bytes(signed_text(id, recipient, payload)));
    const MailboxKey key(user);
    return crypto_detail::seal_padded(key.bytes, associated_data(id, recipient), 0,
                                      {sender_device.public_key(), signature, payload}, kBodyCap);
}

Result<OpenedEnvelope> open_envelope(const KeyPair& user, const MailboxMessageId& id,
                                     const PublicKey& recipient,
                                     std::span<const std::uint8_t> sealed) {
    const std::string what = "mailbox message " + hex(id);
    if (sealed.size() < kEnvelopeOverhead) {
        return fail(Errc::corrupt, what + ": " + std::to_string(sealed.size()) +
                                       " bytes, shorter than an empty envelope (" +
                                       std::to_string(kEnvelopeOverhead) + ")");
    }
    const MailboxKey key(user);
    auto opened =
        crypto_detail::open_padded(key.bytes, associated_data(id, recipient), sealed, kBodyCap);
    if (!opened) return fail(Errc::corrupt, what + ": " + opened.error().message);
    if (opened->flags != 0) {
        return fail(Errc::corrupt, what + ": unknown flags " + std::to_string(opened->flags));
    }
    if (opened->body.size() < kBodyHead) {
        return fail(Errc::corrupt, what + ": a body of " + std::to_string(opened->body.size()) +
                                       " bytes has no room for the sender and signature");
    }
    const auto body = as_bytes(opened->body);
    OpenedEnvelope result;
    std::copy_n(body.begin(), result.sender.size(), result.sender.begin());
    const auto signature = body.subspan(32, kSignatureBytes);
    const auto payload = body.subspan(kBodyHead);
    crypto_detail::ensure_sodium();
    const std::string text = signed_text(id, recipient, payload);
    if (crypto_sign_verify_detached(signature.data(), as_bytes(text).data(), text.size(),
                                    result.sender.data()) != 0) {
        return fail(Errc::permission_denied,
                    what + ": not signed by the device it names (" +
                        DeviceId::from_public_key(result.sender).to_string() +
                        "): forged by a holder of the mailbox key");
    }
    opened->body.erase(0, kBodyHead);
    result.payload = std::move(opened->body);
    return result;
}

MailboxMessageId new_message_id() {
    crypto_detail::ensure_sodium();
    MailboxMessageId id{};
    randombytes_buf(id.data(), id.size());
    return id;
}

}  // namespace ferry
