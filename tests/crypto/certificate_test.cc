#include "crypto/certificate.hh"

#include <stdexcept>

#include <catch2/catch.hpp>

#include "crypto_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// proto/security.md's vectors, computed independently (Python: cryptography's
// Ed25519, hashlib.blake2b) from the user seed 00..1f and the device seed 20..3f.
constexpr std::int64_t kIssuedNs = 1764000000000000000;
constexpr std::int64_t kRevokedNs = 1764086400000000000;
constexpr const char* kGoldenCertificate =
    "0129acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd703a107bff3ce10be1d70dd18e7"
    "4bc09967e4d6309ba50d5f1ddc8664125531b8187afca767ca0000066c6170746f70063953268ce00250ce53e6ad"
    "467660a84c16c6dd269bdd5db59df942e659fa67e37f0a0eb90a1defc1f8d5a058ef42caae414ce283516c5f1172"
    "3f51e1ad300d";
constexpr const char* kGoldenRevocation =
    "0129acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd703a107bff3ce10be1d70dd18e7"
    "4bc09967e4d6309ba50d5f1ddc8664125531b8187b4b3bf9190000b63150d654453daeb349f763139e13a83e5070"
    "cea546b7348c1cd6695539890517eabf6aa02dce00263ac4f3bc705e5b412e01e5e98197e05a48995ca85b0e0a";

}  // namespace

TEST_CASE("a certificate from fixed keys has the golden bytes and verifies", "[certificate]") {
    const KeyPair user = key_from(0x00);
    const KeyPair device = key_from(0x20);
    const auto cert = DeviceCertificate::issue(user, public_of(device), "laptop", kIssuedNs);
    CHECK(hex(cert.encode()) == kGoldenCertificate);
    CHECK(cert.encode().size() == 138 + 6);
    CHECK(cert.verify(public_of(user)));
    CHECK(cert.device_id() == device.device_id());

    const auto decoded = DeviceCertificate::decode(unhex(kGoldenCertificate));
    REQUIRE(decoded);
    CHECK(*decoded == cert);
    CHECK(decoded->device_name == "laptop");
    CHECK(decoded->issued_ns == kIssuedNs);
}

TEST_CASE("a certificate round-trips with any name up to the limit", "[certificate]") {
    const KeyPair user = KeyPair::generate();
    const KeyPair device = KeyPair::generate();
    for (const std::string& name : {std::string(), std::string("Ærøskøbing's phone 📱"),
                                    std::string(DeviceCertificate::kMaxNameBytes, 'x')}) {
        const auto cert = DeviceCertificate::issue(user, public_of(device), name, -5);
        const std::string bytes = cert.encode();
        const auto decoded = DeviceCertificate::decode(bytes_of(bytes));
        REQUIRE(decoded);
        CHECK(*decoded == cert);
        CHECK(decoded->verify(public_of(user)));
    }
}

TEST_CASE("a certificate signed by another user's key is refused", "[certificate]") {
    const KeyPair user = KeyPair::generate();
    const KeyPair other_user = KeyPair::generate();
    const KeyPair device = KeyPair::generate();
    const auto cert = DeviceCertificate::issue(other_user, public_of(device), "x", 1);
    const auto result = cert.verify(public_of(user));
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::permission_denied);

    // Claiming this user's key without its signature does not help either.
    auto forged = cert;
    forged.user_key = public_of(user);
    REQUIRE_FALSE(forged.verify(public_of(user)));
    CHECK(forged.verify(public_of(user)).error().code == Errc::permission_denied);
}

TEST_CASE("every flipped bit of a certificate is caught by decode or verify", "[certificate]") {
    const KeyPair user = key_from(0x00);
    const std::vector<std::uint8_t> good = unhex(kGoldenCertificate);
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            auto bad = good;
            bad[i] ^= static_cast<std::uint8_t>(1u << bit);
            const auto decoded = DeviceCertificate::decode(bad);
            if (decoded) {
                INFO("byte " << i << " bit " << bit);
                CHECK_FALSE(decoded->verify(public_of(user)));
            }
        }
    }
}

