#include "fs/scan_directory.hh"

#include <algorithm>

#include "core/path_rules.hh"
#include "fs/file_hasher.hh"

namespace ferry {

namespace {

// Hashed records are handed on in groups this size, so a directory of many
// changed files does not hold all their records at once.
constexpr std::size_t kEmitEvery = 256;
// How far ahead of the scan's time a file's mtime may be and still count as
// "modified just now" (ScanOptions::unsettled_after_ns).
constexpr std::int64_t kFutureSlackNs = 2'000'000'000;

FileKind kind_of(EntryKind kind) {
    switch (kind) {
    case EntryKind::directory: return FileKind::directory;
    case EntryKind::symlink: return FileKind::symlink;
    default: return FileKind::file;
    }
}

// The cheap "unchanged" test: what lstat tells without reading anything.
bool same_stat(const StoredEntry& stored, const FileStat& st) {
    return stored.kind == kind_of(st.kind) && stored.size == st.size && stored.mtime_ns == st.mtime_ns &&
           stored.inode == st.inode && stored.mode == st.mode;
}

class DirectoryStep {
public:
    // `names`: only these entries of `dir` (nullptr: all of them).
    DirectoryStep(ScanContext& ctx, const std::string& dir,
                  const std::vector<std::string>* names, ScanSink& sink)
        : m_ctx(ctx), m_dir(dir), m_names(names), m_sink(sink) {}

    Result<void> run();

private:
    struct PendingFile {
        std::string path;
        std::optional<StoredEntry> stored;  // the live or deleted record, if any
    };

    // Merges the disk's entries with the stored ones (sorted by name), then
    // hands on subdirectories and hashes what changed.
    Result<void> merge_all(std::vector<DirEntryStat>& listing, const std::vector<StoredEntry>& stored);
    Result<void> merge(const DirEntryStat* disk, const StoredEntry* stored);
    Result<void> on_directory(const std::string& path, const FileStat& st, const StoredEntry* stored);
    Result<void> on_symlink(const std::string& path, const FileStat& st, const StoredEntry* stored);
    Result<void> hash(const PendingFile& file);
    // A new version of `path` made here (version = stored's, incremented).
    FileUpdate new_version(const std::string& path, FileKind kind, const FileStat& st,
                           const StoredEntry* stored) const;
    // Hands on a new version (or tombstone) of a path stored as `stored`,
    // unless it is a peer's version that sync put in place and a crash kept
    // from being recorded (take_announced).
    Result<void> hand_on(FileUpdate&& update, const StoredEntry* stored);
    // Sync stores a record only once its change is on disk, so after a crash
    // the disk can hold a peer's version unrecorded. When a peer announced
    // exactly what was found (same content and metadata, fs/scanner.hh)
    // as a version newer than or concurrent with the stored one, that is
    // what sync would have recorded: the peer's change, its version merged
    // with the stored one. Not a change made here, which would conflict.
    Result<void> take_announced(FileRecord& record, const StoredEntry* stored) const;
    // `path` (stored as `stored`) is gone: it, and below a directory every
    // stored descendant, become tombstones (descendants first). `descend`
    // false: the descendants were handled already (the directory became
    // something else, which is now gone too).
    Result<void> tombstone(const std::string& path, const StoredEntry& stored, bool descend = true);
    Result<void> tombstone_descendants(const std::string& dir);
    // Nothing is on disk at `path`: a live record becomes a tombstone. Below
    // a directory already tombstoned, live records can remain: a peer's
    // deletion of the directory was recorded after this device's user had
    // removed it with files the peer never saw. They are gone too.
    Result<void> gone(const std::string& path, const StoredEntry* stored);
    // Keeps the stored record but notes the file's new inode (a copy that
    // replaced it with the same content, times and mode).
    Result<void> refresh_inode(const std::string& path, std::uint64_t inode);
    void issue(const std::string& path, std::string message) {
        m_out.issues.push_back(ScanIssue{path, std::move(message)});
    }
    bool valid_name(const std::string& path);
    // A new or changed file to leave for a later scan (ScanOptions::settling,
    // ScanOptions::unsettled_after_ns).
    bool still_being_written(const std::string& path, const FileStat& st);
    // The named entries' lstats and stored entries, sorted by name.
    Result<void> read_named(std::vector<DirEntryStat>& listing, std::vector<StoredEntry>& stored);

