// The peer manager: TCP listeners, one dialer coroutine per device with
// addresses, and the table of live connections with its de-duplication rule.
//
// Every coroutine holds the Impl (shared_ptr), so stop() and the destructor
// only need to close things: each loop then sees `stopped` and ends. Every
// wait is bounded (a backoff, a connect/handshake deadline, or a connection
// that ends); a dialer sleeps on its device's timer, which set_addresses(),
// forget(), stop() and a newly registered connection cancel to wake it.
#include "net/peer_manager.hh"

#include <algorithm>
#include <random>
#include <set>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/monotonic_time.hh"
#include "net/tcp_socket.hh"

// GCC 12 takes Asio's coroutine frames (aligned_alloc, freed by the matching
// aligned_delete) for a mismatched new/delete when it inlines them.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {
namespace {

using tcp = asio::ip::tcp;
using SteadyClock = MonotonicClock;

// A connection that stayed up this long resets its device's backoff.
constexpr std::chrono::seconds kLastingConnection{10};

asio::awaitable<void> sleep_on(Timer& timer, SteadyClock::duration duration) {
    timer.expires_after(duration);
    std::error_code ignored;  // cancelled: woken early on purpose
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

struct Device {
    Device(asio::io_context& io, const PublicKey& device_key) : key(device_key), wake(io) {}
    PublicKey key;
    std::vector<std::string> addresses;
    std::shared_ptr<Connection> connection;
    SteadyClock::time_point connected_at{};
    Timer wake;
    std::shared_ptr<DialCancel> dialing;  // a dial in progress, abortable by stop and forget
    bool dialer_running = false;
    bool forgotten = false;
};

}  // namespace

struct PeerManager::Impl : std::enable_shared_from_this<Impl> {
    Impl(asio::io_context& context, const KeyPair& key, DeviceCertificate cert,
         PeerManagerHooks peer_hooks, PeerManagerOptions opts)
        : io(context),
          // An own copy: coroutines may outlive the caller's KeyPair.
          device(KeyPair::from_seed(key.seed())),
          device_id(key.device_id()),
          certificate(std::move(cert)),
          hooks(std::move(peer_hooks)),
          options(opts),
          random(std::random_device{}()) {}

    asio::io_context& io;
    const KeyPair device;
    const DeviceId device_id;
    const DeviceCertificate certificate;
    const PeerManagerHooks hooks;
    const PeerManagerOptions options;
    std::mt19937_64 random;  // backoff jitter only

    bool stopped = false;
    std::vector<std::shared_ptr<tcp::acceptor>> acceptors;
    std::vector<std::string> bound;
    std::map<PublicKey, std::shared_ptr<Device>> devices;
    std::set<ByteStream*> handshaking;  // streams inside initiate/accept
    std::vector<std::weak_ptr<Connection>> joiners;

    std::shared_ptr<Device> device_entry(const PublicKey& key) {
        auto& entry = devices[key];
        if (!entry) entry = std::make_shared<Device>(io, key);
        return entry;
    }

    DeviceId initiator_of(const Connection& connection) const {
        return connection.initiated_here() ? device_id : connection.peer().device_id();
    }

    // Both ends apply this to the same pair of connections and so keep the
    // same one: the lower initiator's. Two connections from one initiator
    // means the older was left half-open by a restart: the newer wins.
    bool prefer(const Connection& fresh, const Connection& current) const {
        const DeviceId fresh_initiator = initiator_of(fresh);
        const DeviceId current_initiator = initiator_of(current);
        return fresh_initiator == current_initiator || fresh_initiator < current_initiator;
    }

    void add(const std::shared_ptr<Device>& entry, std::shared_ptr<Connection> connection) {
        if (stopped || entry->forgotten) {
            connection->close(stopped ? "shutting down" : "device removed");
            return;
        }
        if (entry->connection && entry->connection->is_open()) {
            if (!prefer(*connection, *entry->connection)) {
                connection->close("duplicate connection");
                return;
            }
            entry->connection->close("duplicate connection");
        }
        entry->connection = connection;
        entry->connected_at = SteadyClock::now();
        entry->wake.cancel();
        if (hooks.on_connected) hooks.on_connected(std::move(connection));
    }

