// init, user and status: the commands that work on the data folder without
// serving (relay_run.cc serves).
#include "relay/relay_commands.hh"

#include <csignal>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "core/byte_size.hh"
#include "net/relay_url.hh"
#include "relay/relay_identity.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

namespace {

int failed(const std::string& what, const std::string& why, const std::string& hint = {}) {
    std::fprintf(stderr, "ferry-relay: %s: %s\n", what.c_str(), why.c_str());
    if (!hint.empty()) std::fprintf(stderr, "hint: %s\n", hint.c_str());
    return 1;
}

std::string quota_text(std::uint64_t quota) {
    return quota == 0 ? std::string("unlimited") : human_bytes(quota);
}

// The running relay's status file (relay_run.cc writes it), or null when
// no relay serves the folder.
nlohmann::json running_status(const std::string& data_dir) {
    std::ifstream in(data_dir + "/status.json");
    if (!in) return nullptr;
    std::stringstream text;
    text << in.rdbuf();
    auto status = nlohmann::json::parse(text.str(), nullptr, false);
    if (status.is_discarded() || !status.contains("pid")) return nullptr;
    const long pid = status["pid"].get<long>();
    if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) != 0) return nullptr;
    return status;
}

}  // namespace

int run_init(const std::string& data_dir, const std::string& address) {
    auto identity = create_identity(data_dir);
    if (!identity) return failed("cannot initialise " + data_dir, identity.error().message);
    auto url = RelayUrl::parse("relay://" + address + "#" + identity->id().to_string());
    if (!url) return failed("relay created, but its URL", url.error().message,
                            "pass --address HOST:PORT as devices reach the relay");
    std::printf("%s\n", url->to_string().c_str());
    return 0;
}

int run_user_add(const std::string& data_dir, const std::string& name, const std::string& quota) {
    auto bytes = parse_byte_size(quota);
    if (!bytes) return failed("cannot add account " + name, bytes.error().message);
    auto admin = open_local_admin(data_dir);
    if (!admin) return failed("cannot open " + data_dir, admin.error().message);
    auto token = (*admin)->add_user(name, *bytes);
    if (!token) return failed("cannot add account " + name, token.error().message);
    std::printf("%s\n", token->c_str());
    std::fprintf(stderr,
                 "account %s added (quota %s); on one of its user's devices run:\n"
                 "  ferry relay add URL --token %s\n(the token works once)\n",
                 name.c_str(), quota_text(*bytes).c_str(), token->c_str());
    return 0;
}

int run_user_list(const std::string& data_dir, bool json) {
    auto admin = open_local_admin(data_dir);
    if (!admin) return failed("cannot open " + data_dir, admin.error().message);
    auto users = (*admin)->users();
    if (!users) return failed("cannot list accounts", users.error().message);
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const AccountInfo& u : *users) {
            out.push_back({{"name", u.name},
                           {"bound", u.bound},
                           {"used_bytes", u.used_bytes},
                           {"quota_bytes", u.quota_bytes},
                           {"devices", u.devices},
                           {"messages", u.messages},
                           {"created_ns", u.created_ns}});
        }
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (users->empty()) {
        std::printf("no accounts (add one with `ferry-relay user add NAME --data %s`)\n",
                    data_dir.c_str());
        return 0;
    }
    std::printf("%-24s %-10s %12s %12s %8s %9s\n", "ACCOUNT", "STATE", "USED", "QUOTA",
                "DEVICES", "MESSAGES");
    for (const AccountInfo& u : *users) {
        std::printf("%-24s %-10s %12s %12s %8llu %9llu\n", u.name.c_str(),
                    u.bound ? "in use" : "token open", human_bytes(u.used_bytes).c_str(),
                    quota_text(u.quota_bytes).c_str(),
                    static_cast<unsigned long long>(u.devices),
                    static_cast<unsigned long long>(u.messages));
    }
    return 0;
}

int run_user_remove(const std::string& data_dir, const std::string& name) {
    auto admin = open_local_admin(data_dir);
    if (!admin) return failed("cannot open " + data_dir, admin.error().message);
    if (auto removed = (*admin)->remove_user(name); !removed)
        return failed("cannot remove account " + name, removed.error().message);
    std::printf("account %s removed with its mailboxes and chunks\n", name.c_str());
    return 0;
}

int run_user_quota(const std::string& data_dir, const std::string& name,
                   const std::string& quota) {
    auto bytes = parse_byte_size(quota);
    if (!bytes) return failed("cannot set the quota of " + name, bytes.error().message);
    auto admin = open_local_admin(data_dir);
    if (!admin) return failed("cannot open " + data_dir, admin.error().message);
    if (auto set = (*admin)->set_quota(name, *bytes); !set)
        return failed("cannot set the quota of " + name, set.error().message);
    std::printf("account %s: quota %s\n", name.c_str(), quota_text(*bytes).c_str());
    return 0;
}

int run_status(const std::string& data_dir, bool json) {
    auto admin = open_local_admin(data_dir);
    if (!admin) return failed("cannot open " + data_dir, admin.error().message);
    auto totals = (*admin)->totals();
    if (!totals) return failed("cannot read the relay's totals", totals.error().message);
    const nlohmann::json running = running_status(data_dir);
    if (json) {
        nlohmann::json out = {{"running", !running.is_null()},
                              {"accounts", totals->accounts},
                              {"mailboxes", totals->mailboxes},
                              {"messages", totals->messages},
                              {"chunks", totals->chunks},
                              {"stored_bytes", totals->stored_bytes}};
        if (!running.is_null()) out["server"] = running;
        std::printf("%s\n", out.dump(2).c_str());
        return 0;
    }
    if (running.is_null()) {
        std::printf("relay: not running\n");
    } else {
        std::string listening;
        for (const auto& address : running["listening"]) listening += " " + address.get<std::string>();
        std::printf("relay: running (pid %ld), listening on%s\n", running["pid"].get<long>(),
                    listening.c_str());
        std::printf("connections: %llu (%llu devices authenticated, %llu forwarded pairs)\n",
                    running["connections"].get<unsigned long long>(),
                    running["authenticated"].get<unsigned long long>(),
                    running["forwarding"].get<unsigned long long>());
    }
    std::printf("accounts: %llu\nmailboxes: %llu holding %llu messages\n"
                "stored: %s in %llu chunks and messages' payloads\n",
                static_cast<unsigned long long>(totals->accounts),
                static_cast<unsigned long long>(totals->mailboxes),
                static_cast<unsigned long long>(totals->messages),
                human_bytes(totals->stored_bytes).c_str(),
                static_cast<unsigned long long>(totals->chunks));
    return 0;
}

}  // namespace ferry::relay
