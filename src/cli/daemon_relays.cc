#include "cli/daemon_relays.hh"

#include <algorithm>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "cli/log.hh"
#include "cli/relay_entries.hh"
#include "core/bytes.hh"
#include "crypto/mailbox_envelope.hh"
#include "net/relay_url.hh"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::cli {

namespace {

constexpr std::uint32_t kFetchMessages = 500;
constexpr std::uint32_t kFetchBytes = 32u << 20;
constexpr int kMaxFetchRounds = 1000;

std::string short_key(const PublicKey& key) {
    return DeviceId::from_public_key(key).to_string().substr(0, 7);
}

}  // namespace

struct DaemonRelays::Impl : std::enable_shared_from_this<DaemonRelays::Impl> {
    Impl(asio::io_context& io, Store& store, Cluster& cluster, DaemonRelaysHooks hooks,
         DaemonRelaysOptions options)
        : io(io),
          store(store),
          cluster(cluster),
          hooks(std::move(hooks)),
          options(std::move(options)),
          check_timer(io),
          started_at(MonotonicClock::now()) {}

    struct Client {
        std::shared_ptr<RelayClient> client;
        bool fetching = false;
        bool fetch_again = false;
    };

    asio::io_context& io;
    Store& store;
    Cluster& cluster;
    DaemonRelaysHooks hooks;
    DaemonRelaysOptions options;
    Timer check_timer;
    MonotonicClock::time_point started_at;
    bool stopped = false;
    std::vector<wire::RelayEntry> list;
    std::map<std::string, Client> clients;  // by URL
    std::shared_ptr<RelayLinkContext> context;
    std::map<PublicKey, std::shared_ptr<RelayLink>> links;
    std::map<PublicKey, MonotonicClock::time_point> last_direct;
    std::map<PublicKey, MonotonicClock::time_point> last_forward;
    std::set<wire::MailboxMessageId> seen;
    std::string problem;  // "relay full: ..." while an upload waits
    MonotonicClock::time_point last_fetch{};

    PublicKey own_key() const {
        PublicKey key{};
        const auto own = cluster.device_key().public_key();
        std::copy(own.begin(), own.end(), key.begin());
        return key;
    }

    std::shared_ptr<RelayClient> best() const {
        std::shared_ptr<RelayClient> chosen;
        std::chrono::microseconds chosen_rtt{0};
        for (const auto& [url, c] : clients) {
            const RelayStatus status = c.client->status();
            if (!status.connected) continue;
            const auto rtt = status.rtt.value_or(std::chrono::microseconds::max());
            if (!chosen || rtt < chosen_rtt) {
                chosen = c.client;
                chosen_rtt = rtt;
            }
        }
        return chosen;
    }

    void make_context() {
        context = std::make_shared<RelayLinkContext>();
        context->user = &cluster.user_key();
        context->device = &cluster.device_key();
        context->store = &store;
        std::weak_ptr<Impl> weak = weak_from_this();
        context->pick_relay = [weak]() -> std::shared_ptr<RelayClient> {
            auto self = weak.lock();
            return self ? self->best() : nullptr;
        };
        context->retry_interval = options.retry_interval;
        context->report = [weak](const std::string& text) {
            if (auto self = weak.lock()) {
                if (text != self->problem && !text.empty()) log_warn(text);
                self->problem = text;
            }
        };
    }

    wire::RelayHello hello_for(const std::string& url) {
        wire::RelayHello hello;
        if (auto token = store.get_setting(relay_token_key(url)); token && *token)
            hello.token = **token;
        if (auto revocations = store.revocations(); revocations) hello.revocations = *revocations;
        return hello;
    }