    ScanContext& m_ctx;
    const std::string& m_dir;
    const std::vector<std::string>* m_names;
    ScanSink& m_sink;
    ScanOutput m_out;
    std::vector<std::string> m_subdirs;
    std::vector<PendingFile> m_pending;
};

Result<void> DirectoryStep::read_named(std::vector<DirEntryStat>& listing,
                                       std::vector<StoredEntry>& stored) {
    for (const std::string& name : *m_names) {
        const std::string path = join_path(m_dir, name);
        listing.push_back(DirEntryStat{name, m_ctx.fs.lstat(path)});
        if (!listing.back().stat && listing.back().stat.error().code == Errc::not_found)
            listing.pop_back();
        auto entry = m_ctx.store.entry(m_ctx.folder_id, path);
        if (!entry) return tl::unexpected(entry.error());
        if (*entry) stored.push_back(std::move(**entry));
    }
    std::sort(stored.begin(), stored.end(),
              [](const StoredEntry& a, const StoredEntry& b) { return a.name < b.name; });
    return {};
}

Result<void> DirectoryStep::run() {
    if (m_names != nullptr) {
        std::vector<DirEntryStat> listing;
        std::vector<StoredEntry> stored;
        if (auto read = read_named(listing, stored); !read) return read;
        return merge_all(listing, stored);
    }
    auto listing = m_ctx.fs.scan_dir(m_dir);
    if (!listing) {
        // Without the root there is no folder to compare with: never take
        // that for "everything was deleted".
        if (m_dir.empty()) return tl::unexpected(listing.error());
        // Vanished since its parent was listed: the next scan records it.
        if (listing.error().code != Errc::not_found)
            issue(m_dir, listing.error().message + "; its indexed contents are kept as they were");
        m_sink.emit(std::move(m_out));
        m_sink.enqueue_dirs({});
        return {};
    }
    auto stored = m_ctx.store.children(m_ctx.folder_id, m_dir);
    if (!stored) return tl::unexpected(stored.error());
    return merge_all(*listing, *stored);
}

Result<void> DirectoryStep::merge_all(std::vector<DirEntryStat>& listing,
                                      const std::vector<StoredEntry>& stored) {
    std::sort(listing.begin(), listing.end(),
              [](const DirEntryStat& a, const DirEntryStat& b) { return a.name < b.name; });
    m_ctx.entries_seen.fetch_add(listing.size(), std::memory_order_relaxed);

    // Both lists are sorted by name (bytewise): merge them.
    auto d = listing.cbegin();
    auto s = stored.cbegin();
    while (d != listing.cend() || s != stored.cend()) {
        if (m_ctx.cancelled()) break;
        Result<void> r;
        if (s == stored.cend() || (d != listing.cend() && d->name < s->name)) {
            r = merge(&*d++, nullptr);
        } else if (d == listing.cend() || s->name < d->name) {
            r = merge(nullptr, &*s++);
        } else {
            r = merge(&*d++, &*s++);
        }
        if (!r) return r;
    }

    m_sink.emit(std::move(m_out));
    m_out = ScanOutput{};
    m_sink.enqueue_dirs(std::move(m_subdirs));

    for (const auto& file : m_pending) {
        if (m_ctx.cancelled()) break;
        if (auto r = hash(file); !r) return r;
        if (m_out.updates.size() >= kEmitEvery) {
            m_sink.emit(std::move(m_out));
            m_out = ScanOutput{};
        }
    }
    m_sink.emit(std::move(m_out));
    return {};
}

Result<void> DirectoryStep::merge(const DirEntryStat* disk, const StoredEntry* stored) {
    const StoredEntry* live = stored != nullptr && !stored->deleted ? stored : nullptr;
    const std::string path = join_path(m_dir, disk != nullptr ? disk->name : stored->name);
    if (is_internal_path(path)) {
        if (disk != nullptr && disk->stat && disk->stat->kind == EntryKind::file &&
            temporary_target(disk->name))
            m_out.temporaries.push_back(path);
        return live ? tombstone(path, *live) : Result<void>{};
    }
    // An ignored path is not synced either way: what was indexed of it stays
    // as it was (a tombstone would delete it on every other device).
    const bool is_dir = disk != nullptr && disk->stat
                            ? disk->stat->kind == EntryKind::directory
                            : stored != nullptr && stored->kind == FileKind::directory;
    if (!m_ctx.ignore.empty() && m_ctx.ignore.is_ignored_entry(path, is_dir)) return {};
    if (disk == nullptr) return gone(path, stored);
    if (!disk->stat) {
        if (disk->stat.error().code == Errc::not_found) return gone(path, stored);  // vanished since the listing
        issue(path, disk->stat.error().message + "; it is kept as last indexed");
        return {};
    }
    const FileStat& st = *disk->stat;

    // What is unchanged since it was stored had a valid name then.
    if (live != nullptr && st.kind == EntryKind::file && same_stat(*live, st)) {
        ++m_out.files;
        m_out.bytes += st.size;
        return {};
    }
    if (!valid_name(path)) return {};
    // A directory (even one already tombstoned, see gone()) that became
    // something else: what was below it is gone.
    if (stored != nullptr && stored->kind == FileKind::directory && st.kind != EntryKind::directory) {
        if (auto r = tombstone_descendants(path); !r) return r;
    }
    switch (st.kind) {
    case EntryKind::directory: return on_directory(path, st, stored);
    case EntryKind::symlink: return on_symlink(path, st, stored);
    case EntryKind::special:
        issue(path, "is a special file (FIFO, socket or device), which ferry does not sync; move it out of "
                    "the folder or add it to .ferryignore");
        return live ? tombstone(path, *live, false) : Result<void>{};
    case EntryKind::file:
        // Still being written: left as last indexed until it settles.
        if (still_being_written(path, st)) {
            if (live != nullptr) {
                ++m_out.files;
                m_out.bytes += live->size;
            }
            return {};
        }
        m_pending.push_back(PendingFile{path, stored ? std::optional(*stored) : std::nullopt});
        m_ctx.bytes_to_hash.fetch_add(st.size, std::memory_order_relaxed);
        return {};
    }
    return {};
}

bool DirectoryStep::still_being_written(const std::string& path, const FileStat& st) {
    if (m_ctx.settling != nullptr && m_ctx.settling->count(path) != 0) return true;
    // Modified just now (a clock a little ahead is still "now"; a file
    // dated further ahead would never settle, so it is taken as it is).
    const bool recent = m_ctx.unsettled_after_ns != 0 && st.mtime_ns > m_ctx.unsettled_after_ns &&
                        st.mtime_ns <= m_ctx.now_ns + kFutureSlackNs;
    if (recent) m_ctx.unsettled.fetch_add(1, std::memory_order_relaxed);
    return recent;
}

bool DirectoryStep::valid_name(const std::string& path) {
    auto normal = normalize_path(path);
    if (!normal) {
        issue(path, normal.error().message + "; rename it so that ferry can sync it");
        return false;
    }
    if (*normal != path) {
        issue(path, "name is not in Unicode NFC form (other devices would see a different name); rename it "
                    "so that ferry can sync it");
        return false;
    }
    return true;
}

Result<void> DirectoryStep::on_directory(const std::string& path, const FileStat& st,
                                         const StoredEntry* stored) {
    ++m_out.directories;
    const bool was_directory = stored != nullptr && !stored->deleted && stored->kind == FileKind::directory;
    // Of named entries, only a directory new to the index is walked: a
    // watcher names the changed entries of one it knew.
    if (m_names == nullptr || !was_directory) m_subdirs.push_back(path);
    const bool unchanged = was_directory && stored->mode == st.mode;  // its mtime moves with its entries
    if (!unchanged) return hand_on(new_version(path, FileKind::directory, st, stored), stored);
    return {};
}

Result<void> DirectoryStep::on_symlink(const std::string& path, const FileStat& st, const StoredEntry* stored) {
    const StoredEntry* live = stored != nullptr && !stored->deleted ? stored : nullptr;
    if (live != nullptr && same_stat(*live, st)) {
        ++m_out.symlinks;
        return {};
    }
    auto target = m_ctx.fs.read_link(path);
    if (!target) {
        if (target.error().code == Errc::not_found) return live ? tombstone(path, *live, false) : Result<void>{};
        issue(path, target.error().message);
        return {};
    }
    ++m_out.symlinks;
    if (live != nullptr && live->kind == FileKind::symlink && live->symlink_target == *target &&
        live->mtime_ns == st.mtime_ns && live->mode == st.mode && live->size == st.size)
        return refresh_inode(path, st.inode);
    FileUpdate update = new_version(path, FileKind::symlink, st, stored);
    update.record.symlink_target = std::move(*target);
    return hand_on(std::move(update), stored);
}

Result<void> DirectoryStep::hash(const PendingFile& file) {
    const StoredEntry* stored = file.stored ? &*file.stored : nullptr;
    const StoredEntry* live = stored != nullptr && !stored->deleted ? stored : nullptr;
    HashOptions options;
    options.threads = m_ctx.hash_threads;
    std::uint64_t reported = 0;
    options.on_bytes = [&](std::uint64_t so_far) {
        if (so_far > reported) m_ctx.bytes_hashed.fetch_add(so_far - reported, std::memory_order_relaxed);
        reported = so_far;
    };
    Result<HashedFile> hashed = fail(Errc::changed, "");
    for (int attempt = 0; attempt <= kHashRetries && !m_ctx.cancelled(); ++attempt) {
        reported = 0;
        hashed = hash_file(m_ctx.fs, file.path, options);
        if (hashed || hashed.error().code != Errc::changed) break;
    }
    if (!hashed) {
        switch (hashed.error().code) {
        case Errc::not_found:  // deleted while we looked
            return live ? tombstone(file.path, *live, false) : Result<void>{};
        case Errc::changed:
            if (!m_ctx.cancelled())
                issue(file.path, "kept changing while it was read (" + std::to_string(kHashRetries + 1) +
                                     " tries); a later scan will index it");
            return {};
        default:
            issue(file.path, hashed.error().message + "; it is kept as last indexed");
            return {};
        }
    }
    m_ctx.files_hashed.fetch_add(1, std::memory_order_relaxed);
    const FileStat& st = hashed->stat;
    ++m_out.files;
    m_out.bytes += st.size;
    // Same size, time and mode: a new version only if the content differs.
    if (live != nullptr && live->kind == FileKind::file && live->size == st.size &&
        live->mtime_ns == st.mtime_ns && live->mode == st.mode) {
        auto full = m_ctx.store.get_file(m_ctx.folder_id, file.path);
        if (!full) return tl::unexpected(full.error());
        if (*full && (*full)->chunks == hashed->chunks) {
            if (live->inode != st.inode) m_out.updates.push_back(FileUpdate{std::move(**full), st.inode});
            return {};
        }
    }
    FileUpdate update = new_version(file.path, FileKind::file, st, stored);
    update.record.chunks = std::move(hashed->chunks);
    return hand_on(std::move(update), stored);
}

Result<void> DirectoryStep::hand_on(FileUpdate&& update, const StoredEntry* stored) {
    if (auto taken = take_announced(update.record, stored); !taken) return taken;
    m_out.updates.push_back(std::move(update));
    return {};
}

Result<void> DirectoryStep::take_announced(FileRecord& record, const StoredEntry* stored) const {
    auto announced = m_ctx.store.announced_versions(m_ctx.folder_id, record.path);
    if (!announced) return tl::unexpected(announced.error());
    const FileRecord* found = nullptr;
    for (const AnnouncedRecord& peer : *announced) {
        const FileRecord& r = peer.record;
        if (!same_content(record, r) || !same_metadata(record, r)) continue;
        const Ordering order = stored ? r.version.compare(stored->version) : Ordering::newer;
        if (order != Ordering::newer && order != Ordering::concurrent) continue;
        if (!found || r.version.compare(found->version) == Ordering::newer) found = &r;
    }
    if (!found) return {};
    record.version = stored ? stored->version.merged(found->version) : found->version;
    record.modified_by = found->modified_by;
    return {};
}

FileUpdate DirectoryStep::new_version(const std::string& path, FileKind kind, const FileStat& st,
                                      const StoredEntry* stored) const {
    FileUpdate update;
    FileRecord& record = update.record;
    record.path = path;
    record.kind = kind;
    record.size = kind == FileKind::directory ? 0 : st.size;
    record.mtime_ns = st.mtime_ns;
    record.mode = st.mode;
    if (stored != nullptr) record.version = stored->version;
    record.version.increment(m_ctx.local_device);
    record.modified_by = m_ctx.local_device;
    update.inode = st.inode;
    return update;
}

Result<void> DirectoryStep::tombstone(const std::string& path, const StoredEntry& stored, bool descend) {
    if (descend && stored.kind == FileKind::directory) {
        if (auto r = tombstone_descendants(path); !r) return r;
    }
    FileUpdate update;
    FileRecord& record = update.record;
    record.path = path;
    record.kind = stored.kind;
    record.mtime_ns = stored.mtime_ns;
    record.mode = stored.mode;
    record.deleted = true;
    record.version = stored.version;
    record.version.increment(m_ctx.local_device);
    record.modified_by = m_ctx.local_device;
    ++m_out.deleted;
    return hand_on(std::move(update), &stored);
}

Result<void> DirectoryStep::gone(const std::string& path, const StoredEntry* stored) {
    if (stored == nullptr) return {};
    if (!stored->deleted) return tombstone(path, *stored);
    if (stored->kind == FileKind::directory) return tombstone_descendants(path);
    return {};
}

Result<void> DirectoryStep::tombstone_descendants(const std::string& dir) {
    auto children = m_ctx.store.children(m_ctx.folder_id, dir);
    if (!children) return tl::unexpected(children.error());
    for (const StoredEntry& child : *children) {
        const std::string path = join_path(dir, child.name);
        if (!child.deleted) {
            if (auto r = tombstone(path, child); !r) return r;
        } else if (child.kind == FileKind::directory) {
            if (auto r = tombstone_descendants(path); !r) return r;
        }
    }
    return {};
}

Result<void> DirectoryStep::refresh_inode(const std::string& path, std::uint64_t inode) {
    auto full = m_ctx.store.get_file(m_ctx.folder_id, path);
    if (!full) return tl::unexpected(full.error());
    if (*full) m_out.updates.push_back(FileUpdate{std::move(**full), inode});
    return {};
}

}  // namespace

Result<void> scan_directory(ScanContext& ctx, const std::string& dir, ScanSink& sink) {
    return DirectoryStep(ctx, dir, nullptr, sink).run();
}

Result<void> scan_entries(ScanContext& ctx, const std::string& dir,
                          const std::vector<std::string>& names, ScanSink& sink) {
    return DirectoryStep(ctx, dir, &names, sink).run();
}

}  // namespace ferry
