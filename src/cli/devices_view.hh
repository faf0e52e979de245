// How a known device is shown by `ferry devices --json` and the daemon's
// "devices" answer (the same object in both, cli/control.hh):
//   {"id": DEVICE-ID, "name", "online": bool, "last_seen": ISO 8601 or null,
//    "last_seen_ns", "addresses": ["host:port", ...], "bytes_in", "bytes_out"}
// Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/failure.hh"
#include "store/store.hh"

namespace ferry::cli {

nlohmann::json device_json(const DeviceRecord& device, bool online);

// The known device whose id is `text` (the full id, as `ferry devices`
// shows it). Failures say the id is malformed or unknown.
Outcome<DeviceRecord> find_device(const std::vector<DeviceRecord>& devices,
                                  const std::string& text);

}  // namespace ferry::cli