    void connect(const std::string& url_text) {
        auto url = RelayUrl::parse(url_text);
        if (!url) {
            log_warn("ignoring relay: " + url.error().message);
            return;
        }
        std::weak_ptr<Impl> weak = weak_from_this();
        RelayClientHooks client_hooks;
        // Every failed attempt reports; the log says each reason once in a row.
        auto last_why = std::make_shared<std::string>();
        client_hooks.on_connected = [weak, url_text, last_why](const wire::RelayWelcome& welcome) {
            auto self = weak.lock();
            if (!self) return;
            log_info("connected to relay " + url_text + " (account " + welcome.account + ")");
            *last_why = "";
            // The token did its work: the account knows this user's key now.
            (void)self->store.set_setting(relay_token_key(url_text), "");
            self->fetch(url_text);
        };
        client_hooks.on_disconnected = [url_text, last_why](const std::string& why) {
            if (why != *last_why) log_info("relay " + url_text + ": " + why);
            *last_why = why;
        };
        client_hooks.on_notify = [weak, url_text] {
            if (auto self = weak.lock()) self->fetch(url_text);
        };
        client_hooks.on_forward_offer = [weak, url_text](const wire::ForwardOffer& offer) {
            if (auto self = weak.lock()) self->accept_forward(url_text, offer);
        };
        RelayClientOptions client_options = options.client;
        client_options.hello = [weak, url_text]() -> wire::RelayHello {
            auto self = weak.lock();
            return self ? self->hello_for(url_text) : wire::RelayHello{};
        };
        auto client = std::make_shared<RelayClient>(io, cluster.device_key(),
                                                     cluster.certificate(), *url,
                                                     std::move(client_hooks), client_options);
        clients[url_text] = Client{client};
        client->start();
    }

    void reload() {
        auto loaded = load_relay_entries(store);
        if (!loaded) {
            log_error("cannot read the relay list: " + loaded.error().message);
            return;
        }
        list = std::move(*loaded);
        std::set<std::string> wanted;
        for (const wire::RelayEntry& entry : list)
            if (!entry.removed) wanted.insert(entry.url);
        for (auto it = clients.begin(); it != clients.end();) {
            if (wanted.count(it->first) == 0) {
                log_info("relay " + it->first + " removed");
                it->second.client->stop();
                it = clients.erase(it);
            } else {
                ++it;
            }
        }
        for (const std::string& url : wanted)
            if (clients.count(url) == 0 && !stopped) connect(url);
    }

    // ---- links ----

    std::shared_ptr<RelayLink> link_for(const PublicKey& key, const DeviceCertificate& certificate) {
        auto it = links.find(key);
        if (it != links.end() && it->second->is_open()) return it->second;
        auto link = std::make_shared<RelayLink>(io.get_executor(), context, certificate);
        links[key] = link;
        hooks.add_link(link);
        return link;
    }

    std::optional<DeviceCertificate> certificate_of(const PublicKey& key) {
        auto record = store.device(key);
        if (!record || !*record) return std::nullopt;
        auto certificate = DeviceCertificate::decode(bytes_of((*record)->certificate));
        if (!certificate) return std::nullopt;
        PeerIdentity peer;
        peer.device_key = key;
        peer.certificate = *certificate;
        if (!cluster.authorize(peer)) return std::nullopt;
        return *certificate;
    }

    void check_links() {
        if (stopped || !best()) return;
        auto devices = store.devices();
        if (!devices) return;
        const PublicKey own = own_key();
        const auto now = MonotonicClock::now();
        for (const DeviceRecord& device : *devices) {
            const PublicKey& key = device.key;
            if (key == own || hooks.directly_connected(key)) continue;
            auto seen_at = last_direct.find(key);
            const auto since = seen_at == last_direct.end() ? started_at : seen_at->second;
            if (now - since < options.link_grace) continue;
            auto it = links.find(key);
            if (it == links.end() || !it->second->is_open()) {
                // Checked (signature, revocation) only when a link is to be made.
                auto certificate = certificate_of(key);
                if (!certificate) continue;
                log_info("device " + short_key(key) + " is not connected: syncing with it through "
                         "the relay");
                link_for(key, *certificate);
            }
            if (options.forward && own < key) try_forward(key);
        }
        if (now - last_fetch >= options.fetch_interval)
            for (const auto& [url, c] : clients) fetch(url);
    }

    static asio::awaitable<void> check_loop(std::shared_ptr<Impl> self) {
        while (!self->stopped) {
            self->check_timer.expires_after(self->options.check_interval);
            std::error_code ec;
            co_await self->check_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            if (self->stopped) break;
            self->check_links();
        }
    }

    // ---- forwarding ----

    void try_forward(const PublicKey& key) {
        const auto now = MonotonicClock::now();
        auto it = last_forward.find(key);
        if (it != last_forward.end() && now - it->second < options.forward_interval) return;
        last_forward[key] = now;
        auto relay = best();
        if (!relay) return;
        asio::co_spawn(io, forward(shared_from_this(), relay, key), asio::detached);
    }

