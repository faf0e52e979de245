// The texts of ferry's service definitions: the systemd user unit and the
// launchd agent property list that run `ferry run` in the background.
//
// `ferry service install` writes these texts; dist/ferry.service.in and
// dist/ferry.plist.in are the same texts as meson templates (@FERRY_BIN@ is
// the binary), installed with the package. tests/cli checks that the
// templates and these functions agree, so edit both together.
//
// One service per FERRY_HOME. The standard home (FERRY_HOME unset) has the
// service "ferry" (unit ferry.service, launchd label org.ferry.ferry); any
// other home has "ferry-" plus 12 hex digits of the BLAKE3 hash of its path,
// and its definition sets FERRY_HOME.
//
// Pure functions; thread-safe. service_spec() refuses paths that a unit file
// or a plist cannot carry (not absolute, not UTF-8, control characters); the
// text functions quote and escape the paths of a spec it returned.
#pragma once

#include <optional>
#include <string>

#include "cli/failure.hh"

namespace ferry::cli {

struct ServiceSpec {
    std::string binary;                   // absolute path of the ferry binary
    std::optional<std::string> home;      // FERRY_HOME for the daemon; nullopt: the standard one
    std::optional<std::string> log_file;  // launchd only: the daemon's stderr (else discarded)
};

// A checked spec. `home` is nullopt for the standard home.
Outcome<ServiceSpec> service_spec(std::string binary, std::optional<std::string> home,
                                  std::optional<std::string> log_file = std::nullopt);

// "ferry" or "ferry-<12 hex digits>" (see above).
std::string service_name(const ServiceSpec& spec);

// The systemd user unit (its file name: service_name() + ".service").
std::string systemd_unit_text(const ServiceSpec& spec);

// The launchd label ("org.ferry." + service_name()) and the agent's plist.
std::string launchd_label(const ServiceSpec& spec);
std::string launchd_plist_text(const ServiceSpec& spec);

// Escaping, exposed for tests. A word of a systemd command line
// (ExecStart=): quoted when it holds anything but [A-Za-z0-9/._+:@,-];
// inside quotes '\' and '"' are backslash-escaped; '%' is doubled (a
// specifier), '$' too (environment expansion).
std::string systemd_command_word(const std::string& word);
// XML character data and attribute values: & < > " ' as entities.
std::string xml_escape(const std::string& text);

}  // namespace ferry::cli
