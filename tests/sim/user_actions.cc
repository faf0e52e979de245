// What the simulated users do to their disks (SimCluster::Impl::apply_user_step).
// A user works on the disk directly, whether the daemon runs or not, and
// makes each change durable (as an editor's save does: fsync, then the
// directory), so a power cut loses none of it. Each write is recorded for the no-lost-write check; each
// change records what it replaced, which its user saw and so may be gone.
#include <algorithm>
#include <random>

#include "core/conflict_name.hh"
#include "core/path_rules.hh"
#include "sim_impl.hh"

namespace ferry::sim {
namespace {

constexpr int kMaxDepth = 3;

std::string make_bytes(std::uint64_t seed, std::size_t size) {
    std::mt19937_64 rng(seed);
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t v = rng();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j) out[i + j] = static_cast<char>(v >> (8 * j));
    }
    return out;
}

std::string parent_of(const std::string& path) {
    const auto slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
}

int depth(const std::string& path) {
    return path.empty() ? 0 : 1 + static_cast<int>(std::count(path.begin(), path.end(), '/'));
}

struct Entries {
    std::vector<std::string> files;
    std::vector<std::string> dirs{""};  // the folder itself first
    std::vector<std::string> links;
    std::vector<std::string> all;  // files, directories (not the root) and symlinks
};

// Conflict copies are left alone, so that a conflict copy of one can only
// come from the engine (invariant 5).
Entries entries_of(const Tree& tree) {
    Entries out;
    for (const auto& [path, what] : tree) {
        if (is_conflict_copy(path)) continue;
        if (what[0] == 'f') out.files.push_back(path);
        if (what[0] == 'd') out.dirs.push_back(path);
        if (what[0] == 'l') out.links.push_back(path);
        out.all.push_back(path);
    }
    return out;
}

template <class T>
const T* pick_from(const std::vector<T>& items, std::uint32_t pick) {
    return items.empty() ? nullptr : &items[pick % items.size()];
}

}  // namespace

