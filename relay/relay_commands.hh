// The `ferry-relay` subcommands (man/ferry-relay.8). Each takes its parsed
// arguments, prints its result to stdout and failures to stderr as
// "ferry-relay: <what failed>: <why>", and returns the exit status: 0
// success, 1 failure (2, usage errors, is CLI11's in main.cc).
// Thread rule: main thread only.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::relay {

inline constexpr const char* kDefaultPort = "22100";

struct RunArguments {
    std::string data_dir;
    std::string listen = "0.0.0.0:22100";
    std::uint32_t message_ttl_days = 30;
    std::uint32_t max_disk_percent = 90;
    std::uint64_t account_rate = 0;     // bytes/s stored per account; 0: unlimited
    std::uint64_t connection_rate = 0;  // bytes/s one connection may send; 0: unlimited
};

int run_init(const std::string& data_dir, const std::string& address);
int run_relay(const RunArguments& arguments);
int run_user_add(const std::string& data_dir, const std::string& name, const std::string& quota);
int run_user_list(const std::string& data_dir, bool json);
int run_user_remove(const std::string& data_dir, const std::string& name);
int run_user_quota(const std::string& data_dir, const std::string& name, const std::string& quota);
int run_status(const std::string& data_dir, bool json);

}  // namespace ferry::relay
