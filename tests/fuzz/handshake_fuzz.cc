// The handshake on arbitrary bytes: the first input byte picks what the rest
// is fed to — message 1 to a responder, message 2 to an initiator that sent
// its hello, message 3 to a responder that sent its reply, or the decoder of
// the credential inside messages 2 and 3 (reachable otherwise only through an
// authenticated decryption). Nothing may crash; forged bytes never complete
// a handshake; an accepted hello always gets a reply; a decoded credential
// re-encodes to exactly its bytes.
#include <array>
#include <span>
#include <vector>

#include "crypto/handshake.hh"
#include "crypto/handshake_payload.hh"
#include "fuzz_keys.hh"
#include "fuzz_target.hh"

namespace {

using namespace ferry;

struct Keys {
    KeyPair user = fuzz::key_pair(0);
    KeyPair responder = fuzz::key_pair(1);
    KeyPair initiator = fuzz::key_pair(2);
    DeviceCertificate responder_cert =
        DeviceCertificate::issue(user, fuzz::public_of(responder), "responder", 1);
    DeviceCertificate initiator_cert =
        DeviceCertificate::issue(user, fuzz::public_of(initiator), "initiator", 2);
};

EphemeralKey ephemeral(std::uint8_t fill) {
    EphemeralKey key;
    key.secret_key.fill(fill);
    return key;
}

void check_credential(std::span<const std::uint8_t> input) {
    auto decoded = crypto_detail::decode_signed_credential(input);
    if (!decoded) return;
    FUZZ_CHECK(decoded->credential.size() + 64 == input.size());
    std::vector<std::uint8_t> again;
    if (decoded->identity.certificate) {
        FUZZ_CHECK(!decoded->identity.invite_id);
        FUZZ_CHECK(decoded->identity.certificate->device_key == decoded->identity.device_key);
        again = crypto_detail::encode_certificate_credential(*decoded->identity.certificate);
    } else {
        FUZZ_CHECK(decoded->identity.invite_id.has_value());
        again = crypto_detail::encode_invite_credential(
            *decoded->identity.invite_id, decoded->identity.device_key, decoded->invite_proof);
    }
    FUZZ_CHECK(std::equal(again.begin(), again.end(), decoded->credential.begin(),
                          decoded->credential.end()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static const Keys keys;
    const std::span<const std::uint8_t> message(data + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            Handshake responder =
                Handshake::responder(keys.responder, keys.responder_cert, ephemeral(3));
            if (responder.read_hello(message)) FUZZ_CHECK(responder.write_reply().has_value());
            FUZZ_CHECK(!responder.read_finish(message));
            break;
        }
        case 1: {
            Handshake initiator =
                Handshake::initiator(keys.initiator, keys.initiator_cert, ephemeral(4));
            initiator.write_hello();
            FUZZ_CHECK(!initiator.read_reply(message));
            FUZZ_CHECK(!initiator.keys());
            break;
        }
        case 2: {
            Handshake initiator =
                Handshake::initiator(keys.initiator, keys.initiator_cert, ephemeral(4));
            Handshake responder =
                Handshake::responder(keys.responder, keys.responder_cert, ephemeral(3));
            FUZZ_CHECK(responder.read_hello(initiator.write_hello()).has_value());
            FUZZ_CHECK(responder.write_reply().has_value());
            FUZZ_CHECK(!responder.read_finish(message));
            FUZZ_CHECK(!responder.keys());
            break;
        }
        default: check_credential(message);
    }
    return 0;
}
