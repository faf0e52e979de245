#include "sync/engine_records.hh"

#include <algorithm>

#include "core/chunk_delta.hh"
#include "core/ignore.hh"
#include "core/path_rules.hh"

namespace ferry::engine_detail {

namespace {

// Lists shorter than this go whole: a delta could not save enough to matter.
constexpr std::size_t kMinChunksForDelta = 4;

// Approximate msgpack cost of a delta: digest, then per run two integers
// and the inserted chunks (hash + size).
std::size_t delta_bytes(const ChunkDelta& delta) {
    std::size_t bytes = 20;
    for (const DeltaRun& run : delta.runs) bytes += 12 + run.insert.size() * 38;
    return bytes;
}

bool live_file(const FileRecord& record) {
    return record.kind == FileKind::file && !record.deleted;
}

}  // namespace

Result<wire::WireRecord> to_wire(Store& store, const std::string& folder_id, ShortId peer,
                                 const FileRecord& record) {
    wire::WireRecord out{record, std::nullopt};
    if (!live_file(record) || record.chunks.size() < kMinChunksForDelta) return out;
    auto base = store.announced_file(folder_id, peer, record.path);
    if (!base) return tl::unexpected(base.error());
    if (!*base || !live_file(**base) || (*base)->chunks.empty()) return out;
    ChunkDelta delta = make_chunk_delta((*base)->chunks, record.chunks);
    const std::size_t whole = encode_chunk_list(record.chunks).size() + 4;
    if (delta_bytes(delta) >= whole) return out;
    out.record.chunks.clear();
    out.delta = std::move(delta);
    return out;
}

Result<Outgoing> collect_outgoing(Store& store, const std::string& folder_id,
                                  std::uint64_t index_id, ShortId peer, Sequence after,
                                  FolderMode mode, ShortId local) {
    auto records = store.files_since(folder_id, after, kRecordsPerUpdate);
    if (!records) return tl::unexpected(records.error());
    Outgoing out;
    out.last = records->empty() ? after : records->back().sequence;
    out.update.folder = folder_id;
    out.update.index_id = index_id;
    out.update.last_sequence = out.last;
    for (const FileRecord& record : *records) {
        if (mode == FolderMode::receive_only && record.modified_by == local) continue;
        auto wired = to_wire(store, folder_id, peer, record);
        if (!wired) return tl::unexpected(wired.error());
        out.update.records.push_back(std::move(*wired));
    }
    return out;
}

Result<wire::IndexUpdate> collect_resend(Store& store, const std::string& folder_id,
                                         std::uint64_t index_id,
                                         const std::vector<std::string>& paths, Sequence sent) {
    wire::IndexUpdate update;
    update.folder = folder_id;
    update.index_id = index_id;
    update.last_sequence = sent;
    for (const std::string& path : paths) {
        auto record = store.get_file(folder_id, path);
        if (!record) return tl::unexpected(record.error());
        // Only records the peer has been sent already: later ones follow in order.
        if (*record && (*record)->sequence <= sent)
            update.records.push_back({std::move(**record), std::nullopt});
    }
    return update;
}

std::optional<std::string> record_problem(const FileRecord& record) {
    auto normal = normalize_path(record.path);
    if (!normal) return normal.error().message;
    if (*normal != record.path) return "name is not in Unicode NFC form";
    if (is_internal_path(record.path))
        return "is a name ferry never syncs (.ferry or a temporary file)";
    if ((record.mode & ~07777u) != 0) return "permission bits out of range";
    if (record.version.empty()) return "record has no version";
    if (record.deleted) {
        if (!record.chunks.empty() || !record.symlink_target.empty())
            return "deleted record has content";
        return std::nullopt;
    }
    switch (record.kind) {
        case FileKind::file: {
            std::uint64_t total = 0;
            for (const ChunkRef& chunk : record.chunks) total += chunk.size;
            if (total != record.size)
                return "size " + std::to_string(record.size) + " differs from its chunks' total " +
                       std::to_string(total);
            if (!record.symlink_target.empty()) return "file with a symlink target";
            return std::nullopt;
        }
        case FileKind::directory:
            if (!record.chunks.empty() || !record.symlink_target.empty())
                return "directory with content";
            return std::nullopt;
        case FileKind::symlink:
            if (!record.chunks.empty()) return "symlink with chunks";
            if (record.symlink_target.empty() || record.symlink_target.size() > kMaxPathBytes ||
                record.symlink_target.find('\0') != std::string::npos)
                return "symlink target is empty, too long or holds a NUL byte";
            return std::nullopt;
    }
    return "unknown kind";
}

namespace {

// The chunk list a delta applies to: the local record's or the sender's
// previous one, whichever has the digest; nullopt when neither does.
Result<std::optional<std::vector<ChunkRef>>> delta_base(Store& store, const std::string& folder_id,
                                                        ShortId peer, const std::string& path,
                                                        const ChunkListDigest& digest) {
    auto local = store.get_file(folder_id, path);
    if (!local) return tl::unexpected(local.error());
    if (*local && live_file(**local) && chunk_list_digest((*local)->chunks) == digest)
        return std::optional<std::vector<ChunkRef>>(std::move((*local)->chunks));
    auto previous = store.announced_file(folder_id, peer, path);
    if (!previous) return tl::unexpected(previous.error());
    if (*previous && live_file(**previous) && chunk_list_digest((*previous)->chunks) == digest)
        return std::optional<std::vector<ChunkRef>>(std::move((*previous)->chunks));
    return std::optional<std::vector<ChunkRef>>();
}

}  // namespace

Result<Absorbed> absorb_update(Store& store, const std::string& folder_id, ShortId peer,
                               const std::string& peer_name, const wire::IndexUpdate& update,
                               AwaitedRecords awaited) {
    Absorbed out;
    auto refuse = [&](const std::string& path, const std::string& why) {
        awaited.paths.erase(path);
        out.problems.push_back(
            PathProblem{printable_path(path), "refused from " + peer_name + ": " + why});
    };
    if (update.index_id == 0) {
        refuse("", "index update with index id 0");
        out.awaited = std::move(awaited);
        return out;
    }
    auto state = store.peer_index_state(folder_id, peer);
    if (!state) return tl::unexpected(state.error());
    if (state->index_id != 0 && state->index_id != update.index_id) {
        // A new life of the peer's index: what it said before no longer holds.
        if (auto dropped = store.drop_announced(folder_id, peer); !dropped)
            return tl::unexpected(dropped.error());
        out.replaced_index = true;
        *state = PeerIndexState{};
        awaited = AwaitedRecords{};
    }
    std::vector<FileRecord> accepted;
    accepted.reserve(update.records.size());
    for (const wire::WireRecord& wired : update.records) {
        FileRecord record = wired.record;
        if (wired.delta) {
            if (!live_file(record) || !record.chunks.empty()) {
                refuse(record.path, "chunk delta on a record that is not a file with no list");
                continue;
            }
            auto base = delta_base(store, folder_id, peer, record.path, wired.delta->base);
            if (!base) return tl::unexpected(base.error());
            if (!*base) {
                if (!normalize_path(record.path)) {
                    refuse(record.path, normalize_path(record.path).error().message);
                    continue;
                }
                out.resend.push_back(record.path);
                awaited.paths[record.path] = record.sequence;
                continue;
            }
            auto chunks =
                apply_chunk_delta(**base, wired.delta->runs, wire::kLimits.max_chunks_per_file);
            if (!chunks) {
                refuse(record.path, chunks.error().message);
                continue;
            }
            record.chunks = std::move(*chunks);
        }
        if (auto problem = record_problem(record)) {
            refuse(record.path, *problem);
            continue;
        }
        awaited.paths.erase(record.path);
        out.stored.push_back(record.path);
        accepted.push_back(std::move(record));
    }
    // A peer that announces the record we have (it just received it)
    // changes nothing to plan; only the progress walk needs its record. The
    // same vector is not enough: two devices that settled a conflict among
    // different contenders can reach one vector with different contents,
    // which the planner settles (planner.hh).
    auto local = store.files_at(folder_id, out.stored);
    if (!local) return tl::unexpected(local.error());
    for (std::size_t i = 0; i < accepted.size(); ++i) {
        const auto& have = (*local)[i];
        if (!have || !same_record(*have, accepted[i])) out.touched.push_back(accepted[i].path);
    }
    awaited.received = std::max(awaited.received, update.last_sequence);
    PeerIndexState next{update.index_id, std::max(state->max_sequence, awaited.received)};
    for (const auto& [path, sequence] : awaited.paths)
        next.max_sequence = std::min(next.max_sequence, Sequence{sequence.value - 1});
    if (auto stored = store.put_announced(folder_id, peer, accepted, next); !stored)
        return tl::unexpected(stored.error());
    out.awaited = std::move(awaited);
    return out;
}

}  // namespace ferry::engine_detail
