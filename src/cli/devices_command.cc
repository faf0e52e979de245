// `ferry devices [--json]` and `ferry devices remove ID`.
#include <cstdio>

#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/devices_view.hh"
#include "cli/format.hh"

namespace ferry::cli {
namespace {

// From the daemon when it runs (it knows who is online and the bytes of the
// current connections); otherwise from the index, everyone offline.
Outcome<nlohmann::json> known_devices(Device& device) {
    auto answer = ask_daemon(device.paths, {{"cmd", "devices"}});
    if (!answer) return tl::unexpected(answer.error());
    if (*answer) return (**answer)["devices"];
    auto records = device.store->devices();
    if (!records) return failed("cannot read the known devices", records.error());
    nlohmann::json out = nlohmann::json::array();
    for (const DeviceRecord& r : *records) out.push_back(device_json(r, false));
    return out;
}

void print_devices(const Device& device, const nlohmann::json& devices) {
    std::printf("this device  %s\n", device.id.to_string().c_str());
    if (devices.empty()) {
        std::printf("\nNo other devices yet: run `ferry invite` here and `ferry join CODE` on "
                    "the new device.\n");
        return;
    }
    for (const auto& d : devices) {
        const bool online = d["online"].get<bool>();
        std::printf("\n%s  %s\n", d["name"].get<std::string>().c_str(),
                    online ? "online" : "offline");
        std::printf("  id         %s\n", d["id"].get<std::string>().c_str());
        const std::string seen = d["last_seen"].is_null()
                                     ? std::string("never")
                                     : d["last_seen"].get<std::string>().substr(0, 19) + " UTC";
        if (!online) std::printf("  last seen  %s\n", seen.c_str());
        std::string addresses;
        for (const auto& a : d["addresses"]) {
            addresses += (addresses.empty() ? "" : ", ") + a.get<std::string>();
        }
        std::printf("  addresses  %s\n", addresses.empty() ? "none known" : addresses.c_str());
        std::printf("  traffic    %s in, %s out\n",
                    human_bytes(d["bytes_in"].get<std::uint64_t>()).c_str(),
                    human_bytes(d["bytes_out"].get<std::uint64_t>()).c_str());
    }
}

int run_devices(bool json) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto devices = known_devices(*device);
    if (!devices) return report(devices.error());
    if (json) {
        std::printf("%s\n", devices->dump(2).c_str());
    } else {
        print_devices(*device, *devices);
    }
    return kExitOk;
}

int run_remove(const std::string& id) {
    auto device = open_device();
    if (!device) return report(device.error());
    const std::string what = "cannot remove device " + id;
    // A running daemon revokes it itself, so it also drops the connection.
    auto answer = ask_daemon(device->paths, {{"cmd", "remove-device"}, {"device", id}});
    if (!answer) return report(answer.error());
    std::string name;
    if (*answer) {
        name = (**answer)["device"].value("name", std::string());
    } else {
        auto records = device->store->devices();
        if (!records) return report(Failure{what, records.error().message});
        auto found = find_device(*records, id);
        if (!found) return report(found.error());
        auto device_name_text = ferry::cli::device_name(*device->store);
        if (!device_name_text) return report(device_name_text.error());
        const SystemClock clock;
        auto cluster = Cluster::open(device->paths.identity_files(), *device->store, clock,
                                     *device_name_text);
        if (!cluster) return report(Failure{what, cluster.error().message});
        if (auto revoked = (*cluster)->revoke(found->key); !revoked) {
            return report(Failure{what, revoked.error().message});
        }
        name = found->name;
    }
    std::printf("Removed %s (%s). Your other devices refuse it once they hear of it (at their "
                "next connection with this one or with each other).\n",
                name.c_str(), id.c_str());
    return kExitOk;
}

}  // namespace

void add_devices_command(CLI::App& app, int& status) {
    auto json = std::make_shared<bool>(false);
    CLI::App* devices = app.add_subcommand(
        "devices",
        "List this user's other devices: id, name, online (from the running daemon) or last "
        "seen, addresses, and the bytes received from and sent to each.");
    devices->add_flag("--json", *json, "Print a JSON array of devices");
    auto remove_id = std::make_shared<std::string>();
    CLI::App* remove = devices->add_subcommand(
        "remove",
        "Remove a device: a revocation signed with the user key, which reaches every device; "
        "the removed device is refused from then on.");
    remove->add_option("ID", *remove_id, "The device's id, as `ferry devices` shows it")
        ->required();
    remove->callback([remove_id, &status] { status = run_remove(*remove_id); });
    devices->callback([json, remove, &status] {
        if (!remove->parsed()) status = run_devices(*json);
    });
}

}  // namespace ferry::cli
