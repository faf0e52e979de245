// Answering chunk requests: from a local file of the requested folder that
// the index says holds the chunk, read and verified again (the file may
// have changed since it was scanned), zstd-compressed when smaller (not
// for a relay link, which compresses what it seals: sync/relay_link.hh). A few
// reads run at once per peer; a peer with more requests queued than any
// honest window produces is disconnected.
#include "core/chunk_hash.hh"
#include "core/compression.hh"
#include "sync/engine_impl.hh"

namespace ferry {

using engine_detail::offload;

namespace {

constexpr std::size_t kParallelReads = 4;
constexpr std::size_t kMaxQueuedRequests = 16'384;
constexpr std::size_t kLocationsTried = 8;

wire::Response read_chunk(Store& store, Filesystem& fs, const wire::Request& request,
                          bool compress) {
    wire::Response response{request.id, wire::ResponseCode::not_found, false, {}};
    if (request.size == 0 || request.size > kMaxChunkSize) {
        response.code = wire::ResponseCode::error;
        return response;
    }
    auto locations = store.find_chunk(request.hash, kLocationsTried);
    if (!locations) {
        response.code = wire::ResponseCode::error;
        return response;
    }
    // Read straight into the response: the chunk is not copied again.
    std::string& data = response.data;
    data.resize(request.size);
    const std::span buffer(reinterpret_cast<std::uint8_t*>(data.data()), data.size());
    for (const ChunkLocation& location : *locations) {
        if (location.folder_id != request.folder || location.size != request.size) continue;
        auto file = fs.open_read(location.path);
        if (!file) continue;
        std::size_t filled = 0;
        while (filled < buffer.size()) {
            auto got = (*file)->read_at(location.offset + filled, buffer.subspan(filled));
            if (!got || *got == 0) break;
            filled += *got;
        }
        if (filled != buffer.size() || hash_chunk(buffer) != request.hash) continue;
        response.code = wire::ResponseCode::ok;
        if (auto packed = compress ? compress_if_smaller(buffer) : std::nullopt) {
            response.compressed = true;
            data = std::move(*packed);
        }
        return response;
    }
    data.clear();  // not found: no data
    return response;
}

}  // namespace

void Engine::Impl::on_request(const PeerPtr& peer, wire::Request request) {
    if (peer->serve_queue.size() >= kMaxQueuedRequests) {
        drop_peer(peer, "protocol error: more than " + std::to_string(kMaxQueuedRequests) +
                            " chunk requests outstanding");
        return;
    }
    peer->serve_queue.push_back(std::move(request));
    serve_next(peer);
}

void Engine::Impl::serve_next(const PeerPtr& peer) {
    while (peer->serving < kParallelReads && !peer->serve_queue.empty() && !peer->closed) {
        ++peer->serving;
        wire::Request request = std::move(peer->serve_queue.front());
        peer->serve_queue.pop_front();
        spawn(serve(peer, std::move(request)));
    }
}

asio::awaitable<void> Engine::Impl::serve(PeerPtr peer, wire::Request request) {
    wire::Response response{request.id, wire::ResponseCode::not_found, false, {}};
    auto folder = find_folder(request.folder);
    // Only folders this peer shares: a device sees no other folder's data.
    if (folder && folder->fs && peer->folders.count(request.folder) != 0) {
        auto work = [f = folder, &s = store, r = std::move(request),
                     compress = !peer->connection->relayed()] {
            return read_chunk(s, *f->fs, r, compress);
        };
        response = co_await offload(workers, std::move(work));
        folder->last_served = MonotonicClock::now();  // a peer still pulls: see maybe_evaluate
    }
    co_await send(peer, std::move(response));
    --peer->serving;
    serve_next(peer);
}

}  // namespace ferry
