#include "sync/folder_writer.hh"

#include <algorithm>

#include "core/ignore.hh"
#include "core/path_rules.hh"
#include "sync/file_assembly.hh"
#include "sync/write_steps.hh"

namespace ferry {

namespace {

EntryKind entry_kind_of(FileKind kind) {
    switch (kind) {
    case FileKind::file: return EntryKind::file;
    case FileKind::directory: return EntryKind::directory;
    case FileKind::symlink: return EntryKind::symlink;
    }
    return EntryKind::special;
}

// A live (not deleted) record of `kind`, at a path sync may write.
Result<void> check_record(const FileRecord& target, FileKind kind, std::string_view where) {
    if (auto ok = check_writable_path(target.path, where); !ok) return ok;
    if (target.deleted || target.kind != kind)
        return fail(Errc::invalid_argument, std::string(where) + ": the record is not a " +
                                                file_kind_name(kind) + "'s");
    return {};
}

Result<void> check_kind(const FileStat& st, FileKind kind, std::string_view path, std::string_view where) {
    if (st.kind == entry_kind_of(kind)) return {};
    return fail(Errc::changed, std::string(where) + ": '" + printable_path(path) + "' is a " +
                                   entry_kind_name(st.kind) + " on disk, not a " + file_kind_name(kind) +
                                   "; rescan first");
}

}  // namespace

FolderWriter::FolderWriter(Filesystem& fs, Store& store, std::string folder_id, Versions& versions,
                           const Clock& clock)
    : m_fs(fs), m_store(store), m_folder_id(std::move(folder_id)), m_versions(versions), m_clock(clock) {}

Result<bool> FolderWriter::check_unchanged(std::string_view path, const std::optional<FileRecord>& local,
                                           std::string_view alias_of) {
    const std::string where = "folder " + m_folder_id + ": cannot check '" + printable_path(path) + "'";
    const bool absent_expected = !local || local->deleted;
    auto st = m_fs.lstat(path);
    if (!st) {
        if (st.error().code == Errc::not_found) return absent_expected;
        return in_context(st.error(), where);
    }
    if (absent_expected) {
        auto clash = name_clash(path, *st, alias_of);
        if (!clash) return in_context(clash.error(), where);
        if (clash->empty()) return false;  // really there: rescan first
        if (*clash == alias_of) return true;
        return fail(Errc::already_exists,
                    "folder " + m_folder_id + ": '" + printable_path(path) + "' clashes with '" +
                        printable_path(*clash) +
                        "': this filesystem takes them for the same name (it ignores case or "
                        "Unicode form), so it is not written here; rename one of them");
    }
    if (st->kind != entry_kind_of(local->kind)) return false;
    switch (local->kind) {
    case FileKind::directory: return st->mode == local->mode;
    case FileKind::symlink: {
        auto target = m_fs.read_link(path);
        if (!target) return in_context(target.error(), where);
        return *target == local->symlink_target;
    }
    case FileKind::file: break;
    }
    if (st->size != local->size || st->mtime_ns != local->mtime_ns || st->mode != local->mode) return false;
    // The inode is local state, kept beside the record: a file replaced by
    // another with the same size and mtime (cp -p, an editor's rename) differs.
    auto siblings = m_store.children(m_folder_id, parent_path(path));
    if (!siblings) return in_context(siblings.error(), where);
    const std::string_view name = base_name(path);
    const auto entry = std::find_if(siblings->begin(), siblings->end(),
                                    [&](const StoredEntry& e) { return e.name == name; });
    return entry == siblings->end() || entry->inode == 0 || entry->inode == st->inode;
}

Result<std::string> FolderWriter::name_clash(std::string_view path, const FileStat& found,
                                             std::string_view alias_of) {
    const std::string parent(parent_path(path));
    auto entries = m_fs.list_dir(parent);
    if (!entries) return tl::unexpected(entries.error());
    const std::string_view name = base_name(path);
    if (std::any_of(entries->begin(), entries->end(), [&](const DirEntry& e) { return e.name == name; }))
        return std::string();
    // The entry the filesystem resolved `path` to: the one with its inode.
    if (!alias_of.empty()) {
        auto alias = m_fs.lstat(alias_of);
        if (alias && alias->inode == found.inode && alias->device == found.device)
            return std::string(alias_of);
    }
    for (const DirEntry& e : *entries) {
        const std::string other = join_path(parent, e.name);
        auto st = m_fs.lstat(other);
        if (st && st->inode == found.inode && st->device == found.device) return other;
    }
    return fail(Errc::changed, "'" + printable_path(path) + "' is found on disk but not listed");
}

Result<std::unique_ptr<FileAssembly>> FolderWriter::begin_file(const FileRecord& target) {
    return assemble_file(AssemblyContext{m_fs, m_store, m_versions, m_clock, m_folder_id}, target);
}

Result<FileStat> FolderWriter::make_directory(const FileRecord& target) {
    const std::string where = "folder " + m_folder_id + ": cannot make directory '" + printable_path(target.path) + "'";
    if (auto ok = check_record(target, FileKind::directory, where); !ok) return tl::unexpected(ok.error());
    auto st = m_fs.lstat(target.path);
    if (st && st->kind == EntryKind::directory) return set_metadata(target);
    if (!st && st.error().code != Errc::not_found) return in_context(st.error(), where);
    if (auto r = clear_for_replacement(m_fs, m_versions, target.path, m_clock.now_ns()); !r)
        return in_context(r.error(), where);
    // A parent that lost a concurrent delete to what it holds is made again.
    if (auto r = make_dirs(m_fs, parent_path(target.path)); !r) return in_context(r.error(), where);
    if (auto r = m_fs.make_dir(target.path, safe_mode(target.mode)); !r) return in_context(r.error(), where);
    if (auto r = m_fs.sync_dir(parent_path(target.path)); !r) return in_context(r.error(), where);
    auto made = m_fs.lstat(target.path);
    if (!made) return in_context(made.error(), where);
    return *made;
}

Result<FileStat> FolderWriter::make_symlink(const FileRecord& target) {
    const std::string where = "folder " + m_folder_id + ": cannot make symlink '" + printable_path(target.path) + "'";
    if (auto ok = check_record(target, FileKind::symlink, where); !ok) return tl::unexpected(ok.error());
    if (target.symlink_target.empty() || target.symlink_target.find('\0') != std::string::npos)
        return fail(Errc::invalid_argument, where + ": the link target is empty or holds a NUL byte");
    // Made beside the target and renamed over it, so the path always holds
    // either the old entry or the new link.
    const std::string temp = temporary_path(target.path, derive_unique({"symlink", target.path, target.symlink_target}));
    if (auto stale = m_fs.lstat(temp); stale) {
        if (auto r = m_fs.remove(temp); !r) return in_context(r.error(), where);
    }
    if (auto r = make_dirs(m_fs, parent_path(target.path)); !r) return in_context(r.error(), where);
    if (auto r = m_fs.make_symlink(target.symlink_target, temp); !r) return in_context(r.error(), where);
    // The record's mtime, as a file gets it: a link recorded with the time
    // it was made here would be a record of its own under the same version,
    // and devices would pick different winners against a concurrent edit.
    Result<void> placed = m_fs.set_mtime(temp, target.mtime_ns);
    if (placed) {
        if (auto cleared = clear_for_replacement(m_fs, m_versions, target.path, m_clock.now_ns()); !cleared)
            placed = tl::unexpected(cleared.error());
    }
    if (placed) placed = m_fs.rename(temp, target.path);
    if (!placed) {
        (void)m_fs.remove(temp);  // best effort: the scanner ignores it anyway
        return in_context(placed.error(), where);
    }
    // The new name and the link's own mtime.
    const std::vector<std::string> made_link{target.path};
    if (auto r = m_fs.sync_paths(made_link); !r) return in_context(r.error(), where);
    auto made = m_fs.lstat(target.path);
    if (!made) return in_context(made.error(), where);
    return *made;
}

Result<std::vector<FileStat>> FolderWriter::set_metadata(std::span<const FileRecord* const> targets) {
    std::vector<std::string> changed;
    for (const FileRecord* each : targets) {
        const FileRecord& target = *each;
        const std::string where =
            "folder " + m_folder_id + ": cannot set metadata of '" + printable_path(target.path) + "'";
        if (auto ok = check_record(target, target.kind, where); !ok) return tl::unexpected(ok.error());
        auto st = m_fs.lstat(target.path);
        if (!st) return in_context(st.error(), where);
        if (auto ok = check_kind(*st, target.kind, target.path, where); !ok) return tl::unexpected(ok.error());
        auto set = apply_metadata(target, *st, where);
        if (!set) return tl::unexpected(set.error());
        if (*set) changed.push_back(target.path);
    }
    // Mode and mtime set by path are not durable until the entry is synced.
    if (auto r = m_fs.sync_paths(changed); !r)
        return in_context(r.error(), "folder " + m_folder_id + ": cannot make modes and mtimes durable");
    std::vector<FileStat> out;
    out.reserve(targets.size());
    for (const FileRecord* target : targets) {
        auto after = m_fs.lstat(target->path);
        if (!after)
            return in_context(after.error(), "folder " + m_folder_id + ": cannot set metadata of '" +
                                                  printable_path(target->path) + "'");
        out.push_back(*after);
    }
    return out;
}

Result<FileStat> FolderWriter::set_metadata(const FileRecord& target) {
    const FileRecord* const one = &target;
    auto stats = set_metadata(std::span(&one, 1));
    if (!stats) return tl::unexpected(stats.error());
    return stats->front();
}

Result<bool> FolderWriter::apply_metadata(const FileRecord& target, const FileStat& st,
                                          std::string_view where) {
    bool set = false;
    if (target.kind != FileKind::symlink && st.mode != safe_mode(target.mode)) {
        if (auto r = m_fs.set_mode(target.path, safe_mode(target.mode)); !r) return in_context(r.error(), where);
        set = true;
    }
    if (target.kind != FileKind::directory && st.mtime_ns != target.mtime_ns) {
        if (auto r = m_fs.set_mtime(target.path, target.mtime_ns); !r) return in_context(r.error(), where);
        set = true;
    }
    return set;
}

Result<FileStat> FolderWriter::rename(std::string_view from, const FileRecord& target) {
    const std::string where = "folder " + m_folder_id + ": cannot rename '" + printable_path(from) + "' to '" +
                              printable_path(target.path) + "'";
    if (auto ok = check_writable_path(from, where); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_record(target, target.kind, where); !ok) return tl::unexpected(ok.error());
    if (from == target.path) return fail(Errc::invalid_argument, where + ": the same path");
    auto src = m_fs.lstat(from);
    if (!src) return in_context(src.error(), where);
    if (auto ok = check_kind(*src, target.kind, from, where); !ok) return tl::unexpected(ok.error());
    if (target.kind == FileKind::file && src->size != target.size)
        return fail(Errc::changed, where + ": it holds " + std::to_string(src->size) + " bytes, not " +
                                       std::to_string(target.size) + "; rescan first");
    // On a case-insensitive disk a case-only rename finds the source itself
    // at the destination: nothing is in the way then.
    auto dst = m_fs.lstat(target.path);
    const bool same_entry = dst && dst->inode == src->inode && dst->device == src->device;
    if (!same_entry) {
        if (auto r = clear_for_replacement(m_fs, m_versions, target.path, m_clock.now_ns()); !r)
            return in_context(r.error(), where);
    }
    if (auto r = m_fs.rename(from, target.path); !r) return in_context(r.error(), where);
    auto set = apply_metadata(target, *src, where);  // a rename keeps mode and mtime
    if (!set) return tl::unexpected(set.error());
    // The new name; with a new mode or mtime, the entry itself too.
    const std::vector<std::string> moved_entry{target.path};
    auto synced = *set ? m_fs.sync_paths(moved_entry) : m_fs.sync_dir(parent_path(target.path));
    if (!synced) return in_context(synced.error(), where);
    if (parent_path(from) != parent_path(target.path)) {
        if (auto r = m_fs.sync_dir(parent_path(from)); !r) return in_context(r.error(), where);
    }
    auto moved = m_fs.lstat(target.path);
    if (!moved) return in_context(moved.error(), where);
    return *moved;
}

Result<void> FolderWriter::remove(std::string_view path) {
    const std::string where = "folder " + m_folder_id + ": cannot remove '" + printable_path(path) + "'";
    if (auto ok = check_writable_path(path, where); !ok) return ok;
    auto st = m_fs.lstat(path);
    if (!st) return st.error().code == Errc::not_found ? Result<void>{} : in_context(st.error(), where);
    if (st->kind == EntryKind::directory) {
        if (auto r = remove_leftover_temporaries(path); !r) return in_context(r.error(), where);
    }
    if (auto r = clear_for_replacement(m_fs, m_versions, path, m_clock.now_ns()); !r) return in_context(r.error(), where);
    if (auto r = m_fs.sync_dir(parent_path(path)); !r) return in_context(r.error(), where);
    return {};
}

Result<void> FolderWriter::remove_leftover_temporaries(std::string_view dir) {
    auto entries = m_fs.list_dir(dir);
    if (!entries) return tl::unexpected(entries.error());
    for (const DirEntry& entry : *entries) {
        if (!is_internal_path(entry.name)) continue;
        const std::string path = join_path(dir, entry.name);
        if (auto st = m_fs.lstat(path); st && st->kind != EntryKind::directory) {
            if (auto r = m_fs.remove(path); !r && r.error().code != Errc::not_found) return r;
        }
    }
    return {};
}

Result<bool> FolderWriter::remove_if_stale(std::string_view temporary) {
    const std::string where = "folder " + m_folder_id + ": cannot remove the temporary file '" +
                              printable_path(temporary) + "'";
    const auto name = temporary_target(base_name(temporary));
    if (!name) return fail(Errc::invalid_argument, where + ": not a temporary file's name");
    const std::string target = join_path(parent_path(temporary), *name);
    auto announced = m_store.announced_versions(m_folder_id, target);
    if (!announced) return in_context(announced.error(), where);
    auto local = m_store.get_file(m_folder_id, target);
    if (!local) return in_context(local.error(), where);
    // A version this device already holds (the same content, as when it
    // was made here too) or has seen is never fetched again.
    const auto needed = [&](const FileRecord& r) {
        if (r.deleted || r.kind != FileKind::file || assembly_path(r) != temporary) return false;
        if (!*local) return true;
        const FileRecord& held = **local;
        if (!held.deleted && held.kind == FileKind::file && held.chunks == r.chunks) return false;
        const Ordering order = held.version.compare(r.version);
        return order != Ordering::equal && order != Ordering::newer;
    };
    if (std::any_of(announced->begin(), announced->end(),
                    [&](const AnnouncedRecord& peer) { return needed(peer.record); }))
        return false;
    auto st = m_fs.lstat(temporary);
    if (!st) return st.error().code == Errc::not_found ? Result<bool>(false) : in_context(st.error(), where);
    if (st->kind == EntryKind::directory) return fail(Errc::unsupported, where + ": it is a directory");
    if (auto r = m_fs.remove(temporary); !r) {
        return r.error().code == Errc::not_found ? Result<bool>(false) : in_context(r.error(), where);
    }
    return true;
}

Result<FileStat> FolderWriter::keep_conflict_copy(std::string_view path, std::string_view copy_path) {
    const std::string where = "folder " + m_folder_id + ": cannot keep '" + printable_path(path) +
                              "' as conflict copy '" + printable_path(copy_path) + "'";
    if (auto ok = check_writable_path(path, where); !ok) return tl::unexpected(ok.error());
    if (auto ok = check_writable_path(copy_path, where); !ok) return tl::unexpected(ok.error());
    if (path == copy_path) return fail(Errc::invalid_argument, where + ": the same path");
    auto st = m_fs.lstat(path);
    if (!st) return in_context(st.error(), where);
    if (st->kind != EntryKind::file && st->kind != EntryKind::symlink)
        return fail(Errc::unsupported, where + ": it is a " + std::string(entry_kind_name(st->kind)) +
                                           " (only files and symlinks have conflict copies)");
    // The copy's name is derived from the losing version, so one there
    // already is most likely this same content; it is kept as a version
    // rather than overwritten.
    if (auto r = clear_for_replacement(m_fs, m_versions, copy_path, m_clock.now_ns()); !r)
        return in_context(r.error(), where);
    if (auto r = m_fs.rename(path, copy_path); !r) return in_context(r.error(), where);
    if (auto r = m_fs.sync_dir(parent_path(copy_path)); !r) return in_context(r.error(), where);
    if (parent_path(path) != parent_path(copy_path)) {
        if (auto r = m_fs.sync_dir(parent_path(path)); !r) return in_context(r.error(), where);
    }
    auto kept = m_fs.lstat(copy_path);
    if (!kept) return in_context(kept.error(), where);
    return *kept;
}

}  // namespace ferry
