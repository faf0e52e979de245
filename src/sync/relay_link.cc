#include "sync/relay_link.hh"

#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/bytes.hh"
#include "crypto/base32.hh"
#include "sync/relay_link_state.hh"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {

namespace {

// ChunkGets under way over one link: with wire::kMaxGetBatch chunks each,
// enough for the engine's parallel fetches. (ferry-relay counts a ChunkGet
// as its chunks at the largest size against its 4 MiB per connection, so it
// works on about one at a time; the next ones wait in the socket, ready.)
constexpr std::size_t kGetsInFlight = 4;

struct PostedMark {
    std::uint64_t index_id = 0;
    std::int64_t sequence = 0;
};

std::optional<PostedMark> parse_mark(const std::string& text) {
    std::istringstream in(text);
    PostedMark mark;
    if (!(in >> mark.index_id >> mark.sequence)) return std::nullopt;
    return mark;
}

}  // namespace

std::string relay_peer_config_key(const DeviceId& device) {
    return "relay.peer_config." + device.to_string();
}

std::string relay_posted_key(const DeviceId& device, const std::string& folder_id) {
    return "relay.posted." + device.to_string() + "." + folder_id;
}

Result<void> save_peer_config(Store& store, const DeviceId& device,
                              const wire::ClusterConfig& config) {
    return store.set_setting(relay_peer_config_key(device), base32_encode(wire::encode(config)));
}

const FolderRelayKeys& RelayLink::State::keys_of(const std::string& folder) {
    auto it = keys.find(folder);
    if (it == keys.end())
        it = keys.emplace(folder, FolderRelayKeys(derive_folder_key(*context->user, folder))).first;
    return it->second;
}

void RelayLink::State::push(Inbound item) {
    inbound.push_back(std::move(item));
    arrived.fire();
}

wire::ClusterConfig RelayLink::State::initial_config() {
    wire::ClusterConfig config;
    auto saved = store().get_setting(relay_peer_config_key(device));
    if (saved && *saved && !(*saved)->empty()) {
        auto bytes = base32_decode(**saved);
        if (bytes) {
            auto decoded = wire::decode(*bytes);
            if (decoded && std::holds_alternative<wire::ClusterConfig>(*decoded))
                config = std::get<wire::ClusterConfig>(std::move(*decoded));
        }
    }
    for (wire::FolderState& state : config.folders) {
        auto text = store().get_setting(relay_posted_key(device, state.id));
        if (!text || !*text) continue;
        auto mark = parse_mark(**text);
        if (!mark) continue;
        if (state.peer_index_id != mark->index_id ||
            state.peer_max_sequence.value < mark->sequence) {
            state.peer_index_id = mark->index_id;
            state.peer_max_sequence.value = mark->sequence;
        }
    }
    return config;
}

bool RelayLink::State::covered(const wire::IndexUpdate& update) {
    auto state = store().peer_index_state(update.folder, device.short_id());
    if (!state || state->index_id != update.index_id || state->max_sequence < update.last_sequence)
        return false;
    for (const wire::WireRecord& wired : update.records) {
        auto stored = store().announced_file(update.folder, device.short_id(), wired.record.path);
        if (!stored || !*stored || (*stored)->sequence < wired.record.sequence) return false;
    }
    return true;
}

void RelayLink::State::add_ack(PendingAck ack) {
    acks.push_back(std::move(ack));
    if (acking) return;
    acking = true;
    asio::co_spawn(executor, ack_loop(shared_from_this()), asio::detached);
}

asio::awaitable<void> RelayLink::State::ack_loop(std::shared_ptr<State> self) {
    while (!self->acks.empty()) {
        std::map<std::shared_ptr<RelayClient>, std::vector<wire::MailboxMessageId>> ready;
        std::vector<PendingAck> waiting;
        for (PendingAck& ack : self->acks) {
            auto relay = ack.relay.lock();
            if (!relay) continue;  // the relay is gone: it delivers again later
            if (!ack.covers || self->covered(*ack.covers))
                ready[relay].push_back(ack.id);
            else
                waiting.push_back(std::move(ack));
        }
        self->acks = std::move(waiting);
        for (auto& [relay, ids] : ready) {
            wire::Message request = wire::MailboxAck{0, ids};
            auto acked = co_await relay->request(std::move(request));
            (void)acked;  // not acknowledged: delivered again, recognised then
        }
        if (self->acks.empty()) break;
        self->ack_timer.expires_after(self->context->ack_interval);
        std::error_code ec;
        co_await self->ack_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (!self->open && ec) break;
    }
    self->acking = false;
}

void RelayLink::State::queue_get(wire::Request request) {
    gets.push_back(std::move(request));
    // Started after the engine's current burst of requests has queued, so
    // they share ChunkGets.
    if (get_start_posted || getters >= kGetsInFlight) return;
    get_start_posted = true;
    asio::post(executor, [self = shared_from_this()] {
        self->get_start_posted = false;
        while (self->open && self->getters < kGetsInFlight && !self->gets.empty()) {
            ++self->getters;
            asio::co_spawn(self->executor, get_loop(self), asio::detached);
        }
    });
}

asio::awaitable<void> RelayLink::State::get_loop(std::shared_ptr<State> self) {
    while (self->open && !self->gets.empty()) {
        std::vector<wire::Request> batch;
        while (!self->gets.empty() && batch.size() < wire::kMaxGetBatch) {
            batch.push_back(std::move(self->gets.front()));
            self->gets.pop_front();
        }
        co_await self->fetch(std::move(batch));
    }
    --self->getters;
}

