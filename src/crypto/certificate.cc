#include "crypto/certificate.hh"

#include <stdexcept>

#include <sodium.h>

#include "core/utf8.hh"
#include "crypto/bytes.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

using crypto_detail::append_be;
using crypto_detail::append_bytes;
using crypto_detail::append_text;
using crypto_detail::as_bytes;
using crypto_detail::ByteReader;

// proto/security.md, "Certificates" and "Revocations".
constexpr std::uint8_t kFormatVersion = 1;
constexpr std::string_view kCertificateDomain = "ferry-certificate-v1";
constexpr std::string_view kRevocationDomain = "ferry-revocation-v1";
constexpr std::string_view kFolderKeyDomain = "ferry-folder-key-v1";
constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kRevocationBytes = 1 + 32 + 32 + 8 + kSignatureBytes;

std::string describe_device(const PublicKey& device_key) {
    return "device " + DeviceId::from_public_key(device_key).to_string();
}

// What the user key signs: the domain prefix, then the fields as encoded.
std::string certificate_fields(const DeviceCertificate& c) {
    std::string out(1, static_cast<char>(kFormatVersion));
    append_bytes(out, c.device_key);
    append_bytes(out, c.user_key);
    append_be(out, static_cast<std::uint64_t>(c.issued_ns), 8);
    append_be(out, c.device_name.size(), 1);
    append_text(out, c.device_name);
    return out;
}

std::string revocation_fields(const Revocation& r) {
    std::string out(1, static_cast<char>(kFormatVersion));
    append_bytes(out, r.device_key);
    append_bytes(out, r.user_key);
    append_be(out, static_cast<std::uint64_t>(r.revoked_ns), 8);
    return out;
}

Signature sign_with_domain(const KeyPair& key, std::string_view domain, const std::string& fields) {
    const std::string message = std::string(domain) + fields;
    return key.sign(as_bytes(message));
}

// What verify() checks of a certificate and of a revocation alike: that
// `signer` is the expected user key, then that `signature` is its signature
// of the domain prefix and the fields.
Result<void> verify_signed(const PublicKey& signer, const PublicKey& expected_user_key,
                           std::string_view domain, const std::string& fields,
                           const Signature& signature, const std::string& what) {
    if (sodium_memcmp(signer.data(), expected_user_key.data(), signer.size()) != 0) {
        return fail(Errc::permission_denied,
                    what +
                        " is signed by another user's key, not this user's: it belongs to "
                        "someone else's devices");
    }
    crypto_detail::ensure_sodium();
    const std::string message = std::string(domain) + fields;
    if (crypto_sign_verify_detached(signature.data(),
                                    reinterpret_cast<const unsigned char*>(message.data()),
                                    message.size(), signer.data()) != 0) {
        return fail(Errc::permission_denied,
                    what + " has an invalid signature: it was altered or forged; do not trust it");
    }
    return {};
}

// The encoding of a signed value: its fields, then the signature.
std::string with_signature(std::string fields, const Signature& signature) {
    append_bytes(fields, signature);
    return fields;
}

tl::unexpected<Error> corrupt(const std::string& what, const std::string& problem) {
    return fail(Errc::corrupt, what + " is malformed: " + problem);
}

// Reads the version byte both encodings start with: corrupt unless it is
// the one this ferry reads.
Result<void> read_format_version(ByteReader& in, const std::string& what) {
    std::uint64_t version = 0;
    if (!in.read_be(1, version)) return corrupt(what, "it is empty");
    if (version != kFormatVersion) {
        return corrupt(what, "unknown format version " + std::to_string(version) +
                                 " (this ferry reads version 1; update ferry)");
    }
    return {};
}

}  // namespace

Result<void> check_device_name(std::string_view name) {
    if (name.size() > DeviceCertificate::kMaxNameBytes) {
        return fail(Errc::invalid_argument,
                    "device name is " + std::to_string(name.size()) + " bytes long; at most " +
                        std::to_string(DeviceCertificate::kMaxNameBytes) + " are allowed");
    }
    for (std::size_t pos = 0; pos < name.size();) {
        const Utf8Char c = utf8_decode(name, pos);
        if (c.length == 0) {
            return fail(Errc::invalid_argument,
                        "device name is not valid UTF-8 (at byte " + std::to_string(pos) + ")");
        }
        if (c.code_point < 0x20 || (c.code_point >= 0x7f && c.code_point < 0xa0)) {
            return fail(Errc::invalid_argument,
                        "device name contains a control character (at byte " + std::to_string(pos) +
                            "); use printable characters only");
        }
        pos += c.length;
    }
    return {};
}

