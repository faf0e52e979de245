// relay-load: many devices putting and getting chunks on one ferry-relay at
// once (run by bench/relay.py, `./dev bench relay`; usable by hand).
//
//   relay-load --url relay://127.0.0.1:PORT#ID --token T [--token T ...]
//              [--devices 500] [--seconds 20] [--chunk-bytes 65536] [--wave 16]
//
// One process, one io_context, one RelayClient per device. Each --token is
// the one-time token of its own account (`ferry-relay user add`); the
// devices are spread over the accounts round-robin, each account with one
// user key that certifies its devices. The relay allows
// ServerOptions::max_connections_per_account devices of an account at once,
// so enough tokens must be given (refused otherwise).
//
// Connecting: first one device per account (it binds the token to the user
// key; the others then find the account by that key), then the rest in
// waves of at most --wave handshakes at once (the relay closes more than
// max_unauthenticated_per_address unauthenticated connections from one
// address). A device that is not welcomed within 30 s fails the run.
//
// Load: every device loops for --seconds: ChunkPut of --chunk-bytes (the
// size a sealed chunk of that many bytes has: seal overhead + Padmé; random
// bytes, random relay id), then ChunkGet of one of its own earlier chunks
// (checked to come back whole). One request per device at a time, so
// --devices requests are in flight. A request that fails or is refused is
// counted as an error, not timed.
//
// Output: a table, then one line of JSON (the last line): per kind ops,
// errors, ops/s, MB/s, p50/p99/max latency in ms; connect time. Exit
// status 0, or 1 when the devices could not all connect or nothing
// succeeded (the reason on stderr), 2 for usage errors.
// Thread rule: single-threaded (everything on the io_context's thread).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <nlohmann/json.hpp>

#include "crypto/certificate.hh"
#include "crypto/identity.hh"
#include "crypto/padded_aead.hh"
#include "crypto/relay_seal.hh"
#include "crypto/sodium.hh"
#include "net/relay_client.hh"
#include "net/relay_url.hh"
#include "relay/relay_server.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete when it
// inlines them (as src/net/relay_client.cc says).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kConnectLimit = std::chrono::seconds(30);
constexpr std::size_t kRandomPool = 4u << 20;  // chunks are slices of this, at random offsets

struct Settings {
    std::string url;
    std::vector<std::string> tokens;
    std::size_t devices = 500;
    double seconds = 20;
    std::size_t chunk_bytes = 64u << 10;
    std::size_t wave = 16;
};

PublicKey key_of(const KeyPair& pair) {
    PublicKey key{};
    std::copy(pair.public_key().begin(), pair.public_key().end(), key.begin());
    return key;
}

// Latencies of one kind of request, and its failures.
struct Kind {
    std::vector<double> ms;
    std::uint64_t bytes = 0;
    std::uint64_t errors = 0;
    std::string first_error;

    void failed(const std::string& why) {
        if (errors++ == 0) first_error = why;
    }
    nlohmann::json summary(double seconds) const {
        std::vector<double> sorted = ms;
        std::sort(sorted.begin(), sorted.end());
        // The value at rank round(p% of (n - 1)), as bench/bench_util.py's percentile().
        const auto at = [&](double p) {
            if (sorted.empty()) return 0.0;
            return sorted[static_cast<std::size_t>(p / 100 * (sorted.size() - 1) + 0.5)];
        };
        return {{"ops", sorted.size()},
                {"errors", errors},
                {"first_error", first_error},
                {"ops_per_s", sorted.size() / seconds},
                {"mb_per_s", bytes / seconds / 1e6},
                {"p50_ms", at(50)},
                {"p99_ms", at(99)},
                {"max_ms", sorted.empty() ? 0.0 : sorted.back()}};
    }
};

struct Device {
    std::shared_ptr<RelayClient> client;
    std::vector<wire::RelayChunkId> stored;  // its chunks the relay acknowledged
    std::string failure;                     // the last connect failure, if any
    std::mt19937_64 random;
};

class Load {
public:
    Load(asio::io_context& io, Settings settings, RelayUrl url)
        : m_io(io), m_settings(std::move(settings)), m_url(std::move(url)) {
        std::random_device seed;
        std::mt19937_64 random(seed());
        m_pool.resize(kRandomPool);
        for (auto& byte : m_pool) byte = static_cast<char>(random());
        m_sealed_bytes =
            crypto_detail::kSealOverhead + crypto_detail::padme_size(m_settings.chunk_bytes);
        for (std::size_t a = 0; a < m_settings.tokens.size(); ++a)
            m_users.push_back(KeyPair::generate());
        for (std::size_t i = 0; i < m_settings.devices; ++i) {
            m_devices.push_back(std::make_unique<Device>());
            m_devices.back()->random.seed(seed());
        }
    }

