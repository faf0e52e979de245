// The relays this user's devices use, as this device knows them: kept in
// the index's settings ("relays", JSON), gossiped in every ClusterConfig
// (wire::RelayEntry) so a relay added or removed on one device reaches all.
// Per URL the entry with the newest changed_ns wins (ties: a removal wins).
// A one-time account token given to `ferry relay add` is kept apart
// ("relay.token.URL") until the relay has accepted it, and never gossiped.
//
// Thread rule: as the Store's. Failures name the setting.
#pragma once

#include <string>
#include <vector>

#include "core/error.hh"
#include "net/messages.hh"
#include "store/store.hh"

namespace ferry::cli {

Result<std::vector<wire::RelayEntry>> load_relay_entries(Store& store);
Result<void> save_relay_entries(Store& store, const std::vector<wire::RelayEntry>& entries);

// Merges `incoming` into `current` (the newest per URL wins); true when
// anything changed. Entries with URLs RelayUrl cannot parse are skipped.
bool merge_relay_entries(std::vector<wire::RelayEntry>& current,
                         const std::vector<wire::RelayEntry>& incoming);

std::string relay_token_key(const std::string& url);

}  // namespace ferry::cli
