// InviteCode::decode on arbitrary text, and on arbitrary bytes given a valid
// checksum (so the fields behind it are reached too): an accepted code
// respects the limits and encodes to a text that decodes to the same code.
#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include <sodium.h>

#include "crypto/base32.hh"
#include "crypto/invite_code.hh"
#include "fuzz_target.hh"

namespace {

void check(std::string_view text) {
    auto code = ferry::InviteCode::decode(text);
    if (!code) return;
    FUZZ_CHECK(code->addresses.size() <= ferry::InviteCode::kMaxAddresses);
    for (const std::string& address : code->addresses) {
        FUZZ_CHECK(!address.empty() && address.size() <= ferry::InviteCode::kMaxAddressBytes);
    }
    const std::string again = code->encode();
    auto decoded = ferry::InviteCode::decode(again);
    FUZZ_CHECK(decoded);
    FUZZ_CHECK(decoded->encode() == again);
    FUZZ_CHECK(decoded->inviter == code->inviter && decoded->addresses == code->addresses &&
               decoded->invite_id == code->invite_id && decoded->secret == code->secret &&
               decoded->expires_ns == code->expires_ns);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    check(std::string_view(reinterpret_cast<const char*>(data), size));

    if (sodium_init() < 0) return 0;
    std::vector<std::uint8_t> body(data, data + size);
    std::array<std::uint8_t, 32> hash{};
    crypto_generichash(hash.data(), hash.size(), body.data(), body.size(), nullptr, 0);
    body.insert(body.end(), hash.begin(), hash.begin() + 4);
    std::string text = ferry::base32_encode(body);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](char c) { return static_cast<char>(std::tolower(c)); });
    check("ferry1-" + text);
    return 0;
}
