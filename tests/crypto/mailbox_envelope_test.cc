// Mailbox envelopes (crypto/mailbox_envelope.hh): proto/relay_sealing.md's
// vector, round trips, and envelopes a relay could move, change or forge.
#include "crypto/mailbox_envelope.hh"

#include <stdexcept>

#include <catch2/catch.hpp>

#include "crypto_test_util.hh"
#include "relay_seal_util.hh"

using namespace ferry;
using namespace ferry::test;
using crypto_detail::padme_size;

namespace {

MailboxMessageId fixed_id(std::uint8_t start) {
    MailboxMessageId id{};
    for (std::size_t i = 0; i < id.size(); ++i) id[i] = static_cast<std::uint8_t>(start + i);
    return id;
}

std::string payload_of(std::size_t size) {
    std::string out;
    for (std::size_t i = 0; i < size; ++i) out.push_back(static_cast<char>('a' + i % 26));
    return out;
}

std::array<std::uint8_t, 48> ad_of(const MailboxMessageId& id, const PublicKey& recipient) {
    std::array<std::uint8_t, 48> out{};
    std::copy(recipient.begin(), recipient.end(), std::copy(id.begin(), id.end(), out.begin()));
    return out;
}

// An envelope made by hand: `named` as the sender, signed by `signer` over
// "ferry-envelope-v1" || signed_id || recipient || payload, sealed for `id`.
std::string forged(const KeyPair& user, const KeyPair& named, const KeyPair& signer,
                   const MailboxMessageId& signed_id, const MailboxMessageId& id,
                   const PublicKey& recipient, const std::string& payload, std::uint8_t flags = 0) {
    std::string text = "ferry-envelope-v1";
    text.append(signed_id.begin(), signed_id.end());
    text.append(recipient.begin(), recipient.end());
    text += payload;
    const auto signature = signer.sign(bytes_of(text));
    std::string body(named.public_key().begin(), named.public_key().end());
    body.append(signature.begin(), signature.end());
    body += payload;
    const auto key = derive_mailbox_key(user);
    const std::string plaintext =
        padded_plaintext(flags, bytes_of(body), padme_size(body.size()) - body.size());
    return seal_by_hand(key, ad_of(id, recipient), bytes_of(plaintext));
}

}  // namespace

TEST_CASE("the mailbox key matches proto/relay_sealing.md's vector", "[envelope]") {
    // Python: hashlib.blake2b(b"ferry-mailbox-key-v1", key=bytes(range(32)), digest_size=32).
    CHECK(hex(derive_mailbox_key(key_from(0x00))) ==
          "2c92ae95de49ff55e52bfe6dd18ed8dbecf936a54d9ca6165ae8ab5b9a407195");
}

TEST_CASE("envelopes come back with their sender and payload, padded to their bucket",
          "[envelope]") {
    const KeyPair user = key_from(0x00);
    const KeyPair laptop = key_from(0x20);
    const PublicKey phone = public_of(key_from(0x60));
    for (const std::size_t size : {0, 1, 100, 1000, 100000}) {
        INFO(size);
        const auto id = new_message_id();
        const std::string payload = payload_of(size);
        const std::string sealed = seal_envelope(user, laptop, id, phone, bytes_of(payload));
        CHECK(sealed.size() == 45 + padme_size(96 + size));

        // The documented layout, opened by hand.
        const std::string plain =
            open_by_hand(derive_mailbox_key(user), ad_of(id, phone), bytes_of(sealed));
        REQUIRE(plain.size() == 5 + padme_size(96 + size));
        CHECK(plain[0] == 0);
        CHECK(plain.substr(5, 32) ==
              std::string(laptop.public_key().begin(), laptop.public_key().end()));
        CHECK(plain.substr(5 + 96, size) == payload);

        const auto opened = open_envelope(user, id, phone, bytes_of(sealed));
        REQUIRE(opened);
        CHECK(opened->sender == public_of(laptop));
        CHECK(opened->payload == payload);
    }
}

TEST_CASE("an envelope opens only for its user, recipient and message id", "[envelope]") {
    const KeyPair user = key_from(0x00);
    const KeyPair laptop = key_from(0x20);
    const PublicKey phone = public_of(key_from(0x60));
    const auto id = fixed_id(0xa0);
    const std::string sealed = seal_envelope(user, laptop, id, phone, bytes_of(payload_of(500)));

    const auto moved = open_envelope(user, id, public_of(laptop), bytes_of(sealed));
    REQUIRE(!moved);
    CHECK(moved.error().code == Errc::corrupt);
    CHECK_THAT(moved.error().message,
               Catch::Contains("mailbox message a0a1a2a3") && Catch::Contains("authenticate"));
    const auto renamed = open_envelope(user, fixed_id(0xb0), phone, bytes_of(sealed));
    REQUIRE(!renamed);
    CHECK(renamed.error().code == Errc::corrupt);
    const auto stranger = open_envelope(key_from(0x40), id, phone, bytes_of(sealed));
    REQUIRE(!stranger);
    CHECK(stranger.error().code == Errc::corrupt);
}

