#include "fs/filesystem.hh"

namespace ferry {

const char* entry_kind_name(EntryKind kind) {
    switch (kind) {
    case EntryKind::file: return "file";
    case EntryKind::directory: return "directory";
    case EntryKind::symlink: return "symlink";
    case EntryKind::special: return "special file";
    }
    return "unknown";
}

bool is_folder_relative(std::string_view path) {
    if (path.empty()) return true;
    std::size_t start = 0;
    while (true) {
        const std::size_t slash = path.find('/', start);
        const std::string_view part =
            path.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty() || part == "." || part == ".." || part.find('\0') != std::string_view::npos)
            return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

Result<void> write_whole_file(Filesystem& fs, std::string_view path,
                              std::span<const std::uint8_t> data, std::uint32_t mode) {
    auto file = fs.open_write(path, mode);
    if (!file) return tl::unexpected(file.error());
    if (auto r = (*file)->write_at(0, data); !r) return r;
    return {};
}

}  // namespace ferry