TEST_CASE("truncated or extended certificates do not decode", "[certificate]") {
    const std::vector<std::uint8_t> good = unhex(kGoldenCertificate);
    for (std::size_t n = 0; n < good.size(); ++n) {
        const auto decoded = DeviceCertificate::decode(std::span(good).first(n));
        REQUIRE_FALSE(decoded);
        CHECK(decoded.error().code == Errc::corrupt);
    }
    auto longer = good;
    longer.push_back(0);
    CHECK_FALSE(DeviceCertificate::decode(longer));
    auto newer = good;
    newer[0] = 2;
    const auto result = DeviceCertificate::decode(newer);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.find("version 2") != std::string::npos);
}

TEST_CASE("device names must be short, printable UTF-8", "[certificate]") {
    CHECK(check_device_name("kitchen pc"));
    CHECK(check_device_name("Zoë's Mac"));
    CHECK_FALSE(check_device_name(std::string(256, 'a')));
    CHECK_FALSE(check_device_name("bad\xff"));
    CHECK_FALSE(check_device_name("tab\there"));
    CHECK_FALSE(check_device_name("escape\x1b[31m"));
    CHECK_FALSE(check_device_name("c1 \xc2\x9b control"));
    const KeyPair user = KeyPair::generate();
    CHECK_THROWS_AS(DeviceCertificate::issue(user, {}, "a\nb", 0), std::invalid_argument);

    // A certificate carrying such a name (signed or not) does not decode.
    auto bytes = unhex(kGoldenCertificate);
    bytes[74] = '\n';  // first byte of "laptop"
    const auto decoded = DeviceCertificate::decode(bytes);
    REQUIRE_FALSE(decoded);
    CHECK(decoded.error().code == Errc::corrupt);
}

TEST_CASE("a revocation from fixed keys has the golden bytes and verifies", "[revocation]") {
    const KeyPair user = key_from(0x00);
    const KeyPair device = key_from(0x20);
    const auto revocation = Revocation::issue(user, public_of(device), kRevokedNs);
    CHECK(hex(revocation.encode()) == kGoldenRevocation);
    CHECK(revocation.verify(public_of(user)));
    const auto decoded = Revocation::decode(unhex(kGoldenRevocation));
    REQUIRE(decoded);
    CHECK(*decoded == revocation);
    CHECK_FALSE(revocation.verify(public_of(KeyPair::generate())));
}

TEST_CASE("a revocation is caught when altered or cut", "[revocation]") {
    const KeyPair user = key_from(0x00);
    const std::vector<std::uint8_t> good = unhex(kGoldenRevocation);
    for (std::size_t i = 0; i < good.size(); ++i) {
        auto bad = good;
        bad[i] ^= 0x40;
        const auto decoded = Revocation::decode(bad);
        if (decoded) {
            INFO("byte " << i);
            CHECK_FALSE(decoded->verify(public_of(user)));
        }
    }
    for (std::size_t n = 0; n < good.size(); ++n) {
        CHECK_FALSE(Revocation::decode(std::span(good).first(n)));
    }
    auto longer = good;
    longer.push_back(0);
    CHECK_FALSE(Revocation::decode(longer));
}

TEST_CASE("a certificate's signature does not pass as a revocation's", "[revocation]") {
    // Same signer, same device key: only the domain prefix tells them apart.
    const KeyPair user = KeyPair::generate();
    const KeyPair device = KeyPair::generate();
    const auto cert = DeviceCertificate::issue(user, public_of(device), "", 7);
    Revocation forged;
    forged.device_key = cert.device_key;
    forged.user_key = cert.user_key;
    forged.revoked_ns = 7;
    forged.signature = cert.signature;
    CHECK_FALSE(forged.verify(public_of(user)));
}

TEST_CASE("folder keys are the same on every device and differ per folder and user",
          "[folder_key]") {
    const KeyPair user = key_from(0x00);
    // hashlib.blake2b(b"ferry-folder-key-v1" + b"photos", key=seed, digest_size=32)
    CHECK(hex(derive_folder_key(user, "photos")) ==
          "a302ae353606c9038be4fa76bc5080cd69836ab264231a0980eccddb14f2a427");
    CHECK(derive_folder_key(key_from(0x00), "photos") == derive_folder_key(user, "photos"));
    CHECK(derive_folder_key(user, "photo") != derive_folder_key(user, "photos"));
    CHECK(derive_folder_key(key_from(0x01), "photos") != derive_folder_key(user, "photos"));
}
