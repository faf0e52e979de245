// Relay URLs: how a user names a ferry-relay, `relay://HOST:PORT#RELAYID`.
// HOST is a name, an IPv4 address or a bracketed IPv6 address; PORT is
// 1-65535; RELAYID is the relay's device id (crypto/device_id.hh), which
// the device pins: a relay answering with another key is refused.
//
// Pure values. parse() fails with Errc::invalid_argument saying what is
// wrong with the text (which it quotes).
#pragma once

#include <string>
#include <string_view>

#include "core/error.hh"
#include "crypto/device_id.hh"

namespace ferry {

struct RelayUrl {
    static constexpr std::size_t kMaxLength = 512;

    std::string address;  // "host:port", as net/byte_stream.hh split_address() reads it
    DeviceId relay_id;

    static Result<RelayUrl> parse(std::string_view text);
    std::string to_string() const;
    friend bool operator==(const RelayUrl&, const RelayUrl&) = default;
};

}  // namespace ferry
