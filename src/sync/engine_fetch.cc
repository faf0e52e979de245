// Building a file: the FolderWriter starts it from local chunks (a rename or
// copy moves nothing over the network); each chunk still missing is
// requested from the connected source that has the fewest bytes requested
// already, within the engine's pull window, verified by the FileAssembly,
// and asked of the next source if the answer is missing, late or wrong.
#include <cstdio>
#include <mutex>

#include "core/path_rules.hh"
#include "core/compression.hh"
#include "sync/engine_impl.hh"
#include "sync/engine_steps.hh"

namespace ferry {

using engine_detail::device_label;
using engine_detail::offload;
using engine_detail::PendingRequest;
using engine_detail::PlannedStep;
using engine_detail::SharedAssembly;
using engine_detail::Signal;

namespace {

struct Begun {
    std::vector<FileUpdate> copies;  // a conflict copy's record
    std::optional<Error> failed;     // the file could not be begun (after the copy was made)
    std::shared_ptr<SharedAssembly> file;
    std::vector<std::size_t> missing;
};

std::string timeout_message(const DeviceId& device, std::chrono::milliseconds timeout) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%g", static_cast<double>(timeout.count()) / 1000.0);
    return device_label(device) + ": no answer within " + seconds + " s";
}

// Calls its function once: at release(), or else when destroyed (so every
// way out of a coroutine calls it).
class CallOnce {
public:
    explicit CallOnce(std::function<void()> fn) : m_fn(std::move(fn)) {}
    ~CallOnce() { release(); }
    CallOnce(const CallOnce&) = delete;
    CallOnce& operator=(const CallOnce&) = delete;
    void release() {
        if (m_fn) std::exchange(m_fn, {})();
    }

private:
    std::function<void()> m_fn;
};

struct FetchState {
    std::size_t running = 0;
    std::optional<Error> error;
    std::shared_ptr<Signal> changed;
};

}  // namespace

asio::awaitable<Result<std::vector<FileUpdate>>> Engine::Impl::write_file(
    FolderPtr folder, PlannedStep planned, std::function<void()> fetched) {
    CallOnce fetch_done(std::move(fetched));
    auto work = [f = folder, &s = store, p = planned, device = local]() -> Result<Begun> {
        Begun out;
        if (auto prepared =
                engine_detail::prepare_step(*f->writer, s, f->folder.id, p, device,
                                            f->folder.mode, out.copies);
            !prepared)
            return tl::unexpected(prepared.error());
        auto assembly = f->writer->begin_file(p.step.target);
        if (!assembly) {
            out.failed = assembly.error();
            return out;
        }
        out.missing = (*assembly)->missing();
        out.file = std::make_shared<SharedAssembly>();
        out.file->assembly = std::move(*assembly);
        return out;
    };
    auto begun = co_await offload(workers, std::move(work));
    if (!begun) co_return tl::unexpected(begun.error());
    // The conflict copy is made: keep its record even if the file cannot be
    // begun or fetched (engine_steps.hh apply_local_step says why).
    for (FileUpdate& copy : begun->copies) folder->applied.push_back(std::move(copy));
    if (begun->failed) co_return tl::unexpected(*begun->failed);
    // No copy is made when one there has seen this content already.
    const bool copied_away = !begun->copies.empty();

    const FileRecord& target = planned.step.target;
    std::set<ChunkHash> requested;  // the assembly writes every chunk with the same hash at once
    auto state = std::make_shared<FetchState>();
    state->changed = std::make_shared<Signal>(io.get_executor());
    for (std::size_t index : begun->missing) {
        const ChunkRef chunk = target.chunks.at(index);
        if (!requested.insert(chunk.hash).second) continue;
        co_await window.acquire(chunk.size);
        if (state->error || stopped || folder->removed) {
            window.release(chunk.size);
            break;
        }
        ++state->running;
        spawn([](std::shared_ptr<Impl> self, FolderPtr f, std::shared_ptr<SharedAssembly> file,
                 std::string p, std::size_t i, ChunkRef c, std::vector<ShortId> sources,
                 std::shared_ptr<FetchState> st) -> asio::awaitable<void> {
            auto fetched =
                co_await self->fetch_chunk(f, file, p, i, c, std::move(sources));
            self->window.release(c.size);
            if (fetched) {
                f->received.add(c.size, self->clock.now_ns());
                // What is left of the file to fetch (status: bytes still needed).
                if (auto need = f->needed.find(p); need != f->needed.end())
                    need->second -= std::min<std::uint64_t>(need->second, c.size);
            } else if (!st->error) {
                st->error = fetched.error();
            }
            --st->running;
            st->changed->fire();
        }(shared_from_this(), folder, begun->file, target.path, index, chunk, planned.step.sources,
                                                 state));
    }
    while (state->running > 0) {
        state->changed->reset();
        co_await state->changed->wait();
    }
    if (state->error) co_return tl::unexpected(*state->error);
    if (stopped) co_return fail(Errc::io, "engine stopped");

    auto work2 = [file = begun->file]() -> Result<void> {
        std::lock_guard lock(file->mutex);
        return file->assembly->finish();
    };
    auto finished = co_await offload(workers, std::move(work2));
    fetch_done.release();
    if (!finished) co_return tl::unexpected(finished.error());
    std::optional<FileRecord> expected;
    if (!copied_away) expected = planned.local;
    std::string path = target.path;
    auto published =
        co_await publish_file(folder, begun->file, std::move(path), std::move(expected));
    if (!published) co_return tl::unexpected(published.error());
    std::vector<FileUpdate> out;
    out.push_back(engine_detail::applied_record(target, *published));
    co_return out;
}

