// FERRY_HOME: where this device keeps its identity and its index.
//
// The folder is $FERRY_HOME when set, otherwise the platform's config folder:
// $XDG_CONFIG_HOME/ferry or ~/.config/ferry on Linux and other Unix systems,
// ~/Library/Application Support/ferry on macOS. It holds:
//   device.key  this device's Ed25519 key pair (crypto/key_file.hh), mode 0600
//   user.key    the user's key pair, created on the first device
//   device.cert this device's certificate, signed by the user key
//               (crypto/certificate.hh); `ferry init` and `ferry join` write it
//   index.db    the index (store/store.hh)
//   ferry.toml  the configuration (cli/config.hh, cli/home_config.hh): the
//               folder list's truth, listen addresses, intervals, limits
//   daemon.lock held (flock) by the running `ferry run`: one daemon per home
//   control.sock the running daemon's control socket (cli/control.hh), 0600
//   ferry.log   the daemon's recent log lines (cli/log_file.hh), 0600, and
//   ferry.log.1 its rotated predecessor; `ferry log` shows them
// A home is initialised once device.key exists: `ferry init` writes it last.
//
// Thread rule: main thread only. Failures are Failures ready to report; a
// home that is not initialised gives exit status 3 and says to run `ferry init`.
#pragma once

#include <memory>
#include <string>

#include "cli/failure.hh"
#include "crypto/identity.hh"
#include "store/store.hh"
#include "sync/cluster.hh"

namespace ferry::cli {

struct HomePaths {
    std::string home;
    std::string device_key() const { return home + "/device.key"; }
    std::string user_key() const { return home + "/user.key"; }
    std::string certificate() const { return home + "/device.cert"; }
    std::string index() const { return home + "/index.db"; }
    std::string config() const { return home + "/ferry.toml"; }
    std::string daemon_lock() const { return home + "/daemon.lock"; }
    std::string control_socket() const { return home + "/control.sock"; }
    std::string log_file() const { return home + "/ferry.log"; }
    IdentityFiles identity_files() const { return {device_key(), user_key(), certificate()}; }
};

// The user's home folder: $HOME, else the password database's; empty if
// neither knows it.
std::string user_home();
// The user's config folder: $XDG_CONFIG_HOME when absolute, else
// ~/.config; empty if the home folder is unknown.
std::string user_config_dir();
// The folder FERRY_HOME defaults to for a process that has only HOME set
// (as a service manager starts the daemon): ~/.config/ferry, on macOS
// ~/Library/Application Support/ferry; empty if the home folder is unknown.
std::string standard_home();

// Resolves FERRY_HOME (an absolute path; a relative $FERRY_HOME is taken
// from the current directory).
Outcome<HomePaths> ferry_home();

// This device, opened for a command: its identity and its index.
struct Device {
    HomePaths paths;
    KeyPair key;
    DeviceId id;
    std::unique_ptr<Store> store;
};

// Loads the device identity only (no index).
Outcome<KeyPair> load_identity(const HomePaths& paths);

// Loads the identity and opens the index.
Outcome<Device> open_device();

// The device's name as `ferry init` recorded it (the host name if none).
Outcome<std::string> device_name(Store& store);

}  // namespace ferry::cli
