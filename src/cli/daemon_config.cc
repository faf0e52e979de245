// The daemon's configuration: ferry.toml with the command line over it, and
// its reload on SIGHUP or the control request "reload" (cli/daemon.hh).
#include <limits>

#include "cli/daemon.hh"
#include "cli/home_config.hh"
#include "cli/log.hh"
#include "fs/watcher.hh"

namespace ferry::cli {
namespace {

constexpr std::int64_t kNsPerDay = 24LL * 3600 * 1'000'000'000;

}  // namespace

DaemonOptions daemon_options(const Config& config, const RunFlags& flags) {
    DaemonOptions options;
    if (!flags.listen) {
        options.listen = config.listen;
    } else if (*flags.listen == kNoListener) {
        options.listen.clear();
    } else {
        options.listen = {*flags.listen};
    }
    options.watch = flags.watch.value_or(config.watcher == "inotify");
    options.rescan_interval =
        flags.rescan_interval.value_or(std::chrono::seconds(config.rescan_interval_s));
    // 0 days: versions are never pruned (a cutoff before any time).
    options.version_retention_ns =
        config.version_retention_days == 0
            ? std::numeric_limits<std::int64_t>::max()
            : static_cast<std::int64_t>(config.version_retention_days) * kNsPerDay;
    // The parser accepted only the level names.
    options.log_level = flags.log_level.value_or(parse_log_level(config.log_level).value_or(LogLevel::info));
    options.max_send_rate_kib = flags.max_send_rate_kib.value_or(config.max_send_rate_kib);
    options.max_recv_rate_kib = flags.max_recv_rate_kib.value_or(config.max_recv_rate_kib);
    options.relay_forward_interval = std::chrono::seconds(config.relay_forward_s);
    options.relay_retry_interval = std::chrono::seconds(config.relay_retry_s);
    return options;
}

EngineOptions Daemon::engine_options() const {
    EngineOptions options;
    options.local_device = m_device.id;
    options.rescan_interval = m_options.rescan_interval;
    options.version_retention_ns = m_options.version_retention_ns;
    if (m_options.watch) {
        options.watch = [](const Folder& folder) -> Result<std::unique_ptr<Watcher>> {
            auto watcher = watch_with_inotify(folder.path);
            if (!watcher) log_warn("folder " + folder.id + ": " + watcher.error().message);
            return watcher;
        };
    }
    return options;
}

Outcome<std::vector<std::string>> Daemon::apply_config_file() {
    auto file = load_home_config(m_device.paths, *m_device.store);
    if (!file) return tl::unexpected(file.error());
    auto changes = reconcile_folders(*m_device.store, file->parsed.config.folders);
    if (!changes) return tl::unexpected(changes.error());
    for (const auto& change : *changes) log_info(change);

    DaemonOptions next = daemon_options(file->parsed.config, m_flags);
    std::vector<std::string> at_next_start;
    if (next.listen != m_options.listen) {
        at_next_start.emplace_back("listen");
        log_info("listen: the new addresses take effect when the daemon starts again");
        next.listen = m_options.listen;  // what it listens on until then
    }
    if (next.relay_forward_interval != m_options.relay_forward_interval) {
        at_next_start.emplace_back("relay_forward_seconds");
        log_info("relay_forward_seconds: takes effect when the daemon starts again");
        next.relay_forward_interval = m_options.relay_forward_interval;
    }
    const bool engine_changed = next.watch != m_options.watch ||
                                next.rescan_interval != m_options.rescan_interval ||
                                next.version_retention_ns != m_options.version_retention_ns;
    const bool rates_changed = next.max_send_rate_kib != m_options.max_send_rate_kib ||
                               next.max_recv_rate_kib != m_options.max_recv_rate_kib;
    m_options = std::move(next);
    set_log_level(m_options.log_level);
    if (rates_changed) set_rate_limits(m_options.max_send_rate_kib, m_options.max_recv_rate_kib);
    m_relays->set_retry_interval(m_options.relay_retry_interval);
    const Result<void> applied =
        engine_changed ? m_engine->reconfigure(engine_options()) : m_engine->reload_folders();
    if (!applied) return failed("cannot apply the folders of " + m_device.paths.config(), applied.error());
    log_info("configuration reloaded from " + m_device.paths.config());
    return at_next_start;
}

Outcome<std::vector<std::string>> Daemon::reload_config() {
    auto reloaded = apply_config_file();
    if (!reloaded) {
        log_error("configuration not reloaded, the running one stays: " + reloaded.error().what +
                 ": " + reloaded.error().why);
    }
    return reloaded;
}

void Daemon::wait_for_hangup() {
    m_hangup.async_wait([this](std::error_code ec, int) {
        if (ec || m_stopping) return;
        log_info("SIGHUP: rereading " + m_device.paths.config());
        (void)reload_config();  // a failure is logged
        wait_for_hangup();
    });
}

}  // namespace ferry::cli
