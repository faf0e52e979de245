// The daemon's answers to control requests (protocol: cli/control.hh).
#include <map>
#include <optional>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "cli/daemon.hh"
#include "cli/devices_view.hh"
#include "cli/log.hh"

namespace ferry::cli {
namespace {

// "No limit" for status-wait: a year, far from the clock's overflow.
constexpr std::chrono::milliseconds kNoLimit = std::chrono::hours(24 * 365);

nlohmann::json ok(nlohmann::json fields = nlohmann::json::object()) {
    fields["ok"] = true;
    return fields;
}

nlohmann::json problems_json(const std::vector<PathProblem>& problems) {
    nlohmann::json out = nlohmann::json::array();
    for (const PathProblem& p : problems) out.push_back({{"path", p.path}, {"message", p.message}});
    return out;
}

}  // namespace

asio::awaitable<nlohmann::json> Daemon::handle(const nlohmann::json& request) {
    const std::string cmd = request["cmd"].get<std::string>();
    log_debug("control request: " + cmd);
    if (m_stopping) co_return control_error("the daemon is stopping");
    if (cmd == "status") co_return ok({{"status", status_json()}});
    if (cmd == "status-wait") {
        const auto timeout_ms = request.value("timeout_ms", std::int64_t{0});
        if (timeout_ms < 0) co_return control_error("timeout_ms must not be negative");
        co_return co_await wait_in_sync(std::chrono::milliseconds(timeout_ms));
    }
    if (cmd == "addresses") co_return ok({{"addresses", m_own_addresses}});
    if (cmd == "relays-changed") {
        m_relays->reload();
        m_engine->cluster_changed();  // the other devices learn of it
        co_return ok({{"relays", m_relays->status_json()}});
    }
    if (cmd == "devices") co_return ok({{"devices", devices_json()}});
    if (cmd == "remove-device") co_return remove_device(request.value("device", std::string()));
    if (cmd == "scan") co_return co_await scan(request.value("folder", std::string()));
    if (cmd == "override" || cmd == "revert") co_return folder_action(request);
    if (cmd == "pause" || cmd == "resume")
        co_return set_paused(request.value("folder", std::string()), cmd == "pause");
    if (cmd == "reload") {
        auto reloaded = reload_config();
        if (!reloaded) {
            co_return control_error(reloaded.error().what + ": " + reloaded.error().why,
                                    reloaded.error().hint);
        }
        co_return ok({{"at_next_start", *reloaded}});
    }
    co_return control_error("unknown request '" + cmd + "'",
                            "is this ferry older than the one that sent it?");
}

asio::awaitable<nlohmann::json> Daemon::wait_in_sync(std::chrono::milliseconds timeout) {
    struct Wait {
        explicit Wait(asio::io_context& io) : timer(io) {}
        asio::steady_timer timer;
        bool in_sync = false;
    };
    auto wait = std::make_shared<Wait>(m_io);
    // The engine may call back after we gave up: the callback only touches
    // the shared Wait.
    m_engine->when_in_sync([wait] {
        wait->in_sync = true;
        wait->timer.cancel();
    });
    if (!wait->in_sync) {
        wait->timer.expires_after(timeout.count() == 0 ? kNoLimit : timeout);
        std::error_code ec;
        co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (m_stopping) co_return control_error("the daemon is stopping");
    co_return ok({{"in_sync", wait->in_sync}, {"status", status_json()}});
}

nlohmann::json Daemon::status_json() const {
    const EngineStatus status = m_engine->status();
    std::map<DeviceId, std::string> names;
    if (auto devices = m_device.store->devices(); devices) {
        for (const DeviceRecord& d : *devices) names[DeviceId::from_public_key(d.key)] = d.name;
    }
    std::map<std::string, std::string> paths;
    if (auto folders = m_device.store->folders(); folders) {
        for (const Folder& f : *folders) paths[f.id] = f.path;
    }
    nlohmann::json folders = nlohmann::json::array();
    for (const FolderStatus& f : status.folders) {
        nlohmann::json devices = nlohmann::json::array();
        for (const DeviceProgress& d : f.devices) {
            devices.push_back({{"id", d.device.to_string()},
                               {"name", names[d.device]},
                               {"connected", d.connected},
                               {"relayed", d.relayed},
                               {"completion", d.completion},
                               {"in_sync", d.in_sync}});
        }
        const auto or_null = [](const std::optional<double>& v) {
            return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
        };
        folders.push_back({{"id", f.id},
                           {"path", paths[f.id]},
                           {"mode", folder_mode_name(f.mode)},
                           {"state", f.state},
                           {"scan_completion", or_null(f.scan_completion)},
                           {"scan_entries", f.scan_entries},
                           {"need_files", f.need_files},
                           {"need_bytes", f.need_bytes},
                           {"receive_rate", f.receive_rate},
                           {"seconds_left", or_null(f.seconds_left)},
                           {"error", f.error},
                           {"needs_override", f.needs_override},
                           {"local_changes", f.local_changes},
                           {"problems", problems_json(f.problems)},
                           {"devices", std::move(devices)}});
    }
    nlohmann::json out = {{"device", {{"id", m_device.id.to_string()}, {"name", m_name}}},
                          {"in_sync", status.in_sync},
                          {"listen", m_listening},
                          {"addresses", m_own_addresses},
                          {"folders", std::move(folders)}};
    out.update(m_relays->status_json());
    return out;
}

nlohmann::json Daemon::devices_json() {
    note_activity();  // the totals include what moved since the last note
    auto devices = m_device.store->devices();
    if (!devices) return control_error("cannot read the devices: " + devices.error().message);
    nlohmann::json out = nlohmann::json::array();
    for (const DeviceRecord& device : *devices) {
        const bool online =
            std::any_of(m_sessions.begin(), m_sessions.end(), [&](const Session& s) {
                return s.configured && s.connection->is_open() &&
                       s.connection->peer().device_key == device.key;
            });
        out.push_back(device_json(device, online));
    }
    return out;
}

nlohmann::json Daemon::remove_device(const std::string& id) {
    auto devices = m_device.store->devices();
    if (!devices) return control_error("cannot read the devices: " + devices.error().message);
    auto device = find_device(*devices, id);
    if (!device) return control_error(device.error().what + ": " + device.error().why,
                                      device.error().hint);
    auto revoked = m_cluster->revoke(device->key);
    if (!revoked) return control_error("cannot remove " + id + ": " + revoked.error().message);
    m_peers->forget(device->key, "this device was removed from the cluster");
    m_relays->revoked(device->key);
    log_info("removed device " + device->name + " (" + id.substr(0, 7) +
             "); refusing it from now on");
    m_engine->cluster_changed();  // the revocation reaches the connected devices
    return ok({{"device", device_json(*device, false)}});
}

std::optional<nlohmann::json> Daemon::unknown_folder(const std::string& id) const {
    auto folder = m_device.store->folder(id);
    if (!folder) return control_error(folder.error().message);
    if (!*folder) {
        return control_error("there is no folder '" + id + "'",
                             "`ferry folder list` shows the folders");
    }
    return std::nullopt;
}

asio::awaitable<nlohmann::json> Daemon::scan(const std::string& id) {
    if (!id.empty()) {
        if (auto missing = unknown_folder(id)) co_return *missing;
    }
    struct Wait {
        explicit Wait(asio::io_context& io) : timer(io, kNoLimit) {}
        asio::steady_timer timer;
        std::optional<std::vector<FolderScan>> scans;
    };
    auto wait = std::make_shared<Wait>(m_io);
    // The engine calls back later (never from inside request_scan), once
    // scans started after this request have finished; meanwhile this
    // coroutine waits and the daemon goes on serving.
    m_engine->request_scan(id, [wait](std::vector<FolderScan> scans) {
        wait->scans = std::move(scans);
        wait->timer.cancel();
    });
    log_info("scan of " + (id.empty() ? std::string("every folder") : "folder " + id) +
             " requested");
    if (!wait->scans) {
        std::error_code ec;
        co_await wait->timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (m_stopping || !wait->scans) co_return control_error("the daemon is stopping");
    nlohmann::json folders = nlohmann::json::array();
    for (const FolderScan& scan : *wait->scans) {
        if (!scan.result) {
            folders.push_back({{"id", scan.folder_id}, {"error", scan.result.error().message}});
            continue;
        }
        const ScanResult& r = *scan.result;
        nlohmann::json issues = nlohmann::json::array();
        for (const ScanIssue& issue : r.issues)
            issues.push_back({{"path", issue.path}, {"message", issue.message}});
        folders.push_back({{"id", scan.folder_id},
                           {"files", r.files},
                           {"directories", r.directories},
                           {"symlinks", r.symlinks},
                           {"bytes", r.bytes},
                           {"changed", r.changed},
                           {"deleted", r.deleted},
                           {"bytes_hashed", r.bytes_hashed},
                           {"issues", std::move(issues)}});
    }
    co_return ok({{"folders", std::move(folders)}});
}

nlohmann::json Daemon::set_paused(const std::string& id, bool paused) {
    if (!id.empty()) {
        if (auto missing = unknown_folder(id)) return *missing;
    }
    nlohmann::json changed = nlohmann::json::array();
    for (const FolderStatus& folder : m_engine->status().folders) {
        if (!id.empty() && folder.id != id) continue;
        if (auto done = m_engine->set_paused(folder.id, paused); !done) {
            return control_error(std::string(paused ? "pausing" : "resuming") + " folder " +
                                 folder.id + " failed: " + done.error().message);
        }
        log_info(std::string(paused ? "paused" : "resumed") + " folder " + folder.id);
        changed.push_back(folder.id);
    }
    return ok({{"folders", std::move(changed)}});
}

nlohmann::json Daemon::folder_action(const nlohmann::json& request) {
    const std::string cmd = request["cmd"].get<std::string>();
    const std::string id = request.value("folder", std::string());
    if (auto missing = unknown_folder(id)) return *missing;
    Result<void> done =
        cmd == "override" ? m_engine->override_folder(id) : m_engine->revert_folder(id);
    if (!done) return control_error(cmd + " of folder " + id + " failed: " + done.error().message);
    log_info(cmd + " of folder " + id + " requested");
    return ok();
}

}  // namespace ferry::cli