    // Connects every device, runs the load, prints the results; the exit status.
    asio::awaitable<int> run() {
        const auto t0 = Clock::now();
        const std::size_t accounts = m_settings.tokens.size();
        std::vector<std::size_t> first, rest;
        for (std::size_t i = 0; i < m_devices.size(); ++i)
            (i < accounts ? first : rest).push_back(i);
        if (!co_await connect(first, 1) || !co_await connect(rest, m_settings.wave)) co_return 1;
        const double connect_s = seconds_since(t0);
        std::fprintf(stderr, "relay-load: %zu devices connected in %.2f s; load for %.0f s\n",
                     m_devices.size(), connect_s, m_settings.seconds);

        m_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(m_settings.seconds));
        const auto load_start = Clock::now();
        m_running = m_devices.size();
        asio::steady_timer all_done(m_io, Clock::time_point::max());
        m_all_done = &all_done;
        for (auto& device : m_devices) asio::co_spawn(m_io, work(*device), asio::detached);
        std::error_code ignored;  // cancelled by the last device to finish
        co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
        const double load_s = seconds_since(load_start);
        for (auto& device : m_devices) device->client->stop();
        co_return report(connect_s, load_s);
    }

private:
    static double seconds_since(Clock::time_point t) {
        return std::chrono::duration<double>(Clock::now() - t).count();
    }

    void start(std::size_t index) {
        Device& device = *m_devices[index];
        const std::size_t account = index % m_settings.tokens.size();
        KeyPair key = KeyPair::generate();
        auto certificate = DeviceCertificate::issue(
            m_users[account], key_of(key), "load-" + std::to_string(index),
            std::chrono::system_clock::now().time_since_epoch() / std::chrono::nanoseconds(1));
        RelayClientHooks hooks;
        hooks.on_disconnected = [&device](const std::string& why) { device.failure = why; };
        RelayClientOptions options;
        const std::string token = m_settings.tokens[account];
        options.hello = [token] { return wire::RelayHello{token, {}}; };
        device.client = std::make_shared<RelayClient>(m_io, key, std::move(certificate), m_url,
                                                      std::move(hooks), options);
        device.client->start();
    }

    // Starts the devices `which`, at most `wave` handshakes at a time, and
    // waits for each to be welcomed.
    asio::awaitable<bool> connect(const std::vector<std::size_t>& which, std::size_t wave) {
        asio::steady_timer timer(m_io);
        for (std::size_t from = 0; from < which.size(); from += wave) {
            const std::size_t to = std::min(which.size(), from + wave);
            for (std::size_t k = from; k < to; ++k) start(which[k]);
            const auto limit = Clock::now() + kConnectLimit;
            for (std::size_t k = from; k < to; ++k) {
                Device& device = *m_devices[which[k]];
                while (!device.client->status().connected) {
                    if (Clock::now() > limit) {
                        std::fprintf(
                            stderr, "relay-load: device %zu not welcomed by %s within %lld s: %s\n",
                            which[k], m_settings.url.c_str(),
                            static_cast<long long>(kConnectLimit.count()),
                            device.failure.empty() ? "no answer" : device.failure.c_str());
                        co_return false;
                    }
                    timer.expires_after(std::chrono::milliseconds(2));
                    co_await timer.async_wait(asio::use_awaitable);
                }
            }
        }
        co_return true;
    }

    std::string random_chunk(Device& device) {
        const std::size_t offset = device.random() % (m_pool.size() - m_sealed_bytes);
        return m_pool.substr(offset, m_sealed_bytes);
    }

    asio::awaitable<void> work(Device& device) {
        while (Clock::now() < m_end) {
            wire::SealedChunk chunk;
            for (auto& byte : chunk.chunk) byte = static_cast<std::uint8_t>(device.random());
            chunk.data = random_chunk(device);
            const auto id = chunk.chunk;
            wire::ChunkPut put{0, {std::move(chunk)}};
            const bool stored = co_await timed(device, wire::Message(std::move(put)), m_put);
            if (stored) device.stored.push_back(id);
            if (device.stored.empty()) continue;
            const wire::ChunkGet get{0, {device.stored[device.random() % device.stored.size()]}};
            co_await timed(device, wire::Message(get), m_get);
        }
        if (--m_running == 0) m_all_done->cancel();
    }

    // One request: timed into `kind` when the relay says ok (ChunkData with
    // the whole chunk for a get); whether it did.
    asio::awaitable<bool> timed(Device& device, wire::Message request, Kind& kind) {
        const auto t0 = Clock::now();
        auto answer = co_await device.client->request(std::move(request));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (!answer) {
            kind.failed(answer.error().message);
            co_return false;
        }
        if (const auto* reply = std::get_if<wire::RelayReply>(&*answer)) {
            if (reply->code != wire::RelayCode::ok) {
                kind.failed("relay code " + std::to_string(static_cast<int>(reply->code)) + ": " +
                            reply->message);
                co_return false;
            }
        } else if (const auto* data = std::get_if<wire::ChunkData>(&*answer)) {
            const std::size_t size = data->chunks.size() == 1 ? data->chunks[0].size() : 0;
            if (data->code != wire::RelayCode::ok || size != m_sealed_bytes) {
                kind.failed("ChunkData code " + std::to_string(static_cast<int>(data->code)) +
                            ", " + std::to_string(size) + " bytes");
                co_return false;
            }
        }
        kind.ms.push_back(ms);
        kind.bytes += m_sealed_bytes;
        co_return true;
    }

    int report(double connect_s, double load_s) const {
        const nlohmann::json put = m_put.summary(load_s), get = m_get.summary(load_s);
        std::printf("%zu devices (%zu accounts) on one relay, %zu-byte sealed chunks, %.1f s\n",
                    m_devices.size(), m_settings.tokens.size(), m_sealed_bytes, load_s);
        std::printf("  connected in %.2f s (waves of %zu handshakes)\n", connect_s,
                    m_settings.wave);
        std::printf("  %-10s %9s %7s %9s %8s %9s %9s %9s\n", "", "ops", "errors", "ops/s", "MB/s",
                    "p50 ms", "p99 ms", "max ms");
        for (const auto& [name, s] : {std::pair{"ChunkPut", &put}, std::pair{"ChunkGet", &get}}) {
            std::printf("  %-10s %9llu %7llu %9.1f %8.1f %9.1f %9.1f %9.1f\n", name,
                        (*s)["ops"].get<unsigned long long>(),
                        (*s)["errors"].get<unsigned long long>(), (*s)["ops_per_s"].get<double>(),
                        (*s)["mb_per_s"].get<double>(), (*s)["p50_ms"].get<double>(),
                        (*s)["p99_ms"].get<double>(), (*s)["max_ms"].get<double>());
            if ((*s)["errors"].get<std::uint64_t>() > 0)
                std::printf("    first error: %s\n",
                            (*s)["first_error"].get<std::string>().c_str());
        }
        const nlohmann::json out = {{"devices", m_devices.size()},
                                    {"accounts", m_settings.tokens.size()},
                                    {"sealed_chunk_bytes", m_sealed_bytes},
                                    {"connect_s", connect_s},
                                    {"load_s", load_s},
                                    {"put", put},
                                    {"get", get}};
        std::printf("%s\n", out.dump().c_str());
        if (m_put.ms.empty() || m_get.ms.empty()) {
            std::fprintf(stderr, "relay-load: no put or no get succeeded\n");
            return 1;
        }
        return 0;
    }

    asio::io_context& m_io;
    const Settings m_settings;
    const RelayUrl m_url;
    std::string m_pool;
    std::size_t m_sealed_bytes = 0;
    std::vector<KeyPair> m_users;  // one per account
    std::vector<std::unique_ptr<Device>> m_devices;
    Clock::time_point m_end;
    std::size_t m_running = 0;
    asio::steady_timer* m_all_done = nullptr;
    Kind m_put, m_get;
};

}  // namespace
}  // namespace ferry::bench

