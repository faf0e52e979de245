// Network addresses as the command line and the daemon use them:
// "host:port", with IPv6 hosts in brackets ("[::1]:22400").
//
// Pure except advertised_addresses(), which asks the OS for the machine's
// interface addresses (getifaddrs). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cli/failure.hh"

namespace ferry::cli {

// Where `ferry run` listens unless --listen says otherwise: every interface,
// port 22400.
inline constexpr const char* kDefaultListenAddress = "0.0.0.0:22400";
// What `ferry run --listen` and `ferry config set listen` take for "no
// listener" (ferry.toml: listen = []).
inline constexpr const char* kNoListener = "none";

struct HostPort {
    std::string host;  // without brackets
    std::uint16_t port = 0;
};

// Checks "host:port": a non-empty host, a port 0-65535 (1-65535 unless
// `allow_port_zero`). `what` starts the failure message.
Outcome<HostPort> parse_host_port(const std::string& text, const std::string& what,
                                  bool allow_port_zero = false);
std::string format_host_port(const HostPort& address);

// The addresses other devices should dial to reach a listener bound to
// `bound`: the bound address itself, or for a wildcard host (0.0.0.0, ::)
// the address of every interface that is up (loopback last; IPv6 link-local
// addresses are left out, they need a scope).
std::vector<std::string> advertised_addresses(const std::string& bound);

}  // namespace ferry::cli