    static asio::awaitable<void> forward(std::shared_ptr<Impl> self,
                                         std::shared_ptr<RelayClient> relay, PublicKey key) {
        auto stream = co_await relay->forward_to(key);
        if (self->stopped) co_return;
        if (!stream) {
            if (stream.error().code != Errc::not_found)
                log_info("forwarding to device " + short_key(key) + ": " + stream.error().message);
            co_return;
        }
        log_info("connecting to device " + short_key(key) + " through relay " +
                 relay->url().to_string());
        self->hooks.forwarded(std::move(*stream), key, true);
    }

    void accept_forward(const std::string& url, const wire::ForwardOffer& offer) {
        auto it = clients.find(url);
        if (it == clients.end()) return;
        asio::co_spawn(io, accept(shared_from_this(), it->second.client, offer), asio::detached);
    }

    static asio::awaitable<void> accept(std::shared_ptr<Impl> self,
                                        std::shared_ptr<RelayClient> relay,
                                        wire::ForwardOffer offer) {
        auto stream = co_await relay->open_forwarded(offer.session);
        if (self->stopped) co_return;
        if (!stream) {
            log_info("forwarded connection from device " + short_key(offer.from) + ": " +
                     stream.error().message);
            co_return;
        }
        self->hooks.forwarded(std::move(*stream), offer.from, false);
    }

    // ---- mailboxes ----

    void fetch(const std::string& url) {
        auto it = clients.find(url);
        if (it == clients.end() || stopped) return;
        last_fetch = MonotonicClock::now();
        if (it->second.fetching) {
            it->second.fetch_again = true;
            return;
        }
        it->second.fetching = true;
        asio::co_spawn(io, fetch_loop(shared_from_this(), url), asio::detached);
    }

    static asio::awaitable<void> fetch_loop(std::shared_ptr<Impl> self, std::string url) {
        for (int round = 0; round < kMaxFetchRounds && !self->stopped; ++round) {
            auto it = self->clients.find(url);
            if (it == self->clients.end()) co_return;
            it->second.fetch_again = false;
            std::shared_ptr<RelayClient> relay = it->second.client;
            wire::Message request = wire::MailboxFetch{0, kFetchMessages, kFetchBytes};
            auto reply = co_await relay->request(std::move(request));
            if (self->stopped) co_return;
            const auto* batch = reply ? std::get_if<wire::MailboxBatch>(&*reply) : nullptr;
            if (batch == nullptr) {
                if (!reply) log_info("relay " + url + ": fetching mail: " + reply.error().message);
                break;
            }
            std::vector<wire::MailboxMessageId> acks;
            bool fresh = false;
            for (const wire::MailboxEntry& entry : batch->entries) {
                if (!self->seen.insert(entry.message_id).second) continue;
                fresh = true;
                if (self->take(relay, entry)) acks.push_back(entry.message_id);
            }
            if (!acks.empty()) {
                wire::Message ack = wire::MailboxAck{0, std::move(acks)};
                (void)co_await relay->request(std::move(ack));
            }
            it = self->clients.find(url);
            if (it == self->clients.end()) co_return;
            if (!batch->more && !it->second.fetch_again) break;
            if (!fresh) {  // the oldest wait to be applied: give the links a moment
                Timer pause(self->io, std::chrono::milliseconds(200));
                std::error_code ec;
                co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            }
        }
        if (auto it = self->clients.find(url); it != self->clients.end())
            it->second.fetching = false;
    }

    // Handles one mailbox entry; true when it is to be acknowledged now
    // (otherwise its link acknowledges it once applied).
    bool take(const std::shared_ptr<RelayClient>& relay, const wire::MailboxEntry& entry) {
        if (entry.expired) {
            log_warn("a message to device " + short_key(entry.peer) +
                     " expired on the relay undelivered; sending it what it lacks again");
            restart_link(entry.peer);
            return true;
        }
        const PublicKey own = own_key();
        auto opened = open_envelope(cluster.user_key(), entry.message_id, own,
                                    bytes_of(entry.payload));
        if (!opened) {
            log_warn("dropped a relay message that does not open: " + opened.error().message);
            return true;
        }
        auto certificate = certificate_of(opened->sender);
        if (!certificate) {
            log_warn("dropped a relay message from device " + short_key(opened->sender) +
                     ", which this device does not trust");
            return true;
        }
        auto message = wire::decode(bytes_of(opened->payload));
        if (!message) {
            log_warn("dropped a relay message from device " + short_key(opened->sender) + ": " +
                     message.error().message);
            return true;
        }
        if (hooks.directly_connected(opened->sender)) return true;
        link_for(opened->sender, *certificate)->deliver(relay, entry.message_id, std::move(*message));
        return false;
    }

