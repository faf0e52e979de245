// Connections and the index exchange: ClusterConfig first, then per shared
// folder the records the peer lacks, in updates of at most 1,000 records,
// then live updates; received updates are checked and stored in order. A
// ClusterConfig is sent again whenever the cluster or the folders change,
// and each one received re-matches the folders shared with that peer.
#include <algorithm>
#include <type_traits>
#include <variant>

#include "core/path_rules.hh"
#include "sync/engine_impl.hh"
#include "sync/engine_records.hh"

namespace ferry {

using engine_detail::device_label;
using engine_detail::offload;
using engine_detail::PeerFolder;
using engine_detail::Signal;

namespace {

// Resend requests beyond this many pending paths are ignored (the peer asks
// again when it sees the next delta).
constexpr std::size_t kMaxResendPaths = 10'000;

// Updates waiting to be stored: a peer sending faster than the disk keeps
// up is not read further until these are stored (memory stays bounded).
constexpr std::size_t kMaxQueuedUpdates = 4;

}  // namespace

Engine::Impl::PeerPtr Engine::Impl::find_peer(ShortId device) const {
    for (const auto& peer : peers)
        if (peer->short_id == device && !peer->closed) return peer;
    return nullptr;
}

void Engine::Impl::add_peer(PeerPtr peer) {
    if (stopped) {
        peer->connection->close("device is shutting down");
        return;
    }
    if (auto old = find_peer(peer->short_id)) drop_peer(old, "replaced by a newer connection");
    peers.push_back(peer);
    spawn(run_peer(std::move(peer)));
}

asio::awaitable<void> Engine::Impl::send(PeerPtr peer, wire::Message message) {
    if (peer->closed) co_return;
    auto sent = co_await peer->connection->send(message);
    if (!sent) drop_peer(peer, sent.error().message);
}

void Engine::Impl::drop_peer(const PeerPtr& peer, const std::string& reason) {
    if (peer->closed) return;
    peer->closed = true;
    peer->connection->close(reason);
    for (auto& [id, pending] : peer->pending) {
        pending->result =
            fail(Errc::io, device_label(peer->device) + ": the connection closed (" + reason + ")");
        pending->done->fire();
    }
    peer->pending.clear();
    peer->requested_bytes = 0;
    for (auto& [id, pf] : peer->folders) pf.wake->fire();
    std::erase(peers, peer);
    for (const auto& [id, folder] : folders)
        if (peer->folders.count(id) != 0) mark_progress_stale(folder);
    check_in_sync();
}

asio::awaitable<void> Engine::Impl::send_cluster_config(PeerPtr peer) {
    const std::uint64_t generation = ++peer->config_generation;
    wire::ClusterConfig config =
        peer->cluster_config ? peer->cluster_config() : wire::ClusterConfig{};
    config.folders.clear();
    std::vector<std::pair<std::string, std::uint64_t>> shared;
    for (const auto& [id, folder] : folders)
        if (folder->fs) shared.emplace_back(id, folder->index_id);
    auto work = [&s = store, shared, device = peer->short_id] {
        std::vector<Result<PeerIndexState>> out;
        for (const auto& [id, index_id] : shared) out.push_back(s.peer_index_state(id, device));
        return out;
    };
    auto states = co_await offload(workers, std::move(work));
    // A later change asked for a newer config: only the newest is sent.
    if (generation != peer->config_generation) co_return;
    for (std::size_t i = 0; i < shared.size(); ++i) {
        wire::FolderState state{shared[i].first, shared[i].second, 0, Sequence{}};
        if (states[i]) {
            state.peer_index_id = states[i]->index_id;
            state.peer_max_sequence = states[i]->max_sequence;
        }
        config.folders.push_back(std::move(state));
    }
    std::set<std::string> announced;
    for (const auto& [id, index_id] : shared) announced.insert(id);
    co_await send(peer, std::move(config));
    if (peer->closed) co_return;
    peer->announced = std::move(announced);
    for (const auto& [id, pf] : peer->folders)
        if (auto folder = pf.folder.lock(); folder && peer->announced.count(id) != 0)
            start_index_sender(peer, folder);
}

asio::awaitable<void> Engine::Impl::run_peer(PeerPtr peer) {
    co_await send_cluster_config(peer);
    while (!peer->closed && !stopped) {
        // Back-pressure: stop reading while the store is behind.
        while (peer->index_queue.size() >= kMaxQueuedUpdates && !peer->closed) {
            Timer pause(io, std::chrono::milliseconds(5));
            co_await pause.async_wait(asio::use_awaitable);
        }
        auto message = co_await peer->connection->receive();
        if (peer->closed || stopped) break;
        if (!message) {
            drop_peer(peer, message.error().message);
            break;
        }
        if (!peer->config_received && !std::holds_alternative<wire::ClusterConfig>(*message)) {
            drop_peer(peer, std::string("protocol error: ") +
                                wire::message_type_name(wire::message_type(*message)) +
                                " before ClusterConfig");
            break;
        }
        std::visit(
            [&](auto& m) {
                using T = std::decay_t<decltype(m)>;
                if constexpr (std::is_same_v<T, wire::ClusterConfig>)
                    on_cluster_config(peer, m);
                else if constexpr (std::is_same_v<T, wire::IndexUpdate>)
                    on_index_update(peer, std::move(m));
                else if constexpr (std::is_same_v<T, wire::Request>)
                    on_request(peer, std::move(m));
                else if constexpr (std::is_same_v<T, wire::Response>)
                    on_response(peer, std::move(m));
                else if constexpr (std::is_same_v<T, wire::ResendRequest>)
                    on_resend_request(peer, m);
                else if constexpr (std::is_same_v<T, wire::Close>)
                    drop_peer(peer, "closed by the peer: " + printable_path(m.reason));
                else if constexpr (std::is_same_v<T, wire::Ping>)
                    ;
                else
                    drop_peer(peer, std::string("protocol error: unexpected ") +
                                        wire::message_type_name(wire::message_type(*message)));
            },
            *message);
    }
}

void Engine::Impl::on_cluster_config(const PeerPtr& peer, const wire::ClusterConfig& config) {
    if (peer->on_cluster_config) peer->on_cluster_config(config);
    if (peer->closed) return;  // the cluster refused it
    peer->config_received = true;
    peer->remote_folders.clear();
    for (const wire::FolderState& state : config.folders) peer->remote_folders[state.id] = state;
    update_shared(peer);
    check_in_sync();
}

void Engine::Impl::update_shared(const PeerPtr& peer) {
    for (auto it = peer->folders.begin(); it != peer->folders.end();) {
        auto folder = find_folder(it->first);
        // Gone on either side, or our folder was replaced (moved, new mode).
        if (peer->remote_folders.count(it->first) == 0 || !folder ||
            it->second.folder.lock() != folder) {
            it->second.wake->fire();  // its sender sees the entry gone and ends
            if (folder) mark_progress_stale(folder);
            it = peer->folders.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [id, state] : peer->remote_folders) {
        auto folder = find_folder(id);
        if (!folder || !folder->fs || peer->folders.count(id) != 0) continue;
        PeerFolder pf;
        // What the peer said it has of this folder (when it last sent a
        // ClusterConfig): at worst too little, and records are sent again.
        if (state.peer_index_id == folder->index_id) pf.sent = state.peer_max_sequence;
        pf.wake = std::make_shared<Signal>(io.get_executor());
        pf.folder = folder;
        peer->folders.emplace(id, std::move(pf));
        if (peer->announced.count(id) != 0) start_index_sender(peer, folder);
        // Steps that waited for a source may find it on this peer.
        std::vector<std::string> waiting;
        for (const auto& [path, bytes] : folder->needed) waiting.push_back(path);
        touch(folder, waiting);
        mark_progress_stale(folder);
    }
}

void Engine::Impl::cluster_changed() {
    for (const auto& peer : peers)
        if (!peer->closed) spawn(send_cluster_config(peer));
}

void Engine::Impl::start_index_sender(const PeerPtr& peer, const FolderPtr& folder) {
    auto& pf = peer->folders.at(folder->folder.id);
    if (pf.sending) return;
    pf.sending = true;
    spawn(send_index(peer, folder));
}

asio::awaitable<void> Engine::Impl::send_index(PeerPtr peer, FolderPtr folder) {
    const std::string id = folder->folder.id;
    // The entry this sender serves: one made after it was dropped (the
    // folder shared again) has its own sender.
    const std::shared_ptr<Signal> own_wake = peer->folders.at(id).wake;
    auto current = [&]() -> PeerFolder* {
        if (peer->closed || folder->removed || stopped) return nullptr;
        auto it = peer->folders.find(id);
        return it == peer->folders.end() || it->second.wake != own_wake ? nullptr : &it->second;
    };
    while (PeerFolder* pf = current()) {
        auto wake = pf->wake;
        wake->reset();
        if (!pf->resend.empty()) {
            std::vector<std::string> paths(pf->resend.begin(), pf->resend.end());
            pf->resend.clear();
            auto work2 = [&s = store, id, index_id = folder->index_id, paths, sent = pf->sent] {
                return engine_detail::collect_resend(s, id, index_id, paths, sent);
            };
            auto update = co_await offload(workers, std::move(work2));
            if (!update) {
                drop_peer(peer, "folder " + id + ": " + update.error().message);
                break;
            }
            if (!update->records.empty()) co_await send(peer, std::move(*update));
            continue;
        }
        const Sequence after = pf->sent;
        auto work3 = [&s = store, id, index_id = folder->index_id, device = peer->short_id, after,
                      mode = folder->folder.mode, local = local] {
            return engine_detail::collect_outgoing(s, id, index_id, device, after, mode, local);
        };
        auto batch = co_await offload(workers, std::move(work3));
        if (!batch) {
            drop_peer(peer, "folder " + id + ": " + batch.error().message);
            break;
        }
        if (batch->last == after) {
            co_await wake->wait();
            continue;
        }
        if (!batch->update.records.empty()) co_await send(peer, std::move(batch->update));
        if (PeerFolder* now = current()) now->sent = std::max(now->sent, batch->last);
    }
    auto it = peer->folders.find(id);
    if (it != peer->folders.end()) it->second.sending = false;
}

void Engine::Impl::local_index_changed(const FolderPtr& folder) {
    for (const auto& peer : peers) {
        auto it = peer->folders.find(folder->folder.id);
        if (it != peer->folders.end()) it->second.wake->fire();
    }
    mark_progress_stale(folder);
}

void Engine::Impl::on_resend_request(const PeerPtr& peer, const wire::ResendRequest& request) {
    auto it = peer->folders.find(request.folder);
    if (it == peer->folders.end()) return;
    for (const std::string& path : request.paths) {
        if (it->second.resend.size() >= kMaxResendPaths) break;
        it->second.resend.insert(path);
    }
    it->second.wake->fire();
}

void Engine::Impl::on_index_update(const PeerPtr& peer, wire::IndexUpdate update) {
    peer->index_queue.push_back(std::move(update));
    if (peer->storing_index) return;
    peer->storing_index = true;
    spawn(store_index_updates(peer));
}

asio::awaitable<void> Engine::Impl::store_index_updates(PeerPtr peer) {
    const std::string label = device_label(peer->device);
    while (!peer->index_queue.empty() && !peer->closed && !stopped) {
        wire::IndexUpdate update = std::move(peer->index_queue.front());
        peer->index_queue.pop_front();
        auto folder = find_folder(update.folder);
        if (!folder || !folder->fs || peer->folders.count(update.folder) == 0)
            continue;  // not shared
        auto work4 = [&s = store, id = folder->folder.id, device = peer->short_id, label,
                      a = peer->folders.at(update.folder).awaited, u = std::move(update)] {
            return engine_detail::absorb_update(s, id, device, label, u, a);
        };
        auto absorbed = co_await offload(workers, std::move(work4));
        if (folder->removed) continue;
        if (!absorbed) {
            folder->problems[""] =
                "storing the index of " + label + ": " + absorbed.error().message;
            continue;
        }
        if (auto shared = peer->folders.find(folder->folder.id); shared != peer->folders.end())
            shared->second.awaited = std::move(absorbed->awaited);
        for (PathProblem& problem : absorbed->problems)
            folder->problems[problem.path] = std::move(problem.message);
        for (const std::string& path : absorbed->stored) folder->problems.erase(path);
        if (!absorbed->resend.empty())
            spawn(send(peer, wire::ResendRequest{folder->folder.id, std::move(absorbed->resend)}));
        if (absorbed->replaced_index)
            plan_everything(folder);
        else
            touch(folder, absorbed->touched);
        mark_progress_stale(folder);
    }
    peer->storing_index = false;
    peer->index_queue.clear();
}

}  // namespace ferry