int main(int argc, char** argv) {
    using namespace ferry;
    bench::Settings settings;
    CLI::App app{"Many devices putting and getting chunks on one ferry-relay", "relay-load"};
    app.add_option("--url", settings.url, "relay://HOST:PORT#RELAYID")->required();
    app.add_option("--token", settings.tokens, "an account's one-time token (one per account)")
        ->required();
    app.add_option("--devices", settings.devices, "devices connected at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 20'000));
    app.add_option("--seconds", settings.seconds, "how long the load runs")
        ->capture_default_str()
        ->check(CLI::Range(1.0, 3600.0));
    app.add_option("--chunk-bytes", settings.chunk_bytes, "plaintext size of a chunk")
        ->capture_default_str()
        ->check(CLI::Range(std::size_t{1}, kMaxRelayChunk));
    app.add_option("--wave", settings.wave, "handshakes at once")
        ->capture_default_str()
        ->check(CLI::Range(1, 1'000));
    CLI11_PARSE(app, argc, argv);

    const std::size_t per_account = relay::ServerOptions{}.max_connections_per_account;
    if (settings.devices > settings.tokens.size() * per_account) {
        std::fprintf(stderr,
                     "relay-load: %zu devices need %zu accounts (the relay allows %zu connections "
                     "per account); %zu tokens given\n",
                     settings.devices, (settings.devices + per_account - 1) / per_account,
                     per_account, settings.tokens.size());
        return 2;
    }
    if (settings.tokens.size() > settings.devices) {
        std::fprintf(stderr, "relay-load: more tokens (%zu) than devices (%zu)\n",
                     settings.tokens.size(), settings.devices);
        return 2;
    }
    auto url = RelayUrl::parse(settings.url);
    if (!url) {
        std::fprintf(stderr, "relay-load: %s\n", url.error().message.c_str());
        return 2;
    }
    crypto_detail::ensure_sodium();
    asio::io_context io;
    bench::Load load(io, settings, *url);
    int status = 1;
    asio::co_spawn(io, load.run(), [&](std::exception_ptr error, int result) {
        if (error) std::rethrow_exception(error);
        status = result;
        io.stop();
    });
    io.run();
    return status;
}