void SimCluster::Impl::apply_user_step(const Step& step) {
    Device& device = *devices[static_cast<std::size_t>(step.device)];
    MemoryFilesystem& disk = *device.disk;
    const Tree tree = tree_of(device, false);
    const Entries entries = entries_of(tree);
    writers.insert(device.index);
    const std::string origin = "step " + std::to_string(steps_run) + " (" +
                               step_kind_name(step.kind) + ") on ";

    auto contents = [&](Device& d, const std::string& path) -> std::optional<std::string> {
        auto bytes = d.disk->contents(path);
        if (!bytes) return std::nullopt;
        return *bytes;
    };
    // The user saw what is at `path` (a file) and replaces or deletes it.
    auto replaced = [&](Device& d, const std::string& path) {
        auto old = contents(d, path);
        if (!old || old->empty()) return;
        auto live = live_writes.find(digest(*old));
        if (live != live_writes.end() && live->second > 0) --live->second;
    };
    auto replaced_tree = [&](Device& d, const std::string& dir) {
        for (const auto& [path, what] : tree_of(d, false))
            if (what[0] == 'f' && path != dir && is_within(path, dir))
                replaced(d, path);
    };
    auto sync_dir = [&](Device& d, const std::string& path) {
        (void)d.disk->sync_dir(parent_of(path));
    };
    auto write = [&](Device& d, const std::string& path, const std::string& bytes,
                     std::uint32_t mode) {
        auto file = d.disk->open_write(path, mode);
        if (!file) return;
        const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
        if (!(*file)->write_at(0, std::span(data, bytes.size())) || !(*file)->sync()) return;
        file->reset();
        sync_dir(d, path);
        writers.insert(d.index);
        known_contents.insert(digest(bytes));
        if (bytes.empty()) return;
        ++live_writes[digest(bytes)];
        write_origin.emplace(digest(bytes), origin + d.name + " at " + path);
    };
    auto new_name = [&](const char* prefix, std::uint32_t pick, int pool) {
        const std::string* dir = pick_from(entries.dirs, pick);
        std::string parent = dir != nullptr && depth(*dir) < kMaxDepth ? *dir : std::string();
        return join_path(parent, prefix + std::to_string((pick >> 8) % static_cast<std::uint32_t>(pool)));
    };

    const std::string* file = pick_from(entries.files, step.pick);
    switch (step.kind) {
        case StepKind::create: {
            const std::string path = new_name("f", step.pick, 6);
            auto it = tree.find(path);
            if (it != tree.end() && it->second[0] != 'f') break;
            if (it != tree.end()) replaced(device, path);
            write(device, path, make_bytes(step.content, step.size), 0644);
            break;
        }
        case StepKind::overwrite:
        case StepKind::truncate:
        case StepKind::append:
        case StepKind::insert: {
            if (file == nullptr) break;
            auto old = contents(device, *file);
            if (!old) break;
            std::string bytes;
            const std::string extra = make_bytes(step.content, 1 + step.size % 4'096);
            const std::size_t at = old->empty() ? 0 : step.pick2 % (old->size() + 1);
            if (step.kind == StepKind::overwrite) bytes = make_bytes(step.content, step.size);
            if (step.kind == StepKind::truncate) bytes = old->substr(0, at);
            if (step.kind == StepKind::append) bytes = *old + extra;
            if (step.kind == StepKind::insert) bytes = old->substr(0, at) + extra + old->substr(at);
            const std::string path = *file;  // `file` points into entries
            replaced(device, path);
            auto st = disk.lstat(path);
            write(device, path, bytes, st ? st->mode : 0644);
            break;
        }
        case StepKind::duplicate: {
            if (file == nullptr) break;
            auto bytes = contents(device, *file);
            const std::string path = new_name("c", step.pick2, 4);
            if (!bytes || tree.count(path) != 0) break;
            write(device, path, *bytes, 0644);
            break;
        }
        case StepKind::edit_shared: {
            // The same path on several devices at once: a true conflict.
            const std::string path = file != nullptr ? *file : "shared" + std::to_string(step.pick % 3);
            const std::uint32_t who = step.devices | (1u << step.device);
            for (auto& d : devices) {
                if (((who >> d->index) & 1) == 0) continue;
                auto st = d->disk->lstat(path);
                if (st && st->kind != EntryKind::file) continue;
                if (!d->disk->lstat(parent_of(path))) continue;  // that device lacks the folder
                if (st) replaced(*d, path);
                write(*d, path, make_bytes(step.content + static_cast<std::uint64_t>(d->index), 1 + step.size % 8'000), 0644);
                if (d->up) d->engine->request_scan("");
            }
            break;
        }
        case StepKind::remove: {
            std::vector<std::string> removable = entries.files;
            removable.insert(removable.end(), entries.links.begin(), entries.links.end());
            const std::string* path = pick_from(removable, step.pick);
            if (path == nullptr) break;
            replaced(device, *path);
            if (disk.remove(*path)) sync_dir(device, *path);
            break;
        }
        case StepKind::remove_tree: {
            if (entries.dirs.size() < 2) break;
            const std::string dir = entries.dirs[1 + step.pick % (entries.dirs.size() - 1)];
            replaced_tree(device, dir);
            // Deepest first.
            for (auto it = tree.rbegin(); it != tree.rend(); ++it)
                if (it->first != dir && is_within(it->first, dir))
                    (void)disk.remove(it->first);
            if (disk.remove(dir)) sync_dir(device, dir);
            break;
        }
        case StepKind::rename: {
            const std::string* from = pick_from(entries.all, step.pick);
            if (from == nullptr) break;
            const std::string source = *from;
            const bool is_dir = tree.at(source)[0] == 'd';
            std::string to = new_name(is_dir ? "d" : "f", step.pick2, is_dir ? 4 : 6);
            if (is_within(to, source)) break;
            auto it = tree.find(to);
            if (it != tree.end()) {
                if (it->second[0] == 'd') break;  // only files are replaced
                if (is_dir) break;
                replaced(device, to);
            }
            if (disk.rename(source, to)) {
                sync_dir(device, source);
                sync_dir(device, to);
            }
            break;
        }
        case StepKind::mkdir: {
            const std::string path = new_name("d", step.pick, 4);
            if (tree.count(path) == 0 && disk.make_dir(path, 0755)) {
                sync_dir(device, path);
                (void)disk.sync_dir(path);
            }
            break;
        }
        case StepKind::rmdir: {
            std::vector<std::string> empty;
            for (std::size_t i = 1; i < entries.dirs.size(); ++i) {
                const std::string& dir = entries.dirs[i];
                auto next = tree.upper_bound(dir);
                if (next == tree.end() || !is_within(next->first, dir))
                    empty.push_back(dir);
            }
            const std::string* path = pick_from(empty, step.pick);
            if (path != nullptr && disk.remove(*path)) sync_dir(device, *path);
            break;
        }
        case StepKind::chmod: {
            if (file == nullptr) break;
            static constexpr std::uint32_t kModes[] = {0644, 0755, 0600, 0640};
            if (!disk.set_mode(*file, kModes[step.pick2 % 4])) break;
            if (auto f = disk.open_update(*file, 0644)) (void)(*f)->sync();  // durable
            break;
        }
        case StepKind::symlink: {
            const std::string path = new_name("l", step.pick, 3);
            if (tree.count(path) == 0 &&
                disk.make_symlink("f" + std::to_string(step.pick2 % 6), path))
                sync_dir(device, path);
            break;
        }
        default:
            break;
    }
    if (device.up) device.engine->request_scan("");
}

}  // namespace ferry::sim