TEST_CASE("any changed, missing or added byte of an envelope is refused", "[envelope]") {
    const KeyPair user = key_from(0x00);
    const KeyPair laptop = key_from(0x20);
    const PublicKey phone = public_of(key_from(0x60));
    const auto id = fixed_id(0xa0);
    const std::string sealed = seal_envelope(user, laptop, id, phone, bytes_of(payload_of(50)));
    for (std::size_t i = 0; i < sealed.size(); ++i) {
        std::string bad = sealed;
        bad[i] = static_cast<char>(bad[i] ^ 0x10);
        const auto r = open_envelope(user, id, phone, bytes_of(bad));
        REQUIRE(!r);
        REQUIRE(r.error().code == Errc::corrupt);
    }
    CHECK(!open_envelope(user, id, phone, bytes_of(sealed.substr(0, sealed.size() - 1))));
    CHECK(!open_envelope(user, id, phone, bytes_of(sealed + '\0')));
    CHECK_THAT(open_envelope(user, id, phone, bytes_of(sealed.substr(0, 140))).error().message,
               Catch::Contains("shorter than an empty envelope (141)"));
}

TEST_CASE("an envelope not signed by the device it names is refused", "[envelope]") {
    const KeyPair user = key_from(0x00);
    const KeyPair laptop = key_from(0x20);
    const KeyPair desktop = key_from(0x80);
    const PublicKey phone = public_of(key_from(0x60));
    const auto id = fixed_id(0xa0);
    const std::string payload = payload_of(300);

    const std::string honest = forged(user, laptop, laptop, id, id, phone, payload);
    REQUIRE(open_envelope(user, id, phone, bytes_of(honest)));

    const auto other_signer = open_envelope(
        user, id, phone, bytes_of(forged(user, laptop, desktop, id, id, phone, payload)));
    REQUIRE(!other_signer);
    CHECK(other_signer.error().code == Errc::permission_denied);
    CHECK_THAT(other_signer.error().message,
               Catch::Contains(laptop.device_id().to_string()) &&
                   Catch::Contains("not signed by the device it names"));

    // Resealed under another id by a holder of the mailbox key: the
    // signature still names the first id.
    const auto resealed =
        open_envelope(user, fixed_id(0xb0), phone,
                      bytes_of(forged(user, laptop, laptop, id, fixed_id(0xb0), phone, payload)));
    REQUIRE(!resealed);
    CHECK(resealed.error().code == Errc::permission_denied);

    const auto flagged = open_envelope(
        user, id, phone, bytes_of(forged(user, laptop, laptop, id, id, phone, payload, 1)));
    REQUIRE(!flagged);
    CHECK_THAT(flagged.error().message, Catch::Contains("unknown flags 1"));
}

TEST_CASE("an envelope body too short for a sender and signature is refused", "[envelope]") {
    const KeyPair user = key_from(0x00);
    const PublicKey phone = public_of(key_from(0x60));
    const auto id = fixed_id(0xa0);
    const std::string body(95, 'x');
    const std::string plaintext =
        padded_plaintext(0, bytes_of(body), padme_size(body.size()) - body.size());
    const std::string sealed =
        seal_by_hand(derive_mailbox_key(user), ad_of(id, phone), bytes_of(plaintext));
    const auto r = open_envelope(user, id, phone, bytes_of(sealed));
    REQUIRE(!r);
    CHECK_THAT(r.error().message, Catch::Contains("no room for the sender and signature"));
}

TEST_CASE("the largest payload fits the relay's limit; a larger one is a caller's bug",
          "[envelope]") {
    const KeyPair user = key_from(0x00);
    const KeyPair laptop = key_from(0x20);
    const PublicKey phone = public_of(key_from(0x60));
    const auto id = fixed_id(0xa0);
    CHECK(kMaxEnvelopePayload == (16u << 20) - 141);
    const std::string payload(kMaxEnvelopePayload, 'p');
    const std::string sealed = seal_envelope(user, laptop, id, phone, bytes_of(payload));
    CHECK(sealed.size() == wire::kMaxMailboxPayload);
    const auto opened = open_envelope(user, id, phone, bytes_of(sealed));
    REQUIRE(opened);
    CHECK(opened->payload == payload);

    CHECK_THROWS_AS(
        seal_envelope(user, laptop, id, phone, bytes_of(std::string(kMaxEnvelopePayload + 1, 'p'))),
        std::invalid_argument);
    const auto huge = open_envelope(user, id, phone, bytes_of(sealed + 'x'));
    REQUIRE(!huge);
    CHECK_THAT(huge.error().message, Catch::Contains("outside 45.."));
}

TEST_CASE("message ids are random", "[envelope]") {
    CHECK(new_message_id() != new_message_id());
}