asio::awaitable<Result<void>> Engine::Impl::fetch_chunk(FolderPtr folder,
                                                        std::shared_ptr<SharedAssembly> file,
                                                        std::string path, std::size_t index,
                                                        ChunkRef chunk,
                                                        std::vector<ShortId> sources) {
    const std::string id = folder->folder.id;
    std::set<ShortId> tried;
    std::string last_error = "no connected device has it";
    while (!stopped && !folder->removed) {
        PeerPtr best;
        for (ShortId source : sources) {
            if (tried.count(source) != 0) continue;
            PeerPtr peer = find_peer(source);
            if (!peer || peer->folders.count(id) == 0) continue;
            // Online devices before a relay; then the least busy.
            const auto rank = [](const PeerPtr& p) {
                return std::make_pair(p->connection->relayed(), p->requested_bytes);
            };
            if (!best || rank(peer) < rank(best)) best = peer;
        }
        if (!best) break;
        tried.insert(best->short_id);
        auto pending = std::make_shared<PendingRequest>();
        pending->done = std::make_shared<Signal>(io.get_executor());
        std::uint32_t request_id = best->next_request_id++;
        if (request_id == 0) request_id = best->next_request_id++;
        best->pending[request_id] = pending;
        best->requested_bytes += chunk.size;
        wire::Message request = wire::Request{request_id, id, chunk.hash, chunk.size};
        // The request races a timer: on expiry it is withdrawn (unless its
        // answer came first), so a silent peer delays the chunk, never stalls it.
        Timer deadline(io, options.request_timeout);
        deadline.async_wait([peer = best, request_id, pending,
                             label = timeout_message(best->device, options.request_timeout)](
                                asio::error_code error) {
            if (error) return;  // answered or cancelled
            auto it = peer->pending.find(request_id);
            if (it == peer->pending.end() || it->second != pending) return;
            peer->pending.erase(it);
            pending->result = fail(Errc::io, label);
            pending->done->fire();
        });
        co_await send(best, std::move(request));
        co_await pending->done->wait();
        deadline.cancel();
        if (!best->closed)
            best->requested_bytes -= std::min<std::uint64_t>(best->requested_bytes, chunk.size);
        Result<wire::Response>& response = *pending->result;
        const std::string from = device_label(best->device);
        if (!response) {
            last_error = response.error().message;
            continue;
        }
        if (response->code != wire::ResponseCode::ok) {
            last_error = from + " does not have it";
            continue;
        }
        std::string data = std::move(response->data);
        if (response->compressed) {
            auto plain = decompress(
                {reinterpret_cast<const std::uint8_t*>(data.data()), data.size()}, chunk.size);
            if (!plain) {
                last_error = from + " sent a bad compressed chunk: " + plain.error().message;
                folder->problems[path] = last_error;
                continue;
            }
            data = std::move(*plain);
        }
        auto work3 = [file, index, d = std::move(data)] {
            std::lock_guard lock(file->mutex);
            return file->assembly->put_chunk(
                index, std::span<const std::uint8_t>(
                           reinterpret_cast<const std::uint8_t*>(d.data()), d.size()));
        };
        auto put = co_await offload(workers, std::move(work3));
        if (put) co_return Result<void>{};
        if (put.error().code != Errc::corrupt) co_return tl::unexpected(put.error());
        last_error = from + " sent wrong data for chunk " + std::to_string(index) + ": " +
                     put.error().message;
        folder->problems[path] = last_error;
    }
    co_return fail(Errc::not_found, printable_path(path) + ": chunk " + std::to_string(index) +
                                        " (" + chunk.hash.hex().substr(0, 16) +
                                        ") could not be fetched: " + last_error);
}

void Engine::Impl::on_response(const PeerPtr& peer, wire::Response response) {
    auto it = peer->pending.find(response.id);
    if (it == peer->pending.end()) return;  // late or unasked: nothing waits for it
    auto pending = it->second;
    peer->pending.erase(it);
    pending->result = std::move(response);
    pending->done->fire();
}

}  // namespace ferry