DeviceCertificate DeviceCertificate::issue(const KeyPair& user, const PublicKey& device_key,
                                           std::string device_name, std::int64_t issued_ns) {
    if (auto ok = check_device_name(device_name); !ok) {
        throw std::invalid_argument("DeviceCertificate::issue: " + ok.error().message);
    }
    DeviceCertificate c;
    c.device_key = device_key;
    std::copy(user.public_key().begin(), user.public_key().end(), c.user_key.begin());
    c.device_name = std::move(device_name);
    c.issued_ns = issued_ns;
    c.signature = sign_with_domain(user, kCertificateDomain, certificate_fields(c));
    return c;
}

Result<void> DeviceCertificate::verify(const PublicKey& expected_user_key) const {
    return verify_signed(user_key, expected_user_key, kCertificateDomain,
                         certificate_fields(*this), signature,
                         "the certificate of " + describe_device(device_key));
}

std::string DeviceCertificate::encode() const {
    return with_signature(certificate_fields(*this), signature);
}

Result<DeviceCertificate> DeviceCertificate::decode(std::span<const std::uint8_t> bytes) {
    const std::string what = "device certificate";
    ByteReader in(bytes);
    if (auto ok = read_format_version(in, what); !ok) return tl::unexpected(ok.error());
    DeviceCertificate c;
    std::uint64_t issued = 0;
    std::uint64_t name_size = 0;
    std::span<const std::uint8_t> name;
    if (!in.read(c.device_key) || !in.read(c.user_key) || !in.read_be(8, issued) ||
        !in.read_be(1, name_size) || !in.take(name_size, name) || !in.read(c.signature)) {
        return corrupt(what, "truncated at " + std::to_string(bytes.size()) + " bytes");
    }
    if (!in.at_end()) {
        return corrupt(what, std::to_string(in.remaining()) + " unexpected bytes after the end");
    }
    c.issued_ns = static_cast<std::int64_t>(issued);
    c.device_name.assign(name.begin(), name.end());
    if (auto ok = check_device_name(c.device_name); !ok) return corrupt(what, ok.error().message);
    return c;
}

Revocation Revocation::issue(const KeyPair& user, const PublicKey& device_key,
                             std::int64_t revoked_ns) {
    Revocation r;
    r.device_key = device_key;
    std::copy(user.public_key().begin(), user.public_key().end(), r.user_key.begin());
    r.revoked_ns = revoked_ns;
    r.signature = sign_with_domain(user, kRevocationDomain, revocation_fields(r));
    return r;
}

Result<void> Revocation::verify(const PublicKey& expected_user_key) const {
    return verify_signed(user_key, expected_user_key, kRevocationDomain, revocation_fields(*this),
                         signature, "the revocation of " + describe_device(device_key));
}

std::string Revocation::encode() const {
    return with_signature(revocation_fields(*this), signature);
}

Result<Revocation> Revocation::decode(std::span<const std::uint8_t> bytes) {
    const std::string what = "revocation";
    ByteReader in(bytes);
    if (auto ok = read_format_version(in, what); !ok) return tl::unexpected(ok.error());
    if (bytes.size() != kRevocationBytes) {
        return corrupt(what, std::to_string(bytes.size()) + " bytes, expected " +
                                 std::to_string(kRevocationBytes));
    }
    Revocation r;
    std::uint64_t revoked = 0;
    in.read(r.device_key);
    in.read(r.user_key);
    in.read_be(8, revoked);
    in.read(r.signature);
    r.revoked_ns = static_cast<std::int64_t>(revoked);
    return r;
}

std::array<std::uint8_t, 32> derive_folder_key(const KeyPair& user, std::string_view folder_id) {
    crypto_detail::ensure_sodium();
    std::array<std::uint8_t, 32> key{};
    const auto seed = user.seed();
    crypto_generichash_state state;
    crypto_generichash_init(&state, seed.data(), seed.size(), key.size());
    crypto_generichash_update(&state, as_bytes(kFolderKeyDomain).data(), kFolderKeyDomain.size());
    crypto_generichash_update(&state, as_bytes(folder_id).data(), folder_id.size());
    crypto_generichash_final(&state, key.data(), key.size());
    sodium_memzero(&state, sizeof state);
    return key;
}

}  // namespace ferry
