#include "cli/addresses.hh"

#include <algorithm>
#include <charconv>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

namespace ferry::cli {

Outcome<HostPort> parse_host_port(const std::string& text, const std::string& what,
                                  bool allow_port_zero) {
    const auto colon = text.rfind(':');
    const std::string usage = "give it as HOST:PORT, e.g. 192.168.1.20:22400 or [::1]:22400";
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        return failed(what + " '" + text + "'", "it is not HOST:PORT", usage);
    }
    std::string host = text.substr(0, colon);
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') {
            return failed(what + " '" + text + "'", "an IPv6 host needs both brackets", usage);
        }
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        return failed(what + " '" + text + "'", "an IPv6 host must be in brackets", usage);
    }
    unsigned port = 0;
    const char* begin = text.data() + colon + 1;
    const char* end = text.data() + text.size();
    const auto [next, ec] = std::from_chars(begin, end, port);
    if (ec != std::errc() || next != end || port > 65535 || (port == 0 && !allow_port_zero)) {
        return failed(what + " '" + text + "'", "the port is not a number from 1 to 65535", usage);
    }
    return HostPort{std::move(host), static_cast<std::uint16_t>(port)};
}

std::string format_host_port(const HostPort& address) {
    const bool v6 = address.host.find(':') != std::string::npos;
    return (v6 ? "[" + address.host + "]" : address.host) + ":" + std::to_string(address.port);
}

std::vector<std::string> advertised_addresses(const std::string& bound) {
    auto parsed = parse_host_port(bound, "address", true);
    if (!parsed) return {bound};
    const bool any4 = parsed->host == "0.0.0.0";
    const bool any6 = parsed->host == "::";
    if (!any4 && !any6) return {bound};

    std::vector<std::string> found;
    std::vector<std::string> loopback;
    ifaddrs* list = nullptr;
    if (::getifaddrs(&list) != 0) return {format_host_port({"127.0.0.1", parsed->port})};
    for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
        if (i->ifa_addr == nullptr || (i->ifa_flags & IFF_UP) == 0) continue;
        char text[INET6_ADDRSTRLEN] = {};
        const int family = i->ifa_addr->sa_family;
        if (family == AF_INET) {
            const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
            ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        } else if (family == AF_INET6 && any6) {
            const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
            if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
            ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        } else {
            continue;
        }
        const std::string address = format_host_port({text, parsed->port});
        auto& into = (i->ifa_flags & IFF_LOOPBACK) != 0 ? loopback : found;
        if (std::find(into.begin(), into.end(), address) == into.end()) into.push_back(address);
    }
    ::freeifaddrs(list);
    found.insert(found.end(), loopback.begin(), loopback.end());
    return found;
}

}  // namespace ferry::cli