    Authorizer authorizer(std::optional<PublicKey> expected) {
        return [self = shared_from_this(), expected](const PeerIdentity& peer) -> Result<void> {
            if (self->stopped) return fail(Errc::io, "shutting down");
            if (expected && peer.device_key != *expected) {
                return fail(Errc::permission_denied,
                            "answered by device " + peer.device_id().to_string() + ", expected " +
                                DeviceId::from_public_key(*expected).to_string());
            }
            if (!self->hooks.authorize) return fail(Errc::permission_denied, "no authorizer");
            return self->hooks.authorize(peer);
        };
    }

    static asio::awaitable<void> serve_incoming(std::shared_ptr<Impl> self, tcp::socket socket) {
        auto stream = make_tcp_stream(std::move(socket));
        ByteStream* const raw = stream.get();
        self->handshaking.insert(raw);
        auto accepted = co_await Connection::accept(std::move(stream), self->device,
                                                    self->certificate, self->authorizer({}),
                                                    self->options.connection);
        self->handshaking.erase(raw);
        if (!accepted) co_return;  // refused or failed: the stream is closed
        std::shared_ptr<Connection> connection = std::move(*accepted);
        if (self->stopped) {
            connection->close("shutting down");
        } else if (connection->peer().invite_id) {
            std::erase_if(self->joiners, [](const auto& weak) { return weak.expired(); });
            self->joiners.push_back(connection);
            if (self->hooks.on_join) self->hooks.on_join(std::move(connection));
        } else {
            const auto entry = self->device_entry(connection->peer().device_key);
            self->add(entry, std::move(connection));
        }
    }

    static asio::awaitable<Result<std::shared_ptr<Connection>>> dial(
        std::shared_ptr<Impl> self, std::shared_ptr<Device> entry, const std::string& address) {
        if (self->stopped || entry->forgotten) co_return fail(Errc::io, "stopped");
        auto cancel = std::make_shared<DialCancel>();
        entry->dialing = cancel;
        auto socket = co_await dial_tcp(address, self->options.connection.handshake_timeout, cancel);
        if (entry->dialing == cancel) entry->dialing.reset();
        if (!socket) co_return tl::unexpected(socket.error());
        if (self->stopped || entry->forgotten) co_return fail(Errc::io, "stopped");
        auto stream = make_tcp_stream(std::move(*socket));
        ByteStream* const raw = stream.get();
        self->handshaking.insert(raw);
        auto connection = co_await Connection::initiate(
            std::move(stream), self->device, self->certificate, self->authorizer(entry->key),
            self->options.connection);
        self->handshaking.erase(raw);
        co_return connection;
    }

    SteadyClock::duration jittered(std::chrono::milliseconds delay) {
        std::uniform_real_distribution<double> factor(0.75, 1.25);
        return std::chrono::duration_cast<SteadyClock::duration>(delay * factor(random));
    }

