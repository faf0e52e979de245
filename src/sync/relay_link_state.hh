// RelayLink's state (sync/relay_link.hh), shared by relay_link.cc (the
// connection: what it gives the engine, acknowledgements, fetching) and
// relay_link_posts.cc (the post queue and the chunk uploads before each
// post). Thread rule: as RelayLink's, everything on the io_context's
// thread. Private to src/sync.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "crypto/relay_seal.hh"
#include "net/async.hh"
#include "net/monotonic_time.hh"
#include "sync/relay_link.hh"

namespace ferry {

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
    std::deque<wire::Request> gets;  // waiting for a ChunkGet
    std::size_t getters = 0;         // get_loop()s running
    bool get_start_posted = false;
    // The post queue (each entry counted in context->sends_in_progress until
    // it leaves), the chunks waiting to be put (each counted in
    // context->pending_uploads until its put ends), the puts running, and the chunks
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

    const FolderRelayKeys& keys_of(const std::string& folder);

    void push(Inbound item);

    // The device's last ClusterConfig, with what was posted since.
    wire::ClusterConfig initial_config();

    // Whether the store holds what `update` says: the peer's index state
    // reaches its last sequence, and each of its records is stored (or a
    // later one of its path). An update answering a ResendRequest repeats
    // records below that sequence which the store lacks (their delta had
    // no base here): those still go to the engine.
    bool covered(const wire::IndexUpdate& update);

    void add_ack(PendingAck ack);

    static asio::awaitable<void> ack_loop(std::shared_ptr<State> self);

    // Waits before retrying a store the relay refused for lack of space.
    asio::awaitable<bool> wait_for_space(const RelayClient& relay, const wire::RelayReply& reply);

    void space_ok();

    asio::awaitable<Result<void>> post(std::shared_ptr<RelayClient> relay,
                                       const wire::Message& message,
                                       std::vector<wire::RelayChunkId> chunks);

    // Sends a request that stores something (ChunkPut, MailboxPost) until
    // the relay takes it: a relay that is full (quota, disk) is asked again
    // every retry_interval; any other refusal fails.
    asio::awaitable<Result<void>> store_on_relay(std::shared_ptr<RelayClient> relay,
                                                 wire::Message request, std::size_t size,
                                                 std::string what);

    // Asks the engine for the chunks of `batch` (Requests of the link's
    // own), seals them and puts them in one ChunkPut; a chunk the engine no
    // longer has (changed since) is left out.
    asio::awaitable<Result<void>> upload(std::shared_ptr<RelayClient> relay,
                                         const std::vector<Upload>& batch);

    // The indexes of `ids` that `relay` lacks (ChunkHave, in batches).
    asio::awaitable<Result<std::vector<std::size_t>>> missing_on(
        RelayClient& relay, const std::vector<wire::RelayChunkId>& ids);

    // Queues `message` for posting through the relay picked now, after the
    // chunks its records need that the relay lacks (an IndexUpdate's) are
    // put. Waits while kQueuedPosts messages are queued.
    asio::awaitable<Result<void>> queue_post(const wire::Message& message);

    // `message` ready for the post queue, its chunks the relay lacks (and
    // no earlier queued update puts) added to `uploads`.
    asio::awaitable<Result<std::shared_ptr<QueuedPost>>> make_post(const wire::Message& message);

    // Starts puts of the waiting uploads, in batches, while fewer than
    // kPutsInFlight are under way.
    void start_uploads();

    static asio::awaitable<void> put_batch(std::shared_ptr<State> self, std::vector<Upload> batch);

    // Posts the queued messages in order, each once its chunks are stored;
    // remembers how far each folder's index was posted. A failure closes
    // the link: nothing queued is posted, and the next link starts from
    // the marks saved.
    static asio::awaitable<void> post_queued(std::shared_ptr<State> self);

    // The engine's Requests for chunks, answered from the relay: queued,
    // then fetched in ChunkGets of up to wire::kMaxGetBatch chunks by up to
    // kGetsInFlight get_loop()s.
    void queue_get(wire::Request request);
    static asio::awaitable<void> get_loop(std::shared_ptr<State> self);
    // One ChunkGet for `batch`; a Response for each (not_found when the
    // relay lacks the chunk or fails, error when it does not open).
    asio::awaitable<void> fetch(std::vector<wire::Request> batch);

    void close(std::string reason);
};

}  // namespace ferry
