// DeviceCertificate::decode and Revocation::decode on arbitrary bytes, and
// on valid encodings with bytes set by the input (so the checks behind the
// length and version are reached): an accepted value encodes back to exactly
// what was decoded (one encoding per value), and verifying never crashes.
#include <array>
#include <span>
#include <string>

#include "crypto/certificate.hh"
#include "fuzz_target.hh"

namespace {

void check(std::span<const std::uint8_t> bytes) {
    const std::string input(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (auto cert = ferry::DeviceCertificate::decode(bytes)) {
        FUZZ_CHECK(cert->encode() == input);
        FUZZ_CHECK(cert->device_name.size() <= ferry::DeviceCertificate::kMaxNameBytes);
        (void)cert->verify(cert->user_key);
    }
    if (auto revocation = ferry::Revocation::decode(bytes)) {
        FUZZ_CHECK(revocation->encode() == input);
        (void)revocation->verify(revocation->user_key);
    }
}

// `base` with the input read as (position, value) pairs written over it.
std::string overlay(std::string base, const std::uint8_t* data, std::size_t size) {
    for (std::size_t i = 0; i + 1 < size; i += 2) {
        base[data[i] % base.size()] = static_cast<char>(data[i + 1]);
    }
    return base;
}

std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const std::array<std::uint8_t, 32> seed{};
    static const ferry::KeyPair user = ferry::KeyPair::from_seed(seed);
    static const std::string certificate =
        ferry::DeviceCertificate::issue(user, {}, "fuzz", 1).encode();
    static const std::string revocation = ferry::Revocation::issue(user, {}, 1).encode();
    check({data, size});
    check(bytes_of(overlay(certificate, data, size)));
    check(bytes_of(overlay(revocation, data, size)));
    return 0;
}