asio::awaitable<void> RelayLink::State::fetch(std::vector<wire::Request> batch) {
    std::vector<wire::Response> responses;
    wire::ChunkGet get;
    for (const wire::Request& request : batch) {
        responses.push_back(wire::Response{});
        responses.back().id = request.id;
        responses.back().code = wire::ResponseCode::not_found;
        get.chunks.push_back(keys_of(request.folder).chunk_id(request.hash));
    }
    if (auto relay = context->pick_relay()) {
        wire::Message message = std::move(get);
        auto reply = co_await relay->request(std::move(message));
        const auto* data = reply ? std::get_if<wire::ChunkData>(&*reply) : nullptr;
        if (data != nullptr && data->code == wire::RelayCode::ok &&
            data->chunks.size() == batch.size()) {
            for (std::size_t i = 0; i < batch.size(); ++i) {
                const std::string& sealed = data->chunks[i];
                if (sealed.empty()) continue;  // not on the relay
                in += sealed.size();
                const wire::Request& request = batch[i];
                auto opened = keys_of(request.folder)
                                  .open_chunk(request.hash, bytes_of(sealed), request.size);
                if (opened) {
                    responses[i].code = wire::ResponseCode::ok;
                    responses[i].data = std::move(*opened);
                } else {
                    responses[i].code = wire::ResponseCode::error;
                }
            }
        }
    }
    if (!open) co_return;
    for (wire::Response& response : responses)
        push(Inbound{nullptr, std::nullopt, std::move(response)});
}

void RelayLink::State::close(std::string reason) {
    if (!open) return;
    open = false;
    close_reason = std::move(reason);
    arrived.fire();
    closed_signal.fire();
    retry_timer.cancel();
    for (auto& [id, wait] : chunk_waits) wait->done.fire();
    // What is queued is not posted; puts running end with the link.
    context->pending_uploads -= uploads.size();
    uploads.clear();
    context->sends_in_progress -= posts.size();
    for (const auto& post : posts) post->stored.fire();
    posts.clear();
    room.fire();
}

RelayLink::RelayLink(asio::any_io_executor executor, std::shared_ptr<RelayLinkContext> context,
                     DeviceCertificate peer)
    : m_state(std::make_shared<State>(executor, std::move(context), std::move(peer))) {
    m_state->push(State::Inbound{nullptr, std::nullopt, m_state->initial_config()});
}

RelayLink::~RelayLink() {
    m_state->close("link dropped");
}

void RelayLink::deliver(std::shared_ptr<RelayClient> relay, const wire::MailboxMessageId& id,
                        wire::Message message) {
    State& s = *m_state;
    if (!s.open || !s.seen.insert(id).second) return;
    if (const auto* update = std::get_if<wire::IndexUpdate>(&message)) {
        // What the acknowledgement waits for: the records, without their chunks.
        wire::IndexUpdate covers{update->folder, update->index_id, update->last_sequence, {}};
        for (const wire::WireRecord& wired : update->records) {
            wire::WireRecord stripped;
            stripped.record.path = wired.record.path;
            stripped.record.sequence = wired.record.sequence;
            covers.records.push_back(std::move(stripped));
        }
        if (s.covered(*update)) {  // a redelivery of what is stored
            s.add_ack({relay, id, std::nullopt});
            return;
        }
        s.add_ack({relay, id, std::move(covers)});
        s.push(State::Inbound{relay, std::nullopt, std::move(message)});
        return;
    }
    if (const auto* config = std::get_if<wire::ClusterConfig>(&message)) {
        if (auto saved = save_peer_config(s.store(), s.device, *config); !saved)
            return;  // not acknowledged: delivered again later
    }
    s.push(State::Inbound{relay, id, std::move(message)});
}

asio::awaitable<Result<wire::Message>> RelayLink::receive() {
    auto self = m_state;
    if (self->handed) {  // the engine handled the previous message before asking again
        self->add_ack(std::move(*self->handed));
        self->handed.reset();
    }
    while (self->open && self->inbound.empty()) {
        self->arrived.reset();
        if (self->open && self->inbound.empty()) co_await self->arrived.wait();
    }
    if (!self->open) co_return fail(Errc::io, self->label + ": " + self->close_reason);
    State::Inbound item = std::move(self->inbound.front());
    self->inbound.pop_front();
    if (item.id) self->handed = State::PendingAck{item.relay, *item.id, std::nullopt};
    co_return std::move(item.message);
}

asio::awaitable<Result<void>> RelayLink::send(const wire::Message& message) {
    auto self = m_state;
    if (!self->open) co_return fail(Errc::io, self->label + ": " + self->close_reason);
    if (std::holds_alternative<wire::IndexUpdate>(message) ||
        std::holds_alternative<wire::ClusterConfig>(message) ||
        std::holds_alternative<wire::ResendRequest>(message)) {
        co_return co_await self->queue_post(message);
    }
    if (const auto* request = std::get_if<wire::Request>(&message)) {
        self->queue_get(*request);
        co_return Result<void>{};
    }
    if (const auto* response = std::get_if<wire::Response>(&message)) {
        auto it = self->chunk_waits.find(response->id);
        if (it != self->chunk_waits.end()) {
            it->second->response = *response;
            it->second->done.fire();
        }
        co_return Result<void>{};
    }
    co_return Result<void>{};  // Ping, Close: nothing to carry
}

void RelayLink::close(std::string reason) {
    m_state->close(std::move(reason));
}

bool RelayLink::is_open() const {
    return m_state->open;
}

asio::awaitable<void> RelayLink::wait_closed() {
    auto self = m_state;
    while (self->open) co_await self->closed_signal.wait();
}

const PeerIdentity& RelayLink::peer() const {
    return m_state->peer;
}

std::uint64_t RelayLink::bytes_in() const {
    return m_state->in;
}

std::uint64_t RelayLink::bytes_out() const {
    return m_state->out;
}

}  // namespace ferry
