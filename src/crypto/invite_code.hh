// Join codes: what `ferry invite` prints and `ferry join CODE` reads.
//
// A code carries the inviting device's id (so the joiner can check it talks
// to that device), its addresses, a 16-byte invite id, a 32-byte one-time
// secret and an expiry time. Text form: "ferry1-" followed by base32 (RFC
// 4648, lower case, no padding) of a versioned binary form ending in a
// 4-byte BLAKE2b checksum, so a mistyped or truncated code is reported as
// such rather than as an unreachable device. proto/security.md gives the
// exact bytes.
//
// Pure values. decode() takes untrusted text: Errc::invalid_argument with a
// message saying what is wrong (prefix, characters, checksum, length, too
// many or too long addresses). Limits: kMaxAddresses, kMaxAddressBytes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "crypto/device_id.hh"
#include "crypto/handshake.hh"

namespace ferry {

struct InviteCode {
    static constexpr std::size_t kMaxAddresses = 16;
    static constexpr std::size_t kMaxAddressBytes = 255;  // "host:port", "[v6]:port"

    DeviceId inviter;
    std::vector<std::string> addresses;
    InviteId invite_id{};
    InviteSecret secret{};
    std::int64_t expires_ns = 0;

    std::string encode() const;
    static Result<InviteCode> decode(std::string_view text);
};

}  // namespace ferry
