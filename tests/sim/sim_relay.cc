// The simulation's relay (SimConfig::relay): a real ferry-relay service and
// server (relay/) on its own io_context, storing under a temporary folder,
// and on each device the daemon's own relay code (cli/daemon_relays.hh)
// reaching it over in-memory byte pipes, with the real handshake and
// encryption. All devices share one account, as one user's devices do.
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "cli/log.hh"
#include "cli/relay_entries.hh"
#include "crypto/key_file.hh"
#include "sim_impl.hh"

namespace ferry::sim {

using namespace std::chrono_literals;

namespace {

// The relay's wall clock: the devices' epoch without their skews.
constexpr std::int64_t kRelayEpochNs = 1'767'225'600LL * 1'000'000'000;

// A device's end of a relay connection: it refuses everything once that
// life of the device is over (a crash point: nothing the device does from
// there on may reach the relay).
class DeviceStream final : public ByteStream {
public:
    DeviceStream(std::unique_ptr<ByteStream> inner, std::function<bool()> alive)
        : m_inner(std::move(inner)), m_alive(std::move(alive)) {}

    asio::awaitable<Result<void>> read_exact(std::span<std::uint8_t> buffer) override {
        if (!m_alive()) co_return fail(Errc::io, "sim: the device crashed");
        co_return co_await m_inner->read_exact(buffer);
    }
    asio::awaitable<Result<void>> write_all(std::span<const std::uint8_t> data) override {
        if (!m_alive()) co_return fail(Errc::io, "sim: the device crashed");
        co_return co_await m_inner->write_all(data);
    }
    void close() override { m_inner->close(); }
    std::string peer_address() const override { return m_inner->peer_address(); }

private:
    std::unique_ptr<ByteStream> m_inner;
    std::function<bool()> m_alive;
};

asio::awaitable<Result<std::unique_ptr<ByteStream>>> ready(Result<std::unique_ptr<ByteStream>> stream) {
    co_return stream;
}

// A folder for the relay's data and the identity files: in memory where
// there is /dev/shm (the relay fsyncs every post), else the temp folder.
std::string make_home() {
    std::error_code ec;
    std::filesystem::path base = "/dev/shm";
    if (!std::filesystem::is_directory(base, ec) || ::access(base.c_str(), W_OK) != 0)
        base = std::filesystem::temp_directory_path();
    std::string pattern = (base / "ferry-sim-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
        throw std::runtime_error("sim: cannot make a folder under " + base.string());
    return pattern;
}

void require(const Result<void>& done, const std::string& what) {
    if (!done) throw std::runtime_error("sim: " + what + ": " + done.error().message);
}

}  // namespace

void SimCluster::Impl::setup_relay() {
    cli::set_log_level(cli::LogLevel::error);  // the daemon's relay code logs what it does
    home = make_home();
    relay = std::make_unique<SimRelay>();
    relay->data_dir = home + "/relay";
    auto identity = relay::create_identity(relay->data_dir);
    if (!identity) throw std::runtime_error("sim: relay: " + identity.error().message);
    relay->identity = std::make_unique<relay::RelayIdentity>(std::move(*identity));
    relay->url = "relay://127.0.0.1:1#" + relay->identity->id().to_string();
    auto admin = relay::open_local_admin(relay->data_dir);
    if (!admin) throw std::runtime_error("sim: relay: " + admin.error().message);
    auto token = (*admin)->add_user("sim", 0);
    if (!token) throw std::runtime_error("sim: relay: " + token.error().message);

    std::array<std::uint8_t, KeyPair::kSeedBytes> user_seed{};
    user_seed[0] = 0x75;
    const KeyPair user = KeyPair::from_seed(user_seed);
    std::vector<DeviceRecord> records;
    for (auto& device : devices) {
        const std::string dir = home + "/" + device->name;
        std::filesystem::create_directory(dir);
        device->identity = IdentityFiles{dir + "/device.key", dir + "/user.key", dir + "/device.cert"};
        require(save_key(device->identity.device_key, *device->keys, KeyRole::device), "device key");
        require(save_key(device->identity.user_key, user, KeyRole::user), "user key");
        auto cluster = Cluster::open(device->identity, *device->store, device->clock, device->name);
        if (!cluster) throw std::runtime_error("sim: cluster: " + cluster.error().message);
        DeviceRecord record;
        record.key = device->key;
        record.certificate = (*cluster)->certificate().encode();
        record.name = device->name;
        records.push_back(std::move(record));
    }
    for (auto& device : devices) {
        for (const DeviceRecord& record : records)
            if (record.key != device->key) require(device->store->put_device(record), "device");
        const wire::RelayEntry entry{relay->url, false, device->clock.now_ns()};
        require(cli::save_relay_entries(*device->store, {entry}), "relay list");
        require(device->store->set_setting(cli::relay_token_key(relay->url), *token), "token");
    }
    start_relay();
}

void SimCluster::Impl::start_relay() {
    relay->io = std::make_unique<asio::io_context>(1);
    relay::ServiceOptions options;
    options.now_ns = [] { return kRelayEpochNs + MonotonicClock::now().time_since_epoch().count(); };
    auto service = relay::open_local_service(relay->data_dir, options);
    if (!service) {
        violations.push_back({"restart", "relay: " + service.error().message});
        relay->io.reset();
        return;
    }
    relay->service = std::move(*service);
    relay->server = std::make_unique<relay::RelayServer>(*relay->io, relay->io->get_executor(),
                                                         *relay->identity, *relay->service);
    mix("relay start");
}

void SimCluster::Impl::stop_relay(std::chrono::milliseconds down) {
    if (!relay->server) return;
    mix("relay stop");
    relay->server->stop();
    relay->server.reset();
    relay->io.reset();  // what it had not done yet is gone
    relay->service.reset();
    relay->restart_at = time.now() + down;
}

Result<std::unique_ptr<ByteStream>> SimCluster::Impl::dial_relay(Device& device) {
    if (!relay->server) return fail(Errc::io, "sim: connection refused");
    mix(device.name + " dials the relay");
    auto [device_end, relay_end] =
        make_memory_pipe(device.io->get_executor(), relay->io->get_executor());
    relay->server->serve(std::move(relay_end), device.name + "#" + std::to_string(++relay->dials));
    return std::make_unique<DeviceStream>(
        std::move(device_end),
        [&device, life = device.life] { return device.up && !device.dead && device.life == life; });
}

void SimCluster::Impl::start_relays_of(Device& device) {
    auto cluster = Cluster::open(device.identity, *device.store, device.clock, device.name);
    if (!cluster) {
        violations.push_back({"restart", device.name + ": cluster: " + cluster.error().message});
        return;
    }
    device.cluster = std::move(*cluster);
    cli::DaemonRelaysHooks hooks;
    hooks.directly_connected = [this, &device](const PublicKey& key) {
        for (auto& other : devices) {
            if (other->key != key) continue;
            const Link& l = link(device.index, other->index);
            return l.a_end && l.a_end->is_open();
        }
        return false;
    };
    hooks.add_link = [&device](std::shared_ptr<RelayLink> link) {
        device.engine->add_connection(
            std::move(link), [] { return wire::ClusterConfig{}; },
            [](const wire::ClusterConfig&) {});
    };
    hooks.forwarded = [](std::unique_ptr<ByteStream> stream, const PublicKey&, bool) {
        stream->close();
    };
    cli::DaemonRelaysOptions options;
    options.forward = false;
    options.client.jitter_seed = config.seed * 31 + static_cast<std::uint64_t>(device.index) * 7 + device.life;
    options.client.dial = [this, &device](const std::string&) { return ready(dial_relay(device)); };
    device.relays = std::make_unique<cli::DaemonRelays>(*device.io, *device.store, *device.cluster,
                                                        std::move(hooks), std::move(options));
    device.relays->start();
}

void SimCluster::Impl::stop_relays_of(Device& device) {
    device.relays.reset();
    device.cluster.reset();
}

void SimCluster::Impl::direct_link_changed(Device& a, Device& b, bool up) {
    if (!relay) return;
    for (auto [here, there] : {std::pair{&a, &b}, std::pair{&b, &a}}) {
        if (!here->relays) continue;
        if (up)
            here->relays->direct_connection(there->key);
        else
            here->relays->direct_disconnection(there->key);
    }
}

bool SimCluster::Impl::relay_settled(std::string* why) {
    if (!relay->server) {
        *why = "the relay is down";
        return false;
    }
    for (auto& device : devices) {
        if (!device->relays) {
            *why = device->name + " runs no relay client";
            return false;
        }
        const nlohmann::json status = device->relays->status_json();
        if (status["relays"].empty() || !status["relays"][0]["connected"].get<bool>()) {
            *why = device->name + " is not connected to the relay";
            return false;
        }
        if (status["relay_sending"].get<std::uint64_t>() != 0 ||
            status["relay_pending_uploads"].get<std::uint64_t>() != 0) {
            *why = device->name + " is still sending to the relay";
            return false;
        }
    }
    // Trees may agree while an index update is still in a mailbox.
    const auto differences = index_differences(1);
    if (differences.empty()) return true;
    *why = differences.front();
    return false;
}

}  // namespace ferry::sim
