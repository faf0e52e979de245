// The `ferry-relay` command: parses the command line (CLI11) and runs a
// subcommand (relay/relay_commands.hh). Exit statuses: 0 success, 1
// failure, 2 usage error.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "relay/relay_commands.hh"

int main(int argc, char** argv) {
    using namespace ferry::relay;
    CLI::App app{
        "ferry-relay forwards traffic between ferry devices that cannot reach each other and "
        "keeps end-to-end-encrypted chunks and messages for devices that are offline. It never "
        "sees a file name or a byte of content.",
        "ferry-relay"};
    app.footer("Every command takes --data DIR, the folder `run` serves.\n"
               "Exit status: 0 success, 1 failure, 2 usage error. See ferry-relay(8).");
    app.set_version_flag("--version", std::string("ferry-relay ") + FERRY_VERSION);
    app.require_subcommand(1);
    int status = 0;
    std::string data_dir;
    const auto data_option = [&](CLI::App* command) {
        command->add_option("--data", data_dir, "the relay's data folder")->required();
    };

    std::string address = std::string("127.0.0.1:") + kDefaultPort;
    auto* init = app.add_subcommand("init", "create the relay's identity and print its URL");
    data_option(init);
    init->add_option("--address", address,
                     "HOST:PORT devices reach the relay at, for the URL printed")
        ->capture_default_str();
    init->callback([&] { status = run_init(data_dir, address); });

    RunArguments run_args;
    auto* run = app.add_subcommand("run", "serve (foreground; systemd runs this)");
    data_option(run);
    run->add_option("--listen", run_args.listen, "address to listen on")->capture_default_str();
    run->add_option("--message-ttl-days", run_args.message_ttl_days,
                    "days an undelivered message is kept")
        ->capture_default_str()
        ->check(CLI::Range(1, 365));
    run->add_option("--max-disk-percent", run_args.max_disk_percent,
                    "refuse to store once the data folder's disk is this full")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    run->add_option("--account-rate", run_args.account_rate,
                    "bytes/s one account may store (0: unlimited)")
        ->capture_default_str();
    run->add_option("--connection-rate", run_args.connection_rate,
                    "bytes/s one connection may send to the relay (0: unlimited)")
        ->capture_default_str();
    run->callback([&] {
        run_args.data_dir = data_dir;
        status = run_relay(run_args);
    });

    auto* user = app.add_subcommand("user", "accounts: add, list, remove, quota");
    user->require_subcommand(1);
    std::string name;
    std::string quota = "unlimited";
    bool json = false;
    auto* add = user->add_subcommand("add", "add an account; prints its one-time token");
    data_option(add);
    add->add_option("NAME", name, "account name ([A-Za-z0-9._-], 1-64)")->required();
    add->add_option("--quota", quota, "bytes it may store: 10G, 500MiB, unlimited")
        ->capture_default_str();
    add->callback([&] { status = run_user_add(data_dir, name, quota); });
    auto* list = user->add_subcommand("list", "accounts with usage and quota");
    data_option(list);
    list->add_flag("--json", json, "print JSON");
    list->callback([&] { status = run_user_list(data_dir, json); });
    auto* remove = user->add_subcommand("remove", "remove an account with all it stores");
    data_option(remove);
    remove->add_option("NAME", name, "account name")->required();
    remove->callback([&] { status = run_user_remove(data_dir, name); });
    auto* set_quota = user->add_subcommand("quota", "change an account's quota");
    data_option(set_quota);
    set_quota->add_option("NAME", name, "account name")->required();
    set_quota->add_option("SIZE", quota, "10G, 500MiB, unlimited")->required();
    set_quota->callback([&] { status = run_user_quota(data_dir, name, quota); });

    auto* status_command = app.add_subcommand("status", "connections, mailboxes, stored bytes");
    data_option(status_command);
    status_command->add_flag("--json", json, "print JSON");
    status_command->callback([&] { status = run_status(data_dir, json); });

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& done) {
        return app.exit(done);
    } catch (const CLI::ParseError& error) {
        app.exit(error);
        return 2;
    } catch (const std::exception& bug) {
        std::fprintf(stderr, "ferry-relay: internal error: %s\nhint: please report this as a bug\n",
                     bug.what());
        return 1;
    }
    return status;
}