    // What was posted to the device may never be applied: a link to it
    // starts again from what the device itself last said it has.
    void forget_posted(const PublicKey& key) {
        const DeviceId device = DeviceId::from_public_key(key);
        if (auto folders = store.folders(); folders)
            for (const Folder& folder : *folders)
                (void)store.set_setting(relay_posted_key(device, folder.id), "");
    }

    void restart_link(const PublicKey& key) {
        forget_posted(key);
        auto it = links.find(key);
        if (it != links.end()) {
            it->second->close("starting again after an expired message");
            links.erase(it);
        }
    }

    void revoked(const PublicKey& key) {
        if (auto it = links.find(key); it != links.end()) {
            it->second->close("the device was removed");
            links.erase(it);
        }
        if (stopped) return;
        std::vector<std::string> urls;
        for (const auto& [url, c] : clients) urls.push_back(url);
        for (const std::string& url : urls) {
            log_info("relay " + url + ": connecting again to pass on the removal of device " +
                     short_key(key));
            clients[url].client->stop();
            clients.erase(url);
            connect(url);
        }
    }

    void stop() {
        if (stopped) return;
        stopped = true;
        check_timer.cancel();
        for (auto& [key, link] : links) link->close("device is shutting down");
        links.clear();
        for (auto& [url, c] : clients) c.client->stop();
    }
};

DaemonRelays::DaemonRelays(asio::io_context& io, Store& store, Cluster& cluster,
                           DaemonRelaysHooks hooks, DaemonRelaysOptions options)
    : m_impl(std::make_shared<Impl>(io, store, cluster, std::move(hooks), std::move(options))) {}

DaemonRelays::~DaemonRelays() { m_impl->stop(); }

void DaemonRelays::start() {
    m_impl->make_context();
    m_impl->reload();
    asio::co_spawn(m_impl->io, Impl::check_loop(m_impl), asio::detached);
}

void DaemonRelays::reload() { m_impl->reload(); }

bool DaemonRelays::absorb(const std::vector<wire::RelayEntry>& entries) {
    std::vector<wire::RelayEntry> merged = m_impl->list;
    if (!merge_relay_entries(merged, entries)) return false;
    if (auto saved = save_relay_entries(m_impl->store, merged); !saved) {
        log_error("cannot save the relay list: " + saved.error().message);
        return false;
    }
    m_impl->reload();
    return true;
}

std::vector<wire::RelayEntry> DaemonRelays::entries() const { return m_impl->list; }

void DaemonRelays::revoked(const PublicKey& device) { m_impl->revoked(device); }

void DaemonRelays::set_retry_interval(std::chrono::milliseconds interval) {
    m_impl->options.retry_interval = interval;
    if (m_impl->context) m_impl->context->retry_interval = interval;
}

void DaemonRelays::direct_connection(const PublicKey& device) {
    m_impl->last_direct[device] = MonotonicClock::now();
    m_impl->links.erase(device);  // the engine replaces it with the direct connection
    // While connected here the device drops this device's mailbox messages
    // (take()), so what they carried comes over the connection, from what
    // the device says it has, and a later link must start from that too.
    m_impl->forget_posted(device);
}

void DaemonRelays::direct_disconnection(const PublicKey& device) {
    m_impl->last_direct[device] = MonotonicClock::now();
}

nlohmann::json DaemonRelays::status_json() const {
    nlohmann::json relays = nlohmann::json::array();
    for (const auto& [url, c] : m_impl->clients) {
        const RelayStatus status = c.client->status();
        nlohmann::json item = {{"url", url},
                               {"connected", status.connected},
                               {"error", status.last_error},
                               {"account", status.account},
                               {"used_bytes", status.used_bytes},
                               {"quota_bytes", status.quota_bytes}};
        if (status.rtt) item["rtt_ms"] = static_cast<double>(status.rtt->count()) / 1000.0;
        relays.push_back(std::move(item));
    }
    std::size_t open_links = 0;
    for (const auto& [key, link] : m_impl->links) open_links += link->is_open() ? 1 : 0;
    const auto* context = m_impl->context.get();
    return {{"relays", relays},
            {"relay_problem", m_impl->problem},
            {"relay_links", open_links},
            {"relay_pending_uploads", context ? context->pending_uploads : 0},
            {"relay_sending", context ? context->sends_in_progress : 0}};
}

void DaemonRelays::stop() { m_impl->stop(); }

}  // namespace ferry::cli
