#include "net/relay_url.hh"

#include "net/byte_stream.hh"

namespace ferry {

namespace {

constexpr std::string_view kScheme = "relay://";

}  // namespace

Result<RelayUrl> RelayUrl::parse(std::string_view text) {
    const auto bad = [&](const std::string& why) {
        const std::string shown(text.substr(0, 80));
        return fail(Errc::invalid_argument,
                    "relay URL \"" + shown + (text.size() > 80 ? "..." : "") + "\": " + why +
                        " (expected relay://HOST:PORT#RELAYID)");
    };
    if (text.size() > kMaxLength) return bad("longer than 512 characters");
    if (!text.starts_with(kScheme)) return bad("it does not start with relay://");
    const std::string_view rest = text.substr(kScheme.size());
    const std::size_t hash = rest.find('#');
    if (hash == std::string_view::npos) return bad("no #RELAYID after the address");
    const std::string address(rest.substr(0, hash));
    auto parts = split_address(address);
    if (!parts) return bad(parts.error().message);
    if (parts->host.empty()) return bad("no host");
    if (parts->port == 0) return bad("port 0");
    auto id = DeviceId::parse(rest.substr(hash + 1));
    if (!id) return bad("relay id: " + id.error().message);
    return RelayUrl{address, *id};
}

std::string RelayUrl::to_string() const {
    return std::string(kScheme) + address + "#" + relay_id.to_string();
}

}  // namespace ferry
