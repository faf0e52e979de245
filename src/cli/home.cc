#include "cli/home.hh"

#include <cstdlib>
#include <filesystem>

#include <pwd.h>
#include <unistd.h>

#include "cli/commands.hh"
#include "crypto/key_file.hh"

namespace ferry::cli {
namespace {

std::string env(const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? value : "";
}

}  // namespace

std::string user_home() {
    std::string home = env("HOME");
    if (home.empty()) {
        if (const passwd* pw = ::getpwuid(::getuid()); pw != nullptr && pw->pw_dir != nullptr) {
            home = pw->pw_dir;
        }
    }
    return home;
}

std::string user_config_dir() {
    const std::string xdg = env("XDG_CONFIG_HOME");
    if (!xdg.empty() && xdg.front() == '/') return xdg;  // the XDG spec ignores relative values
    const std::string base = user_home();
    return base.empty() ? base : base + "/.config";
}

std::string standard_home() {
    const std::string base = user_home();
    if (base.empty()) return base;
#ifdef __APPLE__
    return base + "/Library/Application Support/ferry";
#else
    return base + "/.config/ferry";
#endif
}

Outcome<HomePaths> ferry_home() {
    std::string home = env("FERRY_HOME");
    if (home.empty()) {
#ifdef __APPLE__
        home = standard_home();
#else
        if (const std::string config = user_config_dir(); !config.empty()) home = config + "/ferry";
#endif
    }
    if (home.empty()) {
        return failed("cannot find ferry's folder", "neither FERRY_HOME nor HOME is set",
                      "set FERRY_HOME to the folder where ferry keeps its identity and index");
    }
    std::error_code ec;
    std::string absolute = std::filesystem::absolute(home, ec).lexically_normal().string();
    if (ec) return failed("cannot use FERRY_HOME " + home, ec.message());
    while (absolute.size() > 1 && absolute.back() == '/') absolute.pop_back();
    return HomePaths{absolute};
}

Outcome<KeyPair> load_identity(const HomePaths& paths) {
    auto key = load_key(paths.device_key(), KeyRole::device);
    if (key) return std::move(*key);
    if (key.error().code == Errc::not_found) {
        return failed("not initialised", "no device identity in " + paths.home,
                      "run `ferry init` (or set FERRY_HOME to an initialised folder)",
                      kExitNotInitialised);
    }
    return failed("cannot load this device's identity", key.error());
}

Outcome<Device> open_device() {
    auto paths = ferry_home();
    if (!paths) return tl::unexpected(paths.error());
    auto key = load_identity(*paths);
    if (!key) return tl::unexpected(key.error());
    auto store = Store::open(paths->index());
    if (!store) return failed("cannot open the index " + paths->index(), store.error());
    const DeviceId id = key->device_id();
    return Device{std::move(*paths), std::move(*key), id, std::move(*store)};
}

Outcome<std::string> device_name(Store& store) {
    auto name = store.get_setting(kDeviceNameSetting);
    if (!name) return failed("cannot read the device name", name.error());
    return name->value_or("ferry-device");
}

}  // namespace ferry::cli
