#include "fs/pending_targets.hh"

#include <optional>
#include <string>
#include <vector>

#include "core/pending_target.hh"

namespace ferry {

namespace {

// What is at target.path as a record to compare with `target` (a tombstone
// when nothing is there), with its inode; nullopt when it is something sync
// never writes (a special file). A file is hashed only when its size, mtime
// and mode already match.
struct OnDisk {
    FileRecord record;
    std::uint64_t inode = 0;
};

Result<std::optional<OnDisk>> read_disk(Filesystem& fs, const FileRecord& target,
                                        const HashOptions& hashing) {
    OnDisk out;
    out.record.path = target.path;
    auto st = fs.lstat(target.path);
    if (!st) {
        if (st.error().code != Errc::not_found) return tl::unexpected(st.error());
        out.record.deleted = true;
        return out;
    }
    out.inode = st->inode;
    out.record.mtime_ns = st->mtime_ns;
    out.record.mode = st->mode;
    switch (st->kind) {
    case EntryKind::directory: out.record.kind = FileKind::directory; return out;
    case EntryKind::symlink: {
        out.record.kind = FileKind::symlink;
        auto link = fs.read_link(target.path);
        if (!link) return tl::unexpected(link.error());
        out.record.symlink_target = std::move(*link);
        return out;
    }
    case EntryKind::file: break;
    case EntryKind::special: return std::nullopt;
    }
    out.record.size = st->size;
    const bool may_match = !target.deleted && target.kind == FileKind::file && st->size == target.size &&
                           st->mtime_ns == target.mtime_ns && st->mode == safe_mode(target.mode);
    if (!may_match) return out;  // differs whatever its content
    auto hashed = hash_file(fs, target.path, hashing);
    if (!hashed) return tl::unexpected(hashed.error());
    out.inode = hashed->stat.inode;
    out.record.size = hashed->stat.size;
    out.record.mtime_ns = hashed->stat.mtime_ns;
    out.record.mode = hashed->stat.mode;
    out.record.chunks = std::move(hashed->chunks);
    return out;
}

}  // namespace

Result<std::size_t> settle_pending_targets(Filesystem& fs, Store& store, std::string_view folder_id,
                                           const HashOptions& hashing) {
    auto pending = store.pending_targets(folder_id);
    if (!pending) return tl::unexpected(pending.error());
    if (pending->empty()) return 0;
    std::vector<FileUpdate> held;    // on disk: stored as their records
    std::vector<std::string> stale;  // not on disk, or not newer than the record
    for (FileRecord& target : *pending) {
        auto stored = store.entry(folder_id, target.path);
        if (!stored) return tl::unexpected(stored.error());
        if (*stored && target.version.compare((*stored)->version) != Ordering::newer) {
            stale.push_back(target.path);
            continue;
        }
        auto disk = read_disk(fs, target, hashing);
        if (!disk) continue;  // cannot tell now (unreadable, changing): kept for the next scan
        if (!*disk || !holds_target((*disk)->record, target)) {
            stale.push_back(target.path);
            continue;
        }
        // As sync stores an applied step: the disk's mtime, mode and inode.
        FileUpdate update;
        update.record = std::move(target);
        if (!update.record.deleted) {
            update.inode = (*disk)->inode;
            update.record.mtime_ns = (*disk)->record.mtime_ns;
            update.record.mode = (*disk)->record.mode;
        }
        held.push_back(std::move(update));
    }
    // put_files drops the pending targets of what it stores.
    if (!held.empty()) {
        if (auto put = store.put_files(folder_id, held); !put) return tl::unexpected(put.error());
    }
    if (!stale.empty()) {
        if (auto dropped = store.drop_pending_targets(folder_id, stale); !dropped)
            return tl::unexpected(dropped.error());
    }
    return held.size();
}

}  // namespace ferry
