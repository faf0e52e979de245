// `ferry invite` and `ferry join CODE`.
#include <chrono>
#include <cstdio>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include "cli/addresses.hh"
#include "cli/commands.hh"
#include "cli/control.hh"
#include "cli/format.hh"
#include "cli/parse_time.hh"

namespace ferry::cli {
namespace {

constexpr std::int64_t kMaxInviteLifetimeNs = 7LL * 86400 * 1'000'000'000;
// Bounds `ferry join` as a whole: dialing every address, the handshake and
// the exchange each have their own timeouts inside; this is the backstop.
constexpr std::chrono::seconds kJoinDeadline{90};

struct InviteOptions {
    std::vector<std::string> addresses;
    std::string expires = "1h";
};

Outcome<std::vector<std::string>> invite_addresses(const Device& device,
                                                   const InviteOptions& options) {
    if (!options.addresses.empty()) {
        for (const std::string& a : options.addresses) {
            if (auto ok = parse_host_port(a, "invalid --address"); !ok) {
                return tl::unexpected(ok.error());
            }
        }
        return options.addresses;
    }
    auto answer = ask_daemon(device.paths, {{"cmd", "addresses"}});
    if (!answer) return tl::unexpected(answer.error());
    if (!*answer) {
        return failed("cannot make an invite", "no ferry daemon runs, so this device has no address",
                      "start `ferry run` first, or give the address to dial with --address "
                      "HOST:PORT");
    }
    auto addresses = (**answer).value("addresses", std::vector<std::string>());
    if (addresses.empty()) {
        return failed("cannot make an invite", "the daemon reports no address",
                      "give the address to dial with --address HOST:PORT");
    }
    if (addresses.size() > InviteCode::kMaxAddresses) addresses.resize(InviteCode::kMaxAddresses);
    return addresses;
}

int run_invite(const InviteOptions& options) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto lifetime = parse_duration_ns(options.expires, kMaxInviteLifetimeNs);
    if (!lifetime) return report(lifetime.error());
    auto addresses = invite_addresses(*device, options);
    if (!addresses) return report(addresses.error());
    auto name = device_name(*device->store);
    if (!name) return report(name.error());
    const SystemClock clock;
    auto cluster = Cluster::open(device->paths.identity_files(), *device->store, clock, *name);
    if (!cluster) return report(Failure{"cannot load this device's identity", cluster.error().message});
    auto code = (*cluster)->make_invite(*addresses, *lifetime);
    if (!code) return report(Failure{"cannot make an invite", code.error().message});
    std::printf("One-time join code for %s, valid until %s (UTC).\n", name->c_str(),
                iso_time_ns(code->expires_ns).substr(0, 19).c_str());
    std::printf("On the new device run `ferry init`, then `ferry join CODE`; this device's\n"
                "daemon must be running (and reachable at %s) for it to join.\n",
                addresses->front().c_str());
    std::printf("%s\n", code->encode().c_str());
    return kExitOk;
}

// Runs Cluster::join on a private io_context, bounded by kJoinDeadline.
Result<Cluster::JoinResult> join_cluster(const Device& device, const std::string& name,
                                         const InviteCode& code) {
    // Cluster::join is a coroutine holding references to its arguments: they
    // must outlive io.run(), not just the co_spawn call.
    asio::io_context io;
    const SystemClock clock;
    const IdentityFiles files = device.paths.identity_files();
    std::optional<Result<Cluster::JoinResult>> result;
    asio::steady_timer deadline(io, kJoinDeadline);
    deadline.async_wait([&](std::error_code ec) {
        if (!ec) io.stop();
    });
    asio::co_spawn(io,
                   Cluster::join(files, *device.store, clock, name, code),
                   [&](std::exception_ptr bug, Result<Cluster::JoinResult> joined) {
                       result = bug ? Result<Cluster::JoinResult>(
                                          fail(Errc::io, "internal error while joining"))
                                    : std::move(joined);
                       deadline.cancel();
                   });
    io.run();
    if (!result) {
        return fail(Errc::io, "no answer within " + std::to_string(kJoinDeadline.count()) + " s");
    }
    return std::move(*result);
}

int run_join(const std::string& text) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto code = InviteCode::decode(text);
    if (!code) {
        return report(Failure{"invalid join code", code.error().message,
                              "copy the whole code, the last line `ferry invite` printed"});
    }
    const std::string retry = "ask for a new code: run `ferry invite` on a device that is "
                              "already set up";
    const SystemClock clock;
    if (code->expires_ns <= clock.now_ns()) {
        return report(Failure{"cannot join", "the join code expired at " +
                                                 iso_time_ns(code->expires_ns).substr(0, 19) +
                                                 " (UTC)",
                              retry});
    }
    if (auto daemon = ask_daemon(device->paths, {{"cmd", "addresses"}}); daemon && *daemon) {
        return report(Failure{"cannot join", "a ferry daemon runs for " + device->paths.home,
                              "stop it first; joining changes this device's certificate"});
    }
    auto known = device->store->devices();
    if (!known) return report(Failure{"cannot read the known devices", known.error().message});
    if (!known->empty()) {
        return report(Failure{"cannot join", "this device already belongs to a set of devices",
                              "join from a freshly initialised device (a new FERRY_HOME)"});
    }
    auto name = device_name(*device->store);
    if (!name) return report(name.error());

