#include "sync/write_steps.hh"

#include "core/chunk_hash.hh"
#include "core/ignore.hh"
#include "core/leb128.hh"
#include "core/path_rules.hh"
#include "sync/versions.hh"

namespace ferry {

std::string_view parent_path(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

std::string_view base_name(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

tl::unexpected<Error> in_context(Error error, std::string_view context) {
    error.message.insert(0, std::string(context) + ": ");
    return tl::unexpected(std::move(error));
}

Result<void> check_writable_path(std::string_view path, std::string_view context) {
    if (path.empty() || !is_folder_relative(path))
        return fail(Errc::invalid_argument, std::string(context) + ": '" + printable_path(path) +
                                                "' is not a path inside the folder");
    if (is_internal_path(path))
        return fail(Errc::invalid_argument, std::string(context) + ": '" + printable_path(path) +
                                                "' is ferry's own (.ferry/ or a temporary file)");
    return {};
}

std::uint64_t derive_unique(std::initializer_list<std::string_view> parts) {
    std::string bytes;
    for (const std::string_view part : parts) {
        append_leb128(bytes, part.size());
        bytes.append(part);
    }
    const ChunkHash h = hash_chunk(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
    std::uint64_t unique = 0;
    for (std::size_t i = 0; i < 8; ++i) unique = (unique << 8) | h.bytes[i];
    return unique;
}

std::string temporary_path(std::string_view path, std::uint64_t unique) {
    return join_path(parent_path(path), temporary_name(base_name(path), unique));
}

Result<void> make_dirs(Filesystem& fs, std::string_view dir) {
    if (dir.empty()) return {};
    // Most often the directory is there already: one lstat instead of a walk.
    if (auto st = fs.lstat(dir); st && st->kind == EntryKind::directory) return {};
    for (std::size_t end = 0; end != std::string_view::npos;) {
        end = dir.find('/', end + 1);
        const std::string_view level = dir.substr(0, end);
        if (auto made = fs.make_dir(level, 0755); !made) {
            if (made.error().code != Errc::already_exists) return made;
            continue;
        }
        // Else a power cut loses the new directory, and whatever is later
        // made durable in it with it.
        if (auto synced = fs.sync_dir(parent_path(level)); !synced) return synced;
    }
    return {};
}

Result<std::string> clear_for_replacement(Filesystem& fs, Versions& versions, std::string_view path,
                                          std::int64_t now_ns, KeptSync sync) {
    auto st = fs.lstat(path);
    if (!st) return st.error().code == Errc::not_found ? Result<std::string>() : tl::unexpected(st.error());
    switch (st->kind) {
    case EntryKind::file:
    case EntryKind::symlink: return versions.keep(path, now_ns, sync);
    case EntryKind::directory: {
        auto entries = fs.list_dir(path);
        if (!entries) return tl::unexpected(entries.error());
        if (!entries->empty())
            return fail(Errc::busy, "'" + printable_path(path) + "' is a directory that still holds " +
                                        std::to_string(entries->size()) +
                                        " entries; it is replaced once they are gone");
        if (auto removed = fs.remove(path); !removed) return tl::unexpected(removed.error());
        return std::string();
    }
    case EntryKind::special: break;
    }
    return fail(Errc::unsupported, "'" + printable_path(path) +
                                       "' is a special file (FIFO, socket or device) in the way; move it elsewhere");
}

}  // namespace ferry
