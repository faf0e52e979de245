// LocalService::maintain(): expiry, freeing unreferenced chunks, and the
// repair of what a crash left half-done (relay/local_service.hh says why
// each order is safe).
#include "relay/local_service.hh"

namespace ferry::relay {

Result<std::vector<PublicKey>> LocalService::maintain() {
    const std::int64_t now = m_options.now_ns();
    auto expired = m_meta->expire(now, now + ns_of(m_options.max_ttl));
    if (!expired) return tl::unexpected(expired.error());
    if (auto ok = free_unreferenced(now); !ok) return tl::unexpected(ok.error());
    if (auto ok = settle_unfinished_puts(now); !ok) return tl::unexpected(ok.error());
    std::lock_guard sweeping(m_sweep_mutex);
    if (!m_last_sweep_ns || now - *m_last_sweep_ns >= ns_of(m_options.sweep_interval)) {
        if (auto ok = sweep_orphans(); !ok) return tl::unexpected(ok.error());
        if (auto ok = m_chunks->reclaim(m_options.unfinished_put_timeout); !ok) {
            return tl::unexpected(ok.error());
        }
        m_last_sweep_ns = now;
    }
    return std::move(expired->notified);
}

Result<void> LocalService::free_unreferenced(std::int64_t now) {
    const std::int64_t cutoff = now - ns_of(m_options.unreferenced_grace);
    auto chunks = m_meta->unreferenced_chunks(cutoff);
    if (!chunks) return tl::unexpected(chunks.error());
    for (const ChunkRef& ref : *chunks) {
        const std::string key = chunk_key(ref.account, ref.chunk);
        const auto lock = m_locks.exclusive(key);
        // Checked again in the dropping transaction: a post may have referred to it since.
        auto dropped = m_meta->drop_unreferenced(ref, cutoff);
        if (!dropped) return tl::unexpected(dropped.error());
        if (*dropped) {
            if (auto ok = m_chunks->remove(key); !ok) return ok;
        }
    }
    return {};
}

Result<void> LocalService::settle_unfinished_puts(std::int64_t now) {
    auto pending = m_meta->stale_pending(now - ns_of(m_options.unfinished_put_timeout));
    if (!pending) return tl::unexpected(pending.error());
    for (const ChunkRef& ref : *pending) {
        const std::string key = chunk_key(ref.account, ref.chunk);
        const auto lock = m_locks.exclusive(key);
        auto exists = m_chunks->exists(key);
        if (!exists) return tl::unexpected(exists.error());
        // The object is complete whenever it exists (renamed into place only
        // once durable): keep it; else the put never finished.
        if (*exists) {
            auto ok = m_meta->mark_stored(ref.account, std::span(&ref.chunk, 1));
            if (!ok && ok.error().code != Errc::not_found) return ok;
        } else if (auto dropped = m_meta->drop_pending(ref); !dropped) {
            return tl::unexpected(dropped.error());
        }
    }
    return {};
}

Result<void> LocalService::sweep_orphans() {
    auto keys = m_chunks->list();
    if (!keys) return tl::unexpected(keys.error());
    for (const std::string& key : *keys) {
        const auto parts = parse_chunk_key(key);
        if (!parts) continue;  // list() returns only chunk keys
        const auto lock = m_locks.exclusive(key);
        auto exists = m_meta->row_exists(ChunkRef{parts->account, parts->chunk});
        if (!exists) return tl::unexpected(exists.error());
        if (!*exists) {
            if (auto ok = m_chunks->remove(key); !ok) return ok;
        }
    }
    return {};
}

}  // namespace ferry::relay
