#include "cli/relay_entries.hh"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "net/relay_url.hh"

namespace ferry::cli {

namespace {

constexpr const char* kSetting = "relays";
constexpr std::size_t kMaxRelays = 64;

bool newer(const wire::RelayEntry& a, const wire::RelayEntry& b) {
    if (a.changed_ns != b.changed_ns) return a.changed_ns > b.changed_ns;
    return a.removed && !b.removed;
}

}  // namespace

Result<std::vector<wire::RelayEntry>> load_relay_entries(Store& store) {
    auto text = store.get_setting(kSetting);
    if (!text) return tl::unexpected(text.error());
    std::vector<wire::RelayEntry> entries;
    if (!*text || (*text)->empty()) return entries;
    const auto json = nlohmann::json::parse(**text, nullptr, false);
    if (json.is_discarded() || !json.is_array())
        return fail(Errc::corrupt, "the index's relay list (setting \"relays\") is damaged");
    for (const auto& item : json) {
        if (!item.is_object() || !item.contains("url") || !item["url"].is_string()) continue;
        wire::RelayEntry entry;
        entry.url = item["url"].get<std::string>();
        entry.removed = item.value("removed", false);
        entry.changed_ns = item.value("changed_ns", std::int64_t{0});
        entries.push_back(std::move(entry));
    }
    return entries;
}

Result<void> save_relay_entries(Store& store, const std::vector<wire::RelayEntry>& entries) {
    nlohmann::json json = nlohmann::json::array();
    for (const wire::RelayEntry& entry : entries)
        json.push_back({{"url", entry.url}, {"removed", entry.removed}, {"changed_ns", entry.changed_ns}});
    return store.set_setting(kSetting, json.dump());
}

bool merge_relay_entries(std::vector<wire::RelayEntry>& current,
                         const std::vector<wire::RelayEntry>& incoming) {
    bool changed = false;
    for (const wire::RelayEntry& entry : incoming) {
        if (!RelayUrl::parse(entry.url)) continue;
        auto it = std::find_if(current.begin(), current.end(),
                               [&](const wire::RelayEntry& e) { return e.url == entry.url; });
        if (it == current.end()) {
            if (current.size() >= kMaxRelays) continue;
            current.push_back(entry);
            changed = true;
        } else if (newer(entry, *it)) {
            *it = entry;
            changed = true;
        }
    }
    return changed;
}

std::string relay_token_key(const std::string& url) { return "relay.token." + url; }

}  // namespace ferry::cli