    auto joined = join_cluster(*device, *name, *code);
    if (!joined) {
        const Error& e = joined.error();
        std::string addresses;
        for (const auto& a : code->addresses) addresses += (addresses.empty() ? "" : ", ") + a;
        switch (e.code) {
            case Errc::changed:
                return report(Failure{"cannot join", "the code was used already or has expired (" +
                                                         e.message + ")",
                                      retry});
            case Errc::permission_denied:
                return report(Failure{"cannot join", e.message,
                                      "the device at " + addresses +
                                          " is not the one that made the code; " + retry});
            case Errc::io:
                return report(Failure{"cannot reach the inviting device at " + addresses, e.message,
                                      "check that `ferry run` runs there and that this machine "
                                      "can reach that address"});
            default:
                return report(Failure{"cannot join", e.message, retry});
        }
    }
    std::printf("Joined %s's devices as %s (%s).\n", joined->inviter_name.c_str(), name->c_str(),
                device->id.to_string().c_str());
    if (joined->folders.empty()) {
        std::printf("No folders yet. Start the daemon with `ferry run`.\n");
    } else {
        std::printf("Folders of these devices:");
        for (const auto& f : joined->folders) std::printf(" %s", f.c_str());
        std::printf("\nAdd each one you want here with `ferry folder add PATH --id ID`, then "
                    "start the daemon with `ferry run`.\n");
    }
    return kExitOk;
}

}  // namespace

void add_join_commands(CLI::App& app, int& status) {
    auto options = std::make_shared<InviteOptions>();
    CLI::App* invite = app.add_subcommand(
        "invite",
        "Print a one-time join code for a new device (the last line of the output is only the "
        "code). It holds this device's addresses, a one-time secret and an expiry. The addresses "
        "come from the running daemon unless --address is given.");
    invite->add_option("--address", options->addresses,
                       "HOST:PORT where the new device can reach this one (repeatable)");
    invite->add_option("--expires", options->expires,
                       "How long the code stays valid: 90s, 30m, 1h (default), 7d at most");
    invite->callback([options, &status] { status = run_invite(*options); });

    auto code = std::make_shared<std::string>();
    CLI::App* join = app.add_subcommand(
        "join",
        "Join the devices of the user who ran `ferry invite`: connects to the inviting device, "
        "proves the code and receives this device's certificate, the other devices and the "
        "folder ids. Run it on a freshly initialised device, with no daemon running. Exit status "
        "0 once joined; 1 for an expired, used or malformed code or an unreachable inviter.");
    join->add_option("CODE", *code, "The join code (ferry1-...)")->required();
    join->callback([code, &status] { status = run_join(*code); });
}

}  // namespace ferry::cli
