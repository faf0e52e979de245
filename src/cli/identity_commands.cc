// `ferry init` and `ferry id`.
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/commands.hh"
#include "cli/config_edit.hh"
#include "cli/home_config.hh"
#include "crypto/key_file.hh"

namespace ferry::cli {
namespace {

std::string host_name() {
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "ferry-device";
    return buf.data();
}

Outcome<std::string> checked_name(std::string name) {
    if (name.empty() || name.size() > 64) {
        return failed("invalid device name '" + name + "'", "a name has 1 to 64 bytes",
                      "choose a shorter name with --name");
    }
    for (unsigned char c : name) {
        if (c < 0x20 || c == 0x7f) {
            return failed("invalid device name", "it contains a control character",
                          "choose a name of printable characters with --name");
        }
    }
    return name;
}

// Creates FERRY_HOME (parents with default modes, the folder itself 0700).
Outcome<void> make_home(const std::string& home) {
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(home).parent_path();
    std::filesystem::create_directories(parent, ec);
    if (ec) return failed("cannot create " + parent.string(), ec.message());
    if (::mkdir(home.c_str(), 0700) != 0 && errno != EEXIST) {
        return failed("cannot create " + home, std::strerror(errno),
                      "check the permissions of " + parent.string() + ", or set FERRY_HOME");
    }
    if (!std::filesystem::is_directory(home, ec)) {
        return failed("cannot use " + home, "it exists and is not a directory",
                      "move it away, or set FERRY_HOME to another folder");
    }
    return {};
}

int run_init(const std::string& requested_name) {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    auto name = checked_name(requested_name.empty() ? host_name() : requested_name);
    if (!name) return report(name.error());

    if (auto existing = load_identity(*paths); existing) {
        return report(
            Failure{"already initialised",
                    "this device already has an identity in " + paths->home + " (device id " +
                        existing->device_id().to_string() + ")",
                    "use it as it is; to start over, delete " + paths->home +
                        " (this device gets a new id) or set FERRY_HOME to another folder"});
    } else if (existing.error().status != kExitNotInitialised) {
        return report(existing.error());
    }
    if (auto made = make_home(paths->home); !made) return report(made.error());

    auto store = Store::open(paths->index());
    if (!store)
        return report(Failure{"cannot create the index " + paths->index(), store.error().message});
    if (auto set = (*store)->set_setting(kDeviceNameSetting, *name); !set) {
        return report(Failure{"cannot record the device name", set.error().message});
    }
    // A ferry.toml written before `ferry init` (by a person or a provisioning
    // tool) is kept; otherwise the defaults, commented, to show what can be set.
    std::error_code ec;
    if (!std::filesystem::exists(paths->config(), ec)) {
        if (auto saved = save_home_config(*paths, initial_config_text({})); !saved) {
            return report(saved.error());
        }
    }
    // The device key goes last: its presence is what "initialised" means, so
    // an interrupted init can simply be run again.
    const KeyPair user = KeyPair::generate();
    if (auto saved = save_key(paths->user_key(), user, KeyRole::user); !saved) {
        return report(Failure{"cannot save the user key", saved.error().message});
    }
    const KeyPair device = KeyPair::generate();
    if (auto saved = save_key(paths->device_key(), device, KeyRole::device); !saved) {
        return report(Failure{"cannot save the device key", saved.error().message});
    }
    // The certificate comes after the keys: Cluster::open issues it from
    // them, and a later `ferry run` would issue it too if this failed.
    const SystemClock clock;
    if (auto cluster = Cluster::open(paths->identity_files(), **store, clock, *name); !cluster) {
        return report(Failure{"cannot issue this device's certificate", cluster.error().message});
    }
    std::printf("Initialised ferry in %s\n", paths->home.c_str());
    std::printf("device id:   %s\n", device.device_id().to_string().c_str());
    std::printf("device name: %s\n", name->c_str());
    std::printf("Next: add a folder with `ferry folder add PATH`.\n");
    return kExitOk;
}

int run_id() {
    auto paths = ferry_home();
    if (!paths) return report(paths.error());
    auto key = load_identity(*paths);
    if (!key) return report(key.error());
    std::printf("%s\n", key->device_id().to_string().c_str());
    return kExitOk;
}

}  // namespace

void add_identity_commands(CLI::App& app, int& status) {
    auto name = std::make_shared<std::string>();
    CLI::App* init = app.add_subcommand(
        "init",
        "Create this device's identity (an Ed25519 key pair; the device id derives from it), "
        "the user key, the device's certificate, the index and ferry.toml (the configuration, "
        "every key commented out with its default; man ferry.toml) in FERRY_HOME. Refuses if "
        "FERRY_HOME is already initialised.");
    init->add_option("--name", *name,
                     "Device name shown to your other devices (default: the host name)");
    init->callback([name, &status] { status = run_init(*name); });

    CLI::App* id = app.add_subcommand("id", "Print this device's id (and nothing else) on stdout.");
    id->callback([&status] { status = run_id(); });
}

}  // namespace ferry::cli
