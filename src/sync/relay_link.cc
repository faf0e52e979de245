#include "sync/relay_link.hh"

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/byte_size.hh"
#include "core/bytes.hh"
#include "core/compression.hh"
#include "crypto/base32.hh"
#include "crypto/mailbox_envelope.hh"
#include "crypto/relay_seal.hh"
#include "net/async.hh"
#include "net/monotonic_time.hh"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {

namespace {

// Chunk puts under way over one link, over all its queued index updates
// (a relay handles up to 64 requests of a connection at once: relay_server.hh).
constexpr std::size_t kUploadWindow = 64;
// Messages queued on one link for posting; send() waits for room beyond it.
constexpr std::size_t kQueuedPosts = 4;

// The chunks a receiver of `update` may have to fetch: whole lists of live
// files, or what a delta inserts (the rest it has: the delta's base).
std::vector<ChunkRef> needed_chunks(const wire::IndexUpdate& update) {
    std::vector<ChunkRef> out;
    std::set<ChunkHash> seen;
    const auto add = [&](const ChunkRef& chunk) {
        if (seen.insert(chunk.hash).second) out.push_back(chunk);
    };
    for (const wire::WireRecord& wired : update.records) {
        const FileRecord& record = wired.record;
        if (record.deleted || record.kind != FileKind::file) continue;
        if (wired.delta) {
            for (const DeltaRun& run : wired.delta->runs)
                for (const ChunkRef& chunk : run.insert) add(chunk);
        } else {
            for (const ChunkRef& chunk : record.chunks) add(chunk);
        }
    }
    return out;
}

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

bool is_full(wire::RelayCode code) {
    return code == wire::RelayCode::quota_exceeded || code == wire::RelayCode::unavailable;
}

// What `ferry status` shows while an upload waits for space: built here from
// the reply's code and figures (the relay's own text is its operator's).
std::string full_problem(const RelayClient& relay, const wire::RelayReply& reply,
                         std::chrono::milliseconds retry) {
    const std::string url = relay.url().to_string();
    const std::string again =
        "; uploads wait, tried again every " + std::to_string(retry.count() / 1000) + " s";
    if (reply.code == wire::RelayCode::quota_exceeded) {
        return "relay full: the account on " + url + " has used " + human_bytes(reply.used_bytes) +
               " of its " + human_bytes(reply.quota_bytes) + " quota" + again +
               " (ask the relay's operator for more: ferry-relay user quota)";
    }
    return "relay full: " + url + " cannot store more now (" + reply.message + ")" + again;
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

struct RelayLink::State : std::enable_shared_from_this<RelayLink::State> {
    State(asio::any_io_executor executor, std::shared_ptr<RelayLinkContext> context,
          DeviceCertificate certificate)
        : executor(executor),
          context(std::move(context)),
          arrived(executor),
          closed_signal(executor),
          ack_timer(executor),
          retry_timer(executor),
          room(executor) {
        peer.device_key = certificate.device_key;
        peer.certificate = std::move(certificate);
        device = peer.device_id();
        label = "device " + device.to_string().substr(0, 7) + " through the relay";
    }

    struct Inbound {
        std::shared_ptr<RelayClient> relay;  // where it came from (null: made here)
        std::optional<wire::MailboxMessageId> id;
        wire::Message message;
    };
    // A delivered message waiting to be acknowledged, once applied.
    struct PendingAck {
        std::weak_ptr<RelayClient> relay;
        wire::MailboxMessageId id{};
        std::optional<wire::IndexUpdate> covers;  // paths and sequences of its records only
    };
    struct ChunkWait {
        explicit ChunkWait(const asio::any_io_executor& e) : done(e) {}
        Signal done;
        std::optional<wire::Response> response;
    };
    // A message waiting in the post queue: posted once the chunks its
    // records need are stored (an IndexUpdate), after every message sent
    // before it.
    struct QueuedPost {
        explicit QueuedPost(const asio::any_io_executor& e) : stored(e) {}
        wire::Message message;
        std::shared_ptr<RelayClient> relay;
        std::vector<wire::RelayChunkId> chunks;  // kept on the relay until delivered
        std::size_t uploads_left = 0;            // its chunks not yet put
        Signal stored;                           // fired when uploads_left reaches 0
    };
    struct Upload {
        std::shared_ptr<QueuedPost> post;
        std::string folder;
        ChunkRef chunk;
        wire::RelayChunkId id;
    };

    asio::any_io_executor executor;
    std::shared_ptr<RelayLinkContext> context;
    PeerIdentity peer;
    DeviceId device;
    std::string label;
    bool open = true;
    std::string close_reason;
    std::deque<Inbound> inbound;
    Signal arrived;
    Signal closed_signal;
    std::optional<PendingAck> handed;  // the last non-index message receive() returned
    std::vector<PendingAck> acks;
    bool acking = false;
    Timer ack_timer;
    Timer retry_timer;
    std::set<wire::MailboxMessageId> seen;
    std::map<std::uint32_t, std::shared_ptr<ChunkWait>> chunk_waits;
    // The post queue (each entry counted in context->sends_in_progress until
    // it leaves), the chunk puts waiting for a place in the window (each
    // counted in context->pending_uploads), the puts running, and the chunks
    // queued or being put here, with their relay: a later update need not
    // put them again, since it is posted after the one that puts them.
    std::deque<std::shared_ptr<QueuedPost>> posts;
    std::deque<Upload> uploads;
    std::size_t uploads_running = 0;
    std::map<wire::RelayChunkId, const RelayClient*> putting;
    bool posting = false;
    Signal room;  // fired when a message leaves the post queue
    std::uint32_t next_request = 1;
    std::map<std::string, FolderRelayKeys> keys;
    std::uint64_t in = 0;
    std::uint64_t out = 0;

    Store& store() { return *context->store; }

    const FolderRelayKeys& keys_of(const std::string& folder) {
        auto it = keys.find(folder);
        if (it == keys.end())
            it = keys.emplace(folder, FolderRelayKeys(derive_folder_key(*context->user, folder)))
                     .first;
        return it->second;
    }

    void push(Inbound item) {
        inbound.push_back(std::move(item));
        arrived.fire();
    }

    // The device's last ClusterConfig, with what was posted since.
    wire::ClusterConfig initial_config() {
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

    // Whether the store holds what `update` says: the peer's index state
    // reaches its last sequence, and each of its records is stored (or a
    // later one of its path). An update answering a ResendRequest repeats
    // records below that sequence which the store lacks (their delta had
    // no base here): those still go to the engine.
    bool covered(const wire::IndexUpdate& update) {
        auto state = store().peer_index_state(update.folder, device.short_id());
        if (!state || state->index_id != update.index_id ||
            state->max_sequence < update.last_sequence)
            return false;
        for (const wire::WireRecord& wired : update.records) {
            auto stored = store().announced_file(update.folder, device.short_id(), wired.record.path);
            if (!stored || !*stored || (*stored)->sequence < wired.record.sequence) return false;
        }
        return true;
    }

    void add_ack(PendingAck ack) {
        acks.push_back(std::move(ack));
        if (acking) return;
        acking = true;
        asio::co_spawn(executor, ack_loop(shared_from_this()), asio::detached);
    }

    static asio::awaitable<void> ack_loop(std::shared_ptr<State> self) {
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

    // Waits before retrying a store the relay refused for lack of space.
    asio::awaitable<bool> wait_for_space(const RelayClient& relay, const wire::RelayReply& reply) {
        if (context->report) context->report(full_problem(relay, reply, context->retry_interval));
        retry_timer.expires_after(context->retry_interval);
        std::error_code ec;
        co_await retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        co_return open;
    }

    void space_ok() {
        if (context->report) context->report("");
    }

    asio::awaitable<Result<void>> post(std::shared_ptr<RelayClient> relay,
                                       const wire::Message& message,
                                       std::vector<wire::RelayChunkId> chunks) {
        const std::vector<std::uint8_t> payload = wire::encode(message);
        const wire::MailboxMessageId id = new_message_id();
        std::string sealed =
            seal_envelope(*context->user, *context->device, id, peer.device_key, payload);
        wire::MailboxPost request;
        request.message_id = id;
        request.recipients = {peer.device_key};
        request.payload = std::move(sealed);
        request.chunks = std::move(chunks);
        const std::size_t size = request.payload.size();
        // Named, not temporaries: GCC 12 destroys a co_await's temporaries twice.
        wire::Message message_to_store = std::move(request);
        std::string what = "a message for " + label;
        co_return co_await store_on_relay(relay, std::move(message_to_store), size,
                                          std::move(what));
    }

    // Sends a request that stores something (ChunkPut, MailboxPost) until
    // the relay takes it: a relay that is full (quota, disk) is asked again
    // every retry_interval; any other refusal fails.
    asio::awaitable<Result<void>> store_on_relay(std::shared_ptr<RelayClient> relay,
                                                 wire::Message request, std::size_t size,
                                                 std::string what) {
        while (open) {
            wire::Message m = request;
            auto reply = co_await relay->request(std::move(m));
            if (!reply) co_return tl::unexpected(reply.error());
            const auto* r = std::get_if<wire::RelayReply>(&*reply);
            if (r == nullptr) co_return fail(Errc::corrupt, "the relay answered wrongly for " + what);
            if (r->code == wire::RelayCode::ok) {
                out += size;
                space_ok();
                co_return Result<void>{};
            }
            if (!is_full(r->code))
                co_return fail(Errc::io, "the relay refused " + what + ": " + r->message);
            if (!co_await wait_for_space(*relay, *r)) break;
        }
        co_return fail(Errc::io, close_reason);
    }

    // Asks the engine for a chunk (a Request of the link's own) and puts it.
    asio::awaitable<Result<void>> upload(std::shared_ptr<RelayClient> relay,
                                         const std::string& folder, const ChunkRef& chunk,
                                         const wire::RelayChunkId& id) {
        const std::uint32_t request_id = next_request++;
        auto wait = std::make_shared<ChunkWait>(executor);
        chunk_waits[request_id] = wait;
        push(Inbound{nullptr, std::nullopt,
                     wire::Request{request_id, folder, chunk.hash, chunk.size}});
        co_await wait->done.wait();
        chunk_waits.erase(request_id);
        if (!open || !wait->response) co_return fail(Errc::io, close_reason);
        wire::Response& response = *wait->response;
        if (response.code != wire::ResponseCode::ok) co_return Result<void>{};  // changed since
        std::string data = std::move(response.data);
        if (response.compressed) {
            auto plain = decompress(bytes_of(data), chunk.size);
            if (!plain) co_return tl::unexpected(plain.error());
            data = std::move(*plain);
        }
        wire::ChunkPut put;
        put.chunk = id;
        put.data = keys_of(folder).seal_chunk(chunk.hash, bytes_of(data));
        const std::size_t size = put.data.size();
        wire::Message chunk_to_store = std::move(put);
        std::string what = "a chunk";
        co_return co_await store_on_relay(relay, std::move(chunk_to_store), size, std::move(what));
    }

    // The indexes of `ids` that `relay` lacks (ChunkHave, in batches).
    asio::awaitable<Result<std::vector<std::size_t>>> missing_on(
        RelayClient& relay, const std::vector<wire::RelayChunkId>& ids) {
        std::vector<std::size_t> missing;
        for (std::size_t start = 0; start < ids.size() && open; start += wire::kMaxHaveBatch) {
            const std::size_t end = std::min(ids.size(), start + wire::kMaxHaveBatch);
            wire::Message have = wire::ChunkHave{
                0, std::vector<wire::RelayChunkId>(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                                   ids.begin() + static_cast<std::ptrdiff_t>(end))};
            auto reply = co_await relay.request(std::move(have));
            if (!reply) co_return tl::unexpected(reply.error());
            const auto* present = std::get_if<wire::ChunkHaveReply>(&*reply);
            if (present == nullptr || present->present.size() != end - start)
                co_return fail(Errc::corrupt, "the relay answered ChunkHave wrongly");
            for (std::size_t i = start; i < end; ++i)
                if (!present->present[i - start]) missing.push_back(i);
        }
        co_return missing;
    }

    // Queues `message` for posting through the relay picked now, after the
    // chunks its records need that the relay lacks (an IndexUpdate's) are
    // put. Waits while kQueuedPosts messages are queued.
    asio::awaitable<Result<void>> queue_post(const wire::Message& message) {
        while (open && posts.size() >= kQueuedPosts) {
            room.reset();
            if (open && posts.size() >= kQueuedPosts) co_await room.wait();
        }
        if (!open) co_return fail(Errc::io, close_reason);
        // Counted from here: a send asking the relay what it lacks is under way.
        ++context->sends_in_progress;
        auto queued = co_await make_post(message);
        if (!queued || !open) {
            --context->sends_in_progress;
            if (!queued) co_return tl::unexpected(queued.error());
            co_return fail(Errc::io, close_reason);
        }
        std::shared_ptr<QueuedPost>& post = *queued;
        context->pending_uploads += post->uploads_left;
        posts.push_back(std::move(post));
        start_uploads();
        if (!posting) {
            posting = true;
            asio::co_spawn(executor, post_queued(shared_from_this()), asio::detached);
        }
        co_return Result<void>{};
    }

    // `message` ready for the post queue, its chunks the relay lacks (and
    // no earlier queued update puts) added to `uploads`.
    asio::awaitable<Result<std::shared_ptr<QueuedPost>>> make_post(const wire::Message& message) {
        auto post = std::make_shared<QueuedPost>(executor);
        post->message = message;
        post->relay = context->pick_relay();
        if (!post->relay) co_return fail(Errc::io, "no relay connected");
        const auto* update = std::get_if<wire::IndexUpdate>(&message);
        if (update == nullptr) {
            post->stored.fire();
            co_return post;
        }
        const std::vector<ChunkRef> chunks = needed_chunks(*update);
        const FolderRelayKeys& folder_keys = keys_of(update->folder);
        for (const ChunkRef& chunk : chunks) post->chunks.push_back(folder_keys.chunk_id(chunk.hash));
        auto missing = co_await missing_on(*post->relay, post->chunks);
        if (!missing) co_return tl::unexpected(missing.error());
        if (!open) co_return post;  // the caller sees the link closed
        for (const std::size_t i : *missing) {
            const wire::RelayChunkId& id = post->chunks[i];
            auto it = putting.find(id);
            if (it != putting.end() && it->second == post->relay.get()) continue;
            putting[id] = post->relay.get();
            uploads.push_back(Upload{post, update->folder, chunks[i], id});
            ++post->uploads_left;
        }
        if (post->uploads_left == 0) post->stored.fire();
        co_return post;
    }

    void start_uploads() {
        while (open && uploads_running < kUploadWindow && !uploads.empty()) {
            ++uploads_running;
            asio::co_spawn(executor, put_one(shared_from_this(), std::move(uploads.front())),
                           asio::detached);
            uploads.pop_front();
        }
    }

    static asio::awaitable<void> put_one(std::shared_ptr<State> self, Upload upload) {
        auto put = co_await self->upload(upload.post->relay, upload.folder, upload.chunk, upload.id);
        --self->uploads_running;
        --self->context->pending_uploads;
        self->putting.erase(upload.id);
        if (!put) {
            self->close(put.error().message);  // what the engine then reports
            co_return;
        }
        if (--upload.post->uploads_left == 0) upload.post->stored.fire();
        self->start_uploads();
    }

    // Posts the queued messages in order, each once its chunks are stored;
    // remembers how far each folder's index was posted. A failure closes
    // the link: nothing queued is posted, and the next link starts from
    // the marks saved.
    static asio::awaitable<void> post_queued(std::shared_ptr<State> self) {
        while (self->open && !self->posts.empty()) {
            const std::shared_ptr<QueuedPost> next = self->posts.front();
            co_await next->stored.wait();
            if (!self->open) break;
            std::vector<wire::RelayChunkId> chunks = next->chunks;  // named: see post's callers
            auto posted = co_await self->post(next->relay, next->message, std::move(chunks));
            if (!self->open) break;  // closed meanwhile (the device connected directly, say)
            if (!posted) {
                self->close(posted.error().message);
                break;
            }
            if (const auto* update = std::get_if<wire::IndexUpdate>(&next->message)) {
                const std::string mark = std::to_string(update->index_id) + " " +
                                         std::to_string(update->last_sequence.value);
                auto saved = self->store().set_setting(
                    relay_posted_key(self->device, update->folder), mark);
                if (!saved) {
                    self->close(saved.error().message);
                    break;
                }
            }
            self->posts.pop_front();
            --self->context->sends_in_progress;
            self->room.fire();
        }
        self->posting = false;
    }

    static asio::awaitable<void> fetch(std::shared_ptr<State> self, wire::Request request) {
        wire::Response response;
        response.id = request.id;
        response.code = wire::ResponseCode::not_found;
        if (auto relay = self->context->pick_relay()) {
            const FolderRelayKeys& folder_keys = self->keys_of(request.folder);
            wire::Message get = wire::ChunkGet{0, folder_keys.chunk_id(request.hash)};
            auto reply = co_await relay->request(std::move(get));
            const auto* data = reply ? std::get_if<wire::ChunkData>(&*reply) : nullptr;
            if (data != nullptr && data->code == wire::RelayCode::ok) {
                self->in += data->data.size();
                auto opened = self->keys_of(request.folder)
                                  .open_chunk(request.hash, bytes_of(data->data), request.size);
                if (opened) {
                    response.code = wire::ResponseCode::ok;
                    response.data = std::move(*opened);
                } else {
                    response.code = wire::ResponseCode::error;
                }
            }
        }
        if (self->open) self->push(Inbound{nullptr, std::nullopt, std::move(response)});
    }

    void close(std::string reason) {
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
};

RelayLink::RelayLink(asio::any_io_executor executor, std::shared_ptr<RelayLinkContext> context,
                     DeviceCertificate peer)
    : m_state(std::make_shared<State>(executor, std::move(context), std::move(peer))) {
    m_state->push(State::Inbound{nullptr, std::nullopt, m_state->initial_config()});
}

RelayLink::~RelayLink() { m_state->close("link dropped"); }

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
        asio::co_spawn(self->executor, State::fetch(self, *request), asio::detached);
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

void RelayLink::close(std::string reason) { m_state->close(std::move(reason)); }

bool RelayLink::is_open() const { return m_state->open; }

asio::awaitable<void> RelayLink::wait_closed() {
    auto self = m_state;
    while (self->open) co_await self->closed_signal.wait();
}

const PeerIdentity& RelayLink::peer() const { return m_state->peer; }

std::uint64_t RelayLink::bytes_in() const { return m_state->in; }

std::uint64_t RelayLink::bytes_out() const { return m_state->out; }

}  // namespace ferry
