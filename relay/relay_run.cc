// `ferry-relay run`: serves the data folder until SIGINT or SIGTERM.
#include <cstdio>
#include <thread>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/thread_pool.hpp>

#include "relay/relay_commands.hh"
#include "relay/relay_identity.hh"
#include "relay/relay_server.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

int run_relay(const RunArguments& arguments) {
    const std::string& data_dir = arguments.data_dir;
    auto identity = load_identity(data_dir);
    if (!identity) {
        std::fprintf(stderr, "ferry-relay: cannot serve %s: %s\n", data_dir.c_str(),
                     identity.error().message.c_str());
        return 1;
    }
    ServiceOptions service_options;
    service_options.default_ttl = std::chrono::hours(24) * arguments.message_ttl_days;
    service_options.max_ttl = std::max(service_options.max_ttl, service_options.default_ttl);
    service_options.max_disk_fraction = arguments.max_disk_percent / 100.0;
    auto service = open_local_service(data_dir, service_options);
    if (!service) {
        std::fprintf(stderr, "ferry-relay: cannot open the store in %s: %s\n", data_dir.c_str(),
                     service.error().message.c_str());
        return 1;
    }
    asio::io_context io;
    // Requests mostly wait for the disk (fsync): more threads than cores.
    asio::thread_pool workers(std::max(8u, 2 * std::thread::hardware_concurrency()));
    ServerOptions options;
    options.account_bytes_per_second = arguments.account_rate;
    options.connection_bytes_per_second = arguments.connection_rate;
    options.status_file = data_dir + "/status.json";
    RelayServer server(io, workers.get_executor(), *identity, **service, options);
    auto bound = server.listen(arguments.listen);
    if (!bound) {
        std::fprintf(stderr, "ferry-relay: %s\n", bound.error().message.c_str());
        return 1;
    }
    std::printf("ferry-relay %s listening on %s\n", identity->id().to_string().c_str(),
                bound->c_str());
    std::printf("url: relay://%s#%s\n", bound->c_str(), identity->id().to_string().c_str());
    std::fflush(stdout);
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](std::error_code error, int) {
        if (error) return;
        server.stop();
        io.stop();
    });
    io.run();
    workers.join();
    std::remove(options.status_file.c_str());
    return 0;
}

}  // namespace ferry::relay
