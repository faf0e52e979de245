#include "crypto/handshake_payload.hh"

#include <string>

#include "crypto/bytes.hh"

namespace ferry::crypto_detail {

std::vector<std::uint8_t> encode_certificate_credential(const DeviceCertificate& certificate) {
    const std::string bytes = certificate.encode();
    std::vector<std::uint8_t> out;
    out.reserve(3 + bytes.size());
    out.push_back(kCertificateCredential);
    append_be(out, bytes.size(), 2);
    append_text(out, bytes);
    return out;
}

std::vector<std::uint8_t> encode_invite_credential(const InviteId& invite_id,
                                                   const PublicKey& device_key,
                                                   const std::array<std::uint8_t, 32>& proof) {
    std::vector<std::uint8_t> out;
    out.reserve(1 + invite_id.size() + device_key.size() + proof.size());
    out.push_back(kInviteCredential);
    append_bytes(out, invite_id);
    append_bytes(out, device_key);
    append_bytes(out, proof);
    return out;
}

Result<SignedCredential> decode_signed_credential(std::span<const std::uint8_t> plaintext) {
    ByteReader in(plaintext);
    SignedCredential out;
    std::uint64_t kind = 0;
    if (!in.read_be(1, kind)) return fail(Errc::corrupt, "credential is empty");
    if (kind == kCertificateCredential) {
        std::uint64_t size = 0;
        std::span<const std::uint8_t> bytes;
        if (!in.read_be(2, size) || !in.take(size, bytes)) {
            return fail(Errc::corrupt, "credential ends inside its certificate");
        }
        auto certificate = DeviceCertificate::decode(bytes);
        if (!certificate) return tl::unexpected(certificate.error());
        out.identity.device_key = certificate->device_key;
        out.identity.certificate = std::move(*certificate);
    } else if (kind == kInviteCredential) {
        InviteId invite_id{};
        if (!in.read(invite_id) || !in.read(out.identity.device_key) ||
            !in.read(out.invite_proof)) {
            return fail(Errc::corrupt, "credential ends inside its invite proof");
        }
        out.identity.invite_id = invite_id;
    } else {
        return fail(Errc::corrupt, "credential of unknown kind " + std::to_string(kind));
    }
    out.credential = plaintext.first(plaintext.size() - in.remaining());
    if (!in.read(out.signature)) return fail(Errc::corrupt, "credential ends inside its signature");
    if (!in.at_end()) {
        return fail(Errc::corrupt, "credential has " + std::to_string(in.remaining()) +
                                       " bytes after its signature");
    }
    return out;
}

}  // namespace ferry::crypto_detail
