// The invariants of the simulation (issue 7): checked along the way (no
// partial file visible, nothing outside the folder) and at quiescence
// (convergence of trees and indexes, each index agreeing with its disk, no
// lost write, conflict copies only for concurrent writes, no temporary
// left behind). Termination and determinism are checked by SimCluster and
// the runner.
#include <sstream>

#include "core/conflict_name.hh"
#include "core/ignore.hh"
#include "fs/file_hasher.hh"
#include "sim_impl.hh"

namespace ferry::sim {
namespace {

constexpr std::size_t kMaxViolations = 20;

std::string octal(std::uint32_t mode) {
    std::ostringstream out;
    out << std::oct << (mode & 07777);
    return out.str();
}

std::string hex(std::uint64_t value) {
    std::ostringstream out;
    out << std::hex << value;
    return out.str();
}

// Calls fn(path, stat) for every entry under `dir`, parents first.
template <class Fn>
void walk(MemoryFilesystem& disk, const std::string& dir, const Fn& fn) {
    auto names = disk.list_dir(dir);
    if (!names) return;
    for (const DirEntry& entry : *names) {
        const std::string path = dir.empty() ? entry.name : dir + "/" + entry.name;
        auto st = disk.lstat(path);
        if (!st) continue;
        fn(path, *st);
        if (st->kind == EntryKind::directory) walk(disk, path, fn);
    }
}

std::string index_entry(const FileRecord& r) {
    std::string chunks;
    for (const ChunkRef& c : r.chunks) chunks += c.hash.hex().substr(0, 12) + ":" + std::to_string(c.size) + ",";
    return std::string(r.deleted ? "deleted " : "") + file_kind_name(r.kind) + " " +
           (r.deleted ? "" : octal(r.mode) + " ") + r.symlink_target + " [" + chunks + "] " +
           r.version.to_string();
}

}  // namespace

std::map<std::string, FileRecord> SimCluster::Impl::index_of(Device& device) {
    std::map<std::string, FileRecord> out;
    if (!device.store) return out;  // down: converged() says so
    auto records = device.store->files_since(kFolderId, Sequence{}, 10'000'000);
    if (!records) return out;
    for (FileRecord& r : *records) out[r.path] = std::move(r);
    return out;
}

Tree SimCluster::Impl::tree_of(Device& device, bool with_internal) {
    Tree tree;
    walk(*device.disk, "", [&](const std::string& path, const FileStat& st) {
        if (!with_internal && is_internal_path(path)) return;
        switch (st.kind) {
            case EntryKind::file: {
                auto bytes = device.disk->contents(path);
                tree[path] = "f " + octal(st.mode) + " " + hex(bytes ? digest(*bytes) : 0);
                break;
            }
            case EntryKind::directory: tree[path] = "d " + octal(st.mode); break;
            case EntryKind::symlink: {
                auto target = device.disk->read_link(path);
                tree[path] = "l " + (target ? *target : std::string("?"));
                break;
            }
            case EntryKind::special: tree[path] = "s"; break;
        }
    });
    return tree;
}

void SimCluster::Impl::check_path(std::string_view path, const Device& device) {
    const bool escapes = path.starts_with("/") || path == ".." || path.starts_with("../") ||
                         path.find("/../") != std::string_view::npos || path.ends_with("/..");
    if (escapes && violations.size() < kMaxViolations)
        violations.push_back({"nothing outside a folder",
                              device.name + "'s engine used the path \"" + std::string(path) + "\""});
}

void SimCluster::Impl::check_visible_files() {
    static const std::uint64_t kEmpty = digest("");
    for (auto& device : devices) {
        walk(*device->disk, "", [&](const std::string& path, const FileStat& st) {
            if (st.kind != EntryKind::file || is_internal_path(path)) return;
            auto bytes = device->disk->contents(path);
            if (!bytes) return;
            const std::uint64_t d = digest(*bytes);
            if (d == kEmpty || known_contents.count(d) != 0) return;
            if (violations.size() < kMaxViolations)
                violations.push_back({"no partial file visible",
                                      device->name + ": " + path + " holds " +
                                          std::to_string(bytes->size()) +
                                          " bytes no user wrote, after step " +
                                          std::to_string(steps_run)});
        });
    }
}

// A tombstone and no entry at all mean the same: a device that never had a
// file needs no record of its deletion.
std::vector<std::string> SimCluster::Impl::index_differences(std::size_t max) {
    std::vector<std::string> out;
    std::vector<std::map<std::string, FileRecord>> indexes;
    for (auto& device : devices) indexes.push_back(index_of(*device));
    auto entry_at = [&](std::size_t i, const std::string& path) -> std::string {
        auto it = indexes[i].find(path);
        return it == indexes[i].end() ? "nothing" : index_entry(it->second);
    };
    for (std::size_t i = 1; i < devices.size() && out.size() < max; ++i) {
        std::set<std::string> paths;
        for (const auto& [path, record] : indexes[0]) paths.insert(path);
        for (const auto& [path, record] : indexes[i]) paths.insert(path);
        for (const std::string& path : paths) {
            const std::string here = entry_at(0, path);
            const std::string there = entry_at(i, path);
            if (here == there) continue;
            const bool here_gone = here == "nothing" || here.starts_with("deleted");
            const bool there_gone = there == "nothing" || there.starts_with("deleted");
            if (here_gone && there_gone && (here == "nothing" || there == "nothing")) continue;
            out.push_back("index entry of " + path + ": d0 has " + here + ", " +
                          devices[i]->name + " has " + there);
            if (out.size() == max) break;
        }
    }
    return out;
}

std::vector<Violation> SimCluster::Impl::check_final() {
    std::vector<Violation> out;
    auto add = [&](const char* invariant, std::string detail) {
        if (out.size() < kMaxViolations) out.push_back({invariant, std::move(detail)});
    };
    check_visible_files();

    // (1) The same index everywhere (trees were compared by converged()).
    for (std::string& difference : index_differences(kMaxViolations))
        add("convergence", std::move(difference));
    std::vector<std::map<std::string, FileRecord>> indexes;
    for (auto& device : devices) indexes.push_back(index_of(*device));

    // (4) Each index agrees with its disk.
    for (std::size_t i = 0; i < devices.size(); ++i) {
        Device& device = *devices[i];
        const Tree tree = tree_of(device, false);
        for (const auto& [path, record] : indexes[i]) {
            auto on_disk = tree.find(path);
            if (record.deleted) {
                if (on_disk != tree.end())
                    add("index agrees with disk", device.name + ": " + path +
                                                      " is deleted in the index but on disk");
                continue;
            }
            if (on_disk == tree.end()) {
                add("index agrees with disk", device.name + ": " + path + " is indexed (" +
                                                  index_entry(record) + ") but not on disk");
                continue;
            }
            const char kind = on_disk->second[0];
            const char want = record.kind == FileKind::file        ? 'f'
                              : record.kind == FileKind::directory ? 'd'
                                                                   : 'l';
            if (kind != want) {
                add("index agrees with disk", device.name + ": " + path + " is " +
                                                  on_disk->second + " on disk, " +
                                                  index_entry(record) + " in the index");
                continue;
            }
            if (record.kind == FileKind::symlink) {
                if (on_disk->second != "l " + record.symlink_target)
                    add("index agrees with disk", device.name + ": symlink " + path + " differs");
                continue;
            }
            auto st = device.disk->lstat(path);
            if (st && (st->mode & 07777) != (record.mode & 07777))
                add("index agrees with disk", device.name + ": " + path + " has mode " +
                                                  octal(st->mode) + " on disk, " +
                                                  octal(record.mode) + " in the index");
            if (record.kind == FileKind::file) {
                HashOptions options;
                options.threads = 1;
                auto hashed = hash_file(*device.disk, path, options);
                if (!hashed || hashed->chunks != record.chunks)
                    add("index agrees with disk", device.name + ": " + path +
                                                      "'s content differs from its index entry");
            }
        }
        for (const auto& [path, what] : tree) {
            auto it = indexes[i].find(path);
            if (it == indexes[i].end() || it->second.deleted)
                add("index agrees with disk", device.name + ": " + path + " (" + what +
                                                  ") is on disk but not in the index");
        }
    }

    // (2) No lost write: every content still owed is somewhere.
    std::set<std::uint64_t> present;
    std::vector<std::string> temporaries;
    for (auto& device : devices) {
        walk(*device->disk, "", [&](const std::string& path, const FileStat& st) {
            if (st.kind != EntryKind::file) return;
            if (is_temporary_path(path)) {
                temporaries.push_back(device->name + ": " + path);
                return;
            }
            if (auto bytes = device->disk->contents(path)) present.insert(digest(*bytes));
        });
    }
    for (const auto& [d, live] : live_writes)
        if (live > 0 && present.count(d) == 0)
            add("no lost write", "the content written by " + write_origin[d] +
                                     " is nowhere: not at a path, not a conflict copy, not in "
                                     ".ferry/versions");
    for (const std::string& t : temporaries) add("no temporary left", t);

    // (5) Conflict copies only for concurrent writes, never of a conflict copy.
    for (const auto& [path, what] : tree_of(*devices[0], false)) {
        if (!is_conflict_copy(path)) continue;
        if (writers.size() <= 1)
            add("conflicts only for concurrent writes",
                path + " exists though users changed files on one device only");
        const auto first = path.find(".sync-conflict-");
        if (first != std::string::npos && path.find(".sync-conflict-", first + 1) != std::string::npos)
            add("conflicts only for concurrent writes", path + " is a conflict copy of a conflict copy");
    }
    return out;
}

}  // namespace ferry::sim
