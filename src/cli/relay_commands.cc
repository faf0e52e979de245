// `ferry relay add URL --token TOKEN`, `ferry relay list [--json]`,
// `ferry relay remove URL`: the relays this user's devices use
// (cli/relay_entries.hh). The list is kept in the index, so these work with
// or without the daemon; a running daemon is told at once, connects, and
// passes the change on to the other devices.
#include <cstdio>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/format.hh"
#include "cli/home.hh"
#include "cli/relay_entries.hh"
#include "net/clock.hh"
#include "net/relay_url.hh"

namespace ferry::cli {
namespace {

// Stores the list and tells a running daemon; returns the failure, if any.
std::optional<Failure> change_relays(Device& device, const std::string& url, bool removed,
                                     const std::string& token, const std::string& what) {
    auto entries = load_relay_entries(*device.store);
    if (!entries) return Failure{what, entries.error().message};
    if (!merge_relay_entries(*entries, {wire::RelayEntry{url, removed, SystemClock{}.now_ns()}}))
        return Failure{what, "the relay list did not change"};
    if (!token.empty()) {
        if (auto saved = device.store->set_setting(relay_token_key(url), token); !saved)
            return Failure{what, saved.error().message};
    }
    if (auto saved = save_relay_entries(*device.store, *entries); !saved)
        return Failure{what, saved.error().message};
    auto told = ask_daemon(device.paths, {{"cmd", "relays-changed"}});
    if (!told) return told.error();
    return std::nullopt;
}

int run_add(const std::string& text, const std::string& token) {
    const std::string what = "cannot add relay " + text;
    auto url = RelayUrl::parse(text);
    if (!url) return report(Failure{what, url.error().message});
    auto device = open_device();
    if (!device) return report(device.error());
    if (auto failure = change_relays(*device, url->to_string(), false, token, what))
        return report(*failure);
    std::printf("relay %s added; this user's other devices learn of it when they connect%s\n",
                url->to_string().c_str(),
                token.empty() ? "" : " (the token binds the relay account to this user)");
    return kExitOk;
}

int run_remove(const std::string& text) {
    const std::string what = "cannot remove relay " + text;
    auto url = RelayUrl::parse(text);
    if (!url) return report(Failure{what, url.error().message});
    auto device = open_device();
    if (!device) return report(device.error());
    auto entries = load_relay_entries(*device->store);
    if (!entries) return report(Failure{what, entries.error().message});
    const bool known = std::any_of(entries->begin(), entries->end(), [&](const auto& e) {
        return e.url == url->to_string() && !e.removed;
    });
    if (!known) return report(Failure{what, "no such relay", "`ferry relay list` shows them"});
    if (auto failure = change_relays(*device, url->to_string(), true, "", what))
        return report(*failure);
    std::printf("relay %s removed\n", url->to_string().c_str());
    return kExitOk;
}

int run_list(bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto entries = load_relay_entries(*device->store);
    if (!entries) return report(Failure{"cannot list relays", entries.error().message});
    nlohmann::json live = nlohmann::json::array();
    if (auto answer = ask_daemon(device->paths, {{"cmd", "status"}}); answer && *answer)
        live = (**answer)["status"].value("relays", nlohmann::json::array());
    const auto live_of = [&](const std::string& url) {
        for (const auto& item : live)
            if (item.value("url", std::string()) == url) return item;
        return nlohmann::json(nullptr);
    };
    nlohmann::json out = nlohmann::json::array();
    for (const wire::RelayEntry& entry : *entries) {
        if (entry.removed) continue;
        nlohmann::json item = {{"url", entry.url}};
        const nlohmann::json state = live_of(entry.url);
        if (!state.is_null()) item.update(state);
        out.push_back(std::move(item));
    }
    if (json) {
        std::printf("%s\n", out.dump(2).c_str());
        return kExitOk;
    }
    if (out.empty()) {
        std::printf("no relays (add one with `ferry relay add URL --token TOKEN`)\n");
        return kExitOk;
    }
    for (const auto& item : out) {
        std::string state = "daemon not running";
        if (item.contains("connected")) {
            if (item["connected"].get<bool>()) {
                state = "connected";
                if (item.contains("rtt_ms"))
                    state += ", " + std::to_string(static_cast<int>(item["rtt_ms"].get<double>())) + " ms";
                const auto quota = item.value("quota_bytes", std::uint64_t{0});
                state += ", uses " + human_bytes(item.value("used_bytes", std::uint64_t{0})) +
                         " of " + (quota == 0 ? std::string("unlimited") : human_bytes(quota));
            } else {
                state = "not connected";
                const std::string error = item.value("error", std::string());
                if (!error.empty()) state += ": " + error;
            }
        }
        std::printf("%s  %s\n", item["url"].get<std::string>().c_str(), state.c_str());
    }
    return kExitOk;
}

}  // namespace

void add_relay_commands(CLI::App& app, int& status) {
    CLI::App* relay = app.add_subcommand(
        "relay",
        "Relays (ferry-relay) that keep end-to-end-encrypted chunks and messages for this "
        "user's devices that are offline, and join devices that cannot reach each other. One "
        "device adds a relay; every device learns it.");
    relay->require_subcommand(1);

    auto url = std::make_shared<std::string>();
    auto token = std::make_shared<std::string>();
    CLI::App* add = relay->add_subcommand(
        "add", "Use a relay: URL as `ferry-relay init` printed it (relay://HOST:PORT#RELAYID)");
    add->add_option("URL", *url, "relay://HOST:PORT#RELAYID")->required();
    add->add_option("--token", *token,
                    "the account's one-time token from `ferry-relay user add` (first device only)");
    add->callback([url, token, &status] { status = run_add(*url, *token); });

    auto json = std::make_shared<bool>(false);
    CLI::App* list = relay->add_subcommand("list", "The relays, and whether they are connected");
    list->add_flag("--json", *json, "print JSON");
    list->callback([json, &status] { status = run_list(*json); });

    auto remove_url = std::make_shared<std::string>();
    CLI::App* remove = relay->add_subcommand("remove", "Stop using a relay (on every device)");
    remove->add_option("URL", *remove_url, "relay://HOST:PORT#RELAYID")->required();
    remove->callback([remove_url, &status] { status = run_remove(*remove_url); });
}

}  // namespace ferry::cli
