#include "cli/service_files.hh"

#include <span>

#include "core/chunk_hash.hh"
#include "core/utf8.hh"

namespace ferry::cli {
namespace {

// Why `path` cannot go into a unit file or a plist; empty when it can.
std::string path_problem(const std::string& path) {
    if (path.empty() || path.front() != '/') return "it is not an absolute path";
    for (std::size_t pos = 0; pos < path.size();) {
        const Utf8Char c = utf8_decode(path, pos);
        if (c.length == 0) return "it is not valid UTF-8";
        if (c.code_point < 0x20 || c.code_point == 0x7f) return "it contains a control character";
        pos += c.length;
    }
    return {};
}

Outcome<void> check_path(const char* role, const std::string& path) {
    if (const std::string problem = path_problem(path); !problem.empty()) {
        return failed(
            "cannot write a service definition for the " + std::string(role) + " '" + path + "'",
            problem, "use a path of printable UTF-8 characters");
    }
    return {};
}

// '%' starts a specifier in every unit-file setting that ferry writes.
std::string escape_specifiers(const std::string& text) {
    std::string out;
    for (char c : text) {
        out += c;
        if (c == '%') out += '%';
    }
    return out;
}

// A quoted value of a setting that systemd unquotes (Environment=): '\' and
// '"' escaped, specifiers escaped; '$' means nothing there.
std::string systemd_quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
        if (c == '%') out += '%';
    }
    return out + "\"";
}

// A <string> element of the plist on its own line, `depth` tabs in.
std::string plist_string(int depth, const std::string& value) {
    return std::string(static_cast<std::size_t>(depth), '\t') + "<string>" + xml_escape(value) +
           "</string>\n";
}

bool plain_command_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           std::string_view("/._+:@,-").find(c) != std::string_view::npos;
}

}  // namespace

Outcome<ServiceSpec> service_spec(std::string binary, std::optional<std::string> home,
                                  std::optional<std::string> log_file) {
    if (auto ok = check_path("binary", binary); !ok) return tl::unexpected(ok.error());
    if (home) {
        if (auto ok = check_path("FERRY_HOME", *home); !ok) return tl::unexpected(ok.error());
    }
    if (log_file) {
        if (auto ok = check_path("log file", *log_file); !ok) return tl::unexpected(ok.error());
    }
    return ServiceSpec{std::move(binary), std::move(home), std::move(log_file)};
}

std::string service_name(const ServiceSpec& spec) {
    if (!spec.home) return "ferry";
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(spec.home->data());
    const ChunkHash hash = hash_chunk(std::span(bytes, spec.home->size()));
    return "ferry-" + hash.hex().substr(0, 12);
}

std::string systemd_command_word(const std::string& word) {
    bool plain = !word.empty();
    for (char c : word) plain = plain && plain_command_char(c);
    if (plain) return word;
    std::string out = "\"";
    for (char c : word) {
        if (c == '\\' || c == '"') out += '\\';
        out += c;
        if (c == '%' || c == '$') out += c;
    }
    return out + "\"";
}

std::string systemd_unit_text(const ServiceSpec& spec) {
    std::string text =
        "# ferry's daemon (`ferry run`) as a systemd user service: see ferry(1),\n"
        "# `ferry service install`. It logs to stderr, which the journal keeps.\n"
        "[Unit]\n"
        "Description=ferry file sync daemon";
    if (spec.home) text += " for \"" + escape_specifiers(*spec.home) + "\"";
    text += "\nDocumentation=man:ferry(1)\n\n[Service]\nType=exec\n";
    text += "ExecStart=" + systemd_command_word(spec.binary) + " run\n";
    if (spec.home) text += "Environment=" + systemd_quoted("FERRY_HOME=" + *spec.home) + "\n";
    text +=
        // SIGHUP makes the daemon read its configuration again.
        "ExecReload=kill -HUP $MAINPID\n"
        // Usage errors (2) and a FERRY_HOME without identity (3) do not
        // heal by themselves: no restart for them.
        "Restart=on-failure\n"
        "RestartSec=10\n"
        "RestartPreventExitStatus=2 3\n"
        // The daemon stops within 5 s of SIGTERM.
        "KillSignal=SIGTERM\n"
        "TimeoutStopSec=10\n"
        "UMask=0077\n"
        // Hardening that needs no privileges and no user namespaces (which
        // the Protect*/Private* settings need in a user service), so the
        // service starts wherever a user manager runs.
        "NoNewPrivileges=yes\n"
        "LockPersonality=yes\n"
        "MemoryDenyWriteExecute=yes\n"
        "RestrictRealtime=yes\n"
        "RestrictSUIDSGID=yes\n"
        "RestrictNamespaces=yes\n"
        "SystemCallArchitectures=native\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n";
    return text;
}

std::string xml_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            default: out += c;
        }
    }
    return out;
}

std::string launchd_label(const ServiceSpec& spec) {
    return "org.ferry." + service_name(spec);
}

std::string launchd_plist_text(const ServiceSpec& spec) {
    std::string text =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
        "\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
        "<!-- ferry's daemon (`ferry run`) as a launchd agent: see ferry(1),\n"
        "     `ferry service install`. -->\n"
        "<plist version=\"1.0\">\n"
        "<dict>\n"
        "\t<key>Label</key>\n";
    text += plist_string(1, launchd_label(spec));
    text += "\t<key>ProgramArguments</key>\n\t<array>\n";
    text += plist_string(2, spec.binary);
    text += plist_string(2, "run");
    text += "\t</array>\n";
    if (spec.home) {
        text += "\t<key>EnvironmentVariables</key>\n\t<dict>\n\t\t<key>FERRY_HOME</key>\n";
        text += plist_string(2, *spec.home);
        text += "\t</dict>\n";
    }
    text +=
        "\t<key>RunAtLoad</key>\n"
        "\t<true/>\n"
        // Restarted when it exits with a failure, at most every 10 s.
        "\t<key>KeepAlive</key>\n"
        "\t<dict>\n"
        "\t\t<key>SuccessfulExit</key>\n"
        "\t\t<false/>\n"
        "\t</dict>\n"
        "\t<key>ThrottleInterval</key>\n"
        "\t<integer>10</integer>\n"
        // SIGTERM, then SIGKILL after 10 s; the daemon stops within 5 s.
        "\t<key>ExitTimeOut</key>\n"
        "\t<integer>10</integer>\n"
        "\t<key>Umask</key>\n"
        "\t<integer>63</integer>\n";  // 0077
    if (spec.log_file) {
        text += "\t<key>StandardErrorPath</key>\n";
        text += plist_string(1, *spec.log_file);
    }
    text += "</dict>\n</plist>\n";
    return text;
}

}  // namespace ferry::cli
