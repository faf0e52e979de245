#include "cli/devices_view.hh"

#include "cli/format.hh"
#include "crypto/device_id.hh"

namespace ferry::cli {

nlohmann::json device_json(const DeviceRecord& device, bool online) {
    return {
        {"id", DeviceId::from_public_key(device.key).to_string()},
        {"name", device.name},
        {"online", online},
        {"last_seen", device.last_seen_ns == 0 ? nlohmann::json(nullptr)
                                               : nlohmann::json(iso_time_ns(device.last_seen_ns))},
        {"last_seen_ns", device.last_seen_ns},
        {"addresses", device.addresses},
        {"bytes_in", device.bytes_in},
        {"bytes_out", device.bytes_out},
    };
}

Outcome<DeviceRecord> find_device(const std::vector<DeviceRecord>& devices,
                                  const std::string& text) {
    auto id = DeviceId::parse(text);
    if (!id) {
        return failed("invalid device id '" + text + "'", id.error(),
                      "copy the id from `ferry devices`");
    }
    for (const DeviceRecord& device : devices) {
        if (DeviceId::from_public_key(device.key) == *id) return device;
    }
    return failed("unknown device " + text, "this device does not know it",
                  "`ferry devices` lists the known devices");
}

}  // namespace ferry::cli
