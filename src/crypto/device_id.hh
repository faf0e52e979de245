// Device ids: the name by which a user's devices know each other.
//
// A device id is the 32-byte BLAKE2b-256 hash of a domain-separation prefix
// ("ferry device id v1") followed by the device's Ed25519 public key. It is
// shown as 52 base32 characters (RFC 4648 alphabet, no padding) cut into 4
// parts of 13, each followed by a Luhn mod 32 check character, and written in
// 8 groups of 7 separated by '-', e.g. `MFZWI3D-BONSGYC-...` (56 characters +
// 7 dashes). The check characters catch every single mistyped character and
// say which part it is in. The short id (ShortId, version vectors) is the
// first 8 bytes of the hash read as a big-endian integer.
//
// Pure values; thread-safe to copy. parse() fails with Errc::invalid_argument
// and a message naming the problem.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.hh"
#include "core/types.hh"

namespace ferry {

class DeviceId {
public:
    static constexpr std::size_t kBytes = 32;
    static constexpr std::size_t kTextLength = 63;  // 8 groups of 7 and 7 dashes

    // The all-zero id: no device has it (a placeholder before one is known).
    DeviceId() = default;

    // The id of the device whose Ed25519 public key is `public_key`.
    static DeviceId from_public_key(std::span<const std::uint8_t, 32> public_key);

    // The id whose 32 bytes are `bytes` (as sent in a join code).
    static DeviceId from_bytes(const std::array<std::uint8_t, kBytes>& bytes) { return DeviceId(bytes); }
    // Accepts the shown form, case-insensitive, with or without dashes.
    static Result<DeviceId> parse(std::string_view text);

    // The shown form: 8 groups of 7 upper-case characters joined by '-'.
    std::string to_string() const;

    ShortId short_id() const;

    const std::array<std::uint8_t, kBytes>& bytes() const { return m_bytes; }

    friend auto operator<=>(const DeviceId&, const DeviceId&) = default;

private:
    explicit DeviceId(const std::array<std::uint8_t, kBytes>& bytes) : m_bytes(bytes) {}
    std::array<std::uint8_t, kBytes> m_bytes{};
};

}  // namespace ferry
