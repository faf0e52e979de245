// `ferry config get|set|list|reload`: ferry.toml from the command line.
#include <cstdio>

#include "cli/commands.hh"
#include "cli/config_edit.hh"
#include "cli/control.hh"
#include "cli/home_config.hh"

namespace ferry::cli {
namespace {

// Tells what became of an edit or a reload.
void say_applied(const Committed& committed) {
    if (!committed.daemon_reloaded) {
        std::printf("It takes effect when `ferry run` starts.\n");
        return;
    }
    std::printf("The running daemon applied it.\n");
    for (const auto& key : committed.at_next_start) {
        std::printf("%s takes effect when the daemon starts again.\n", key.c_str());
    }
}

int run_get(const std::string& key) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    auto value = config_value(config->parsed.config, key);
    if (!value) return report(value.error());
    std::printf("%s\n", value->c_str());
    return kExitOk;
}

int run_list() {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    for (const auto& key : config_keys(config->parsed.config)) {
        std::printf("%s = %s\n", key.c_str(), config_toml_value(config->parsed.config, key).c_str());
    }
    return kExitOk;
}

int run_set(const std::string& key, const std::string& text) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    auto value = toml_value_from_text(key, text);
    if (!value) return report(value.error());
    auto edited = set_config_key(config->text, device->paths.config(), key, *value);
    if (!edited) return report(edited.error());
    std::printf("%s: %s = %s\n", device->paths.config().c_str(), key.c_str(), value->c_str());
    if (edited->text == config->text) {
        std::printf("It was already set so; nothing changed.\n");
        return kExitOk;
    }
    auto committed = commit_config(*device, edited->text, edited->parsed.config);
    if (!committed) return report(committed.error());
    say_applied(*committed);
    return kExitOk;
}

// Checks the file and has a running daemon apply it (as SIGHUP does, but
// with an answer).
int run_reload() {
    auto device = open_device();
    if (!device) return report(device.error());
    auto config = load_home_config(device->paths, *device->store);
    if (!config) return report(config.error());
    auto committed = commit_config(*device, config->text, config->parsed.config);
    if (!committed) return report(committed.error());
    std::printf("%s is valid.\n", device->paths.config().c_str());
    say_applied(*committed);
    return kExitOk;
}

}  // namespace

void add_config_commands(CLI::App& app, int& status) {
    CLI::App* config = app.add_subcommand(
        "config",
        "Read or change this device's configuration, FERRY_HOME/ferry.toml (man ferry.toml). "
        "Keys: listen, watcher, rescan_interval, version_retention, max_send_rate, "
        "max_recv_rate, log_level, relay_forward_seconds, relay_retry_seconds, folders.ID.path, "
        "folders.ID.mode.");
    config->require_subcommand(1);

    auto get_key = std::make_shared<std::string>();
    CLI::App* get = config->add_subcommand(
        "get", "Print a key's effective value (its default when the file does not set it); "
               "listen prints one address a line.");
    get->add_option("KEY", *get_key, "The key, e.g. rescan_interval or folders.photos.path")
        ->required();
    get->callback([get_key, &status] { status = run_get(*get_key); });

    CLI::App* list = config->add_subcommand(
        "list", "Print every key with its effective value, as KEY = VALUE lines in TOML.");
    list->callback([&status] { status = run_list(); });

    auto set_key = std::make_shared<std::string>();
    auto set_value = std::make_shared<std::string>();
    CLI::App* set = config->add_subcommand(
        "set",
        "Set a key in ferry.toml, checked as the daemon checks the file. Only that key's line "
        "changes (or is added); comments stay. The file is replaced atomically, and a running "
        "daemon applies it at once. listen takes a comma-separated list; setting "
        "folders.ID.path for a new ID adds a folder.");
    set->add_option("KEY", *set_key, "The key")->required();
    set->add_option("VALUE", *set_value, "The new value")->required();
    set->callback([set_key, set_value, &status] { status = run_set(*set_key, *set_value); });

    CLI::App* reload = config->add_subcommand(
        "reload",
        "Check ferry.toml after editing it by hand and have the running daemon apply it (as "
        "SIGHUP does, but with an answer). A bad file is refused with its line and changes "
        "nothing.");
    reload->callback([&status] { status = run_reload(); });
}

}  // namespace ferry::cli
