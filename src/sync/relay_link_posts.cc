// RelayLink's post queue: what the engine sends through the relay is
// queued, the chunks each index update needs are put first (ChunkHave, then
// batched ChunkPuts over all queued updates), and the messages are
// posted in the order sent (sync/relay_link.hh).
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "core/byte_size.hh"
#include "core/bytes.hh"
#include "core/compression.hh"
#include "crypto/mailbox_envelope.hh"
#include "sync/relay_link_state.hh"

#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry {

namespace {

// Chunks go to the relay in ChunkPuts of up to kPutBatchChunks chunks and
// (beyond the first chunk) kPutBatchBytes of chunk data, well inside the
// protocol's limits (wire::kMaxPutBatch, kMaxPutBytes: sealing adds at most
// an eighth and a few bytes), with up to kPutsInFlight of them under way
// over one link, over all its queued index updates. A ChunkPut of many
// small chunks costs the relay one request, one reservation and one sync.
constexpr std::size_t kPutBatchChunks = 32;
constexpr std::uint64_t kPutBatchBytes = 1u << 20;
constexpr std::size_t kPutsInFlight = 4;
static_assert(kPutBatchChunks <= wire::kMaxPutBatch);
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

asio::awaitable<bool> RelayLink::State::wait_for_space(const RelayClient& relay,
                                                       const wire::RelayReply& reply) {
    if (context->report) context->report(full_problem(relay, reply, context->retry_interval));
    retry_timer.expires_after(context->retry_interval);
    std::error_code ec;
    co_await retry_timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    co_return open;
}

void RelayLink::State::space_ok() {
    if (context->report) context->report("");
}

asio::awaitable<Result<void>> RelayLink::State::post(std::shared_ptr<RelayClient> relay,
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
    co_return co_await store_on_relay(relay, std::move(message_to_store), size, std::move(what));
}

asio::awaitable<Result<void>> RelayLink::State::store_on_relay(std::shared_ptr<RelayClient> relay,
                                                               wire::Message request,
                                                               std::size_t size, std::string what) {
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

asio::awaitable<Result<void>> RelayLink::State::upload(std::shared_ptr<RelayClient> relay,
                                                       const std::vector<Upload>& batch) {
    // Every chunk asked for at once, so the engine reads them side by side.
    std::vector<std::pair<std::uint32_t, std::shared_ptr<ChunkWait>>> waits;
    for (const Upload& upload : batch) {
        const std::uint32_t request_id = next_request++;
        auto wait = std::make_shared<ChunkWait>(executor);
        chunk_waits[request_id] = wait;
        waits.emplace_back(request_id, wait);
        push(Inbound{
            nullptr, std::nullopt,
            wire::Request{request_id, upload.folder, upload.chunk.hash, upload.chunk.size}});
    }
    struct Forget {
        State& state;
        const std::vector<std::pair<std::uint32_t, std::shared_ptr<ChunkWait>>>& waits;
        ~Forget() {
            for (const auto& [id, wait] : waits) state.chunk_waits.erase(id);
        }
    } forget{*this, waits};
    wire::ChunkPut put;
    std::size_t size = 0;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        co_await waits[i].second->done.wait();
        if (!open || !waits[i].second->response) co_return fail(Errc::io, close_reason);
        wire::Response& response = *waits[i].second->response;
        if (response.code != wire::ResponseCode::ok) continue;  // changed since
        std::string data = std::move(response.data);
        if (response.compressed) {
            auto plain = decompress(bytes_of(data), batch[i].chunk.size);
            if (!plain) co_return tl::unexpected(plain.error());
            data = std::move(*plain);
        }
        const Upload& upload = batch[i];
        std::string sealed = keys_of(upload.folder).seal_chunk(upload.chunk.hash, bytes_of(data));
        size += sealed.size();
        put.chunks.push_back(wire::SealedChunk{upload.id, std::move(sealed)});
    }
    if (put.chunks.empty()) co_return Result<void>{};
    std::string what = put.chunks.size() == 1 ? std::string("a chunk")
                                              : std::to_string(put.chunks.size()) + " chunks";
    wire::Message chunks_to_store = std::move(put);
    co_return co_await store_on_relay(relay, std::move(chunks_to_store), size, std::move(what));
}

asio::awaitable<Result<std::vector<std::size_t>>> RelayLink::State::missing_on(
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

asio::awaitable<Result<void>> RelayLink::State::queue_post(const wire::Message& message) {
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

asio::awaitable<Result<std::shared_ptr<RelayLink::State::QueuedPost>>> RelayLink::State::make_post(
    const wire::Message& message) {
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

void RelayLink::State::start_uploads() {
    while (open && uploads_running < kPutsInFlight && !uploads.empty()) {
        // The next uploads for the same relay, up to a batch.
        std::vector<Upload> batch;
        std::uint64_t bytes = 0;
        const RelayClient* relay = uploads.front().post->relay.get();
        while (!uploads.empty() && batch.size() < kPutBatchChunks &&
               uploads.front().post->relay.get() == relay &&
               (batch.empty() || bytes + uploads.front().chunk.size <= kPutBatchBytes)) {
            bytes += uploads.front().chunk.size;
            batch.push_back(std::move(uploads.front()));
            uploads.pop_front();
        }
        ++uploads_running;
        asio::co_spawn(executor, put_batch(shared_from_this(), std::move(batch)), asio::detached);
    }
}

asio::awaitable<void> RelayLink::State::put_batch(std::shared_ptr<State> self,
                                                  std::vector<Upload> batch) {
    auto relay = batch.front().post->relay;
    auto put = co_await self->upload(relay, batch);
    --self->uploads_running;
    self->context->pending_uploads -= batch.size();
    for (const Upload& upload : batch) self->putting.erase(upload.id);
    if (!put) {
        self->close(put.error().message);  // what the engine then reports
        co_return;
    }
    for (const Upload& upload : batch)
        if (--upload.post->uploads_left == 0) upload.post->stored.fire();
    self->start_uploads();
}

asio::awaitable<void> RelayLink::State::post_queued(std::shared_ptr<State> self) {
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
            auto saved =
                self->store().set_setting(relay_posted_key(self->device, update->folder), mark);
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

}  // namespace ferry