    static asio::awaitable<void> dial_loop(std::shared_ptr<Impl> self,
                                           std::shared_ptr<Device> entry) {
        const PeerManagerOptions& options = self->options;
        std::chrono::milliseconds delay = options.backoff_min;
        const auto back_off = [&]() -> asio::awaitable<void> {
            co_await sleep_on(entry->wake, self->jittered(delay));
            delay = std::min(delay * 2, options.backoff_max);
        };
        while (!self->stopped && !entry->forgotten && !entry->addresses.empty()) {
            if (entry->connection && entry->connection->is_open()) {
                const std::shared_ptr<Connection> up = entry->connection;
                co_await up->wait_closed();
                const bool lasted = SteadyClock::now() - entry->connected_at >= kLastingConnection;
                if (lasted) delay = options.backoff_min;
                if (entry->connection != up) continue;  // replaced by a preferred one
                entry->connection.reset();
                if (!lasted) co_await back_off();  // a peer that drops us at once
                continue;
            }
            bool connected = false;
            const std::vector<std::string> addresses = entry->addresses;
            for (const std::string& address : addresses) {
                auto dialed = co_await dial(self, entry, address);
                if (dialed) {
                    self->add(entry, std::move(*dialed));
                    connected = true;
                    break;
                }
                if (self->stopped || entry->forgotten) break;
                if (entry->connection && entry->connection->is_open()) break;  // it dialed us
            }
            if (!connected && !(entry->connection && entry->connection->is_open())) {
                co_await back_off();
            }
        }
        entry->dialer_running = false;
    }

    void close_device(Device& entry, const std::string& reason) {
        entry.wake.cancel();
        if (entry.dialing) entry.dialing->cancel();
        if (entry.connection) entry.connection->close(reason);
    }
};

PeerManager::PeerManager(asio::io_context& io, const KeyPair& device,
                         DeviceCertificate certificate, PeerManagerHooks hooks,
                         PeerManagerOptions options)
    : m_impl(std::make_shared<Impl>(io, device, std::move(certificate), std::move(hooks),
                                    options)) {}

PeerManager::~PeerManager() { stop(); }

Result<std::string> PeerManager::listen(const std::string& address) {
    std::weak_ptr<Impl> weak = m_impl;
    auto listener = listen_and_accept(
        m_impl->io, address,
        [weak] {
            auto self = weak.lock();
            return !self || self->stopped;
        },
        [weak](tcp::socket socket) {
            if (auto self = weak.lock())
                asio::co_spawn(self->io, Impl::serve_incoming(self, std::move(socket)),
                               asio::detached);
        },
        m_impl->options.backoff_min);
    if (!listener) return tl::unexpected(listener.error());
    m_impl->acceptors.push_back(listener->acceptor);
    m_impl->bound.push_back(listener->bound);
    return m_impl->bound.back();
}

std::vector<std::string> PeerManager::listen_addresses() const { return m_impl->bound; }

void PeerManager::set_addresses(const PublicKey& device_key, std::vector<std::string> addresses) {
    if (m_impl->stopped) return;
    auto entry = m_impl->device_entry(device_key);
    entry->addresses = std::move(addresses);
    entry->wake.cancel();
    if (!entry->addresses.empty() && !entry->dialer_running) {
        entry->dialer_running = true;
        asio::co_spawn(m_impl->io, Impl::dial_loop(m_impl, entry), asio::detached);
    }
}

void PeerManager::forget(const PublicKey& device_key, const std::string& reason) {
    const auto found = m_impl->devices.find(device_key);
    if (found == m_impl->devices.end()) return;
    const std::shared_ptr<Device> entry = found->second;
    m_impl->devices.erase(found);
    entry->forgotten = true;
    entry->addresses.clear();
    m_impl->close_device(*entry, reason);
}

std::vector<std::shared_ptr<Connection>> PeerManager::connections() const {
    std::vector<std::shared_ptr<Connection>> up;
    for (const auto& [key, entry] : m_impl->devices) {
        if (entry->connection && entry->connection->is_open()) up.push_back(entry->connection);
    }
    return up;
}

void PeerManager::stop() {
    Impl& impl = *m_impl;
    if (impl.stopped) return;
    impl.stopped = true;
    for (const auto& acceptor : impl.acceptors) {
        std::error_code ignored;
        acceptor->close(ignored);
    }
    for (const auto& [key, entry] : impl.devices) impl.close_device(*entry, "shutting down");
    for (ByteStream* stream : impl.handshaking) stream->close();
    for (const auto& weak : impl.joiners) {
        if (const auto joiner = weak.lock()) joiner->close("shutting down");
    }
}

}  // namespace ferry
