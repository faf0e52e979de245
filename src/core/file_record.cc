#include "core/file_record.hh"

#include <algorithm>
#include <tuple>

#include "core/leb128.hh"

namespace ferry {

const char* file_kind_name(FileKind kind) {
    switch (kind) {
        case FileKind::file: return "file";
        case FileKind::directory: return "directory";
        case FileKind::symlink: return "symlink";
    }
    return "unknown";
}

bool same_record(const FileRecord& a, const FileRecord& b) {
    const auto fields = [](const FileRecord& r) {
        return std::tie(r.path, r.kind, r.size, r.mode, r.deleted, r.version, r.chunks,
                        r.symlink_target, r.modified_by);
    };
    const bool directories = a.kind == FileKind::directory && !a.deleted &&
                             b.kind == FileKind::directory && !b.deleted;
    return fields(a) == fields(b) && (directories || a.mtime_ns == b.mtime_ns);
}

bool same_content(const FileRecord& a, const FileRecord& b) {
    if (a.deleted || b.deleted) return a.deleted == b.deleted;
    if (a.kind != b.kind) return false;
    switch (a.kind) {
        case FileKind::file: return a.size == b.size && a.chunks == b.chunks;
        case FileKind::directory: return true;
        case FileKind::symlink: return a.symlink_target == b.symlink_target;
    }
    return false;
}

bool same_metadata(const FileRecord& a, const FileRecord& b) {
    if (a.deleted) return true;
    if (a.kind != FileKind::symlink && a.mode != b.mode) return false;
    return a.kind != FileKind::file || a.mtime_ns == b.mtime_ns;
}

std::string encode_chunk_list(std::span<const ChunkRef> chunks) {
    std::string out;
    out.reserve(chunks.size() * (sizeof(ChunkHash::bytes) + 4));
    for (const ChunkRef& c : chunks) {
        out.append(reinterpret_cast<const char*>(c.hash.bytes.data()), c.hash.bytes.size());
        append_leb128(out, c.size);
    }
    return out;
}

Result<std::vector<ChunkRef>> decode_chunk_list(std::span<const std::uint8_t> bytes) {
    constexpr std::size_t hash_size = sizeof(ChunkHash::bytes);
    std::vector<ChunkRef> out;
    // At least 33 bytes per chunk: reserve no more than the input can hold.
    out.reserve(bytes.size() / (hash_size + 1));
    std::size_t pos = 0;
    while (pos < bytes.size()) {
        // Built only on failure: decoding is on the store's hot path.
        const auto where = [&] { return "chunk list: chunk " + std::to_string(out.size()); };
        if (bytes.size() - pos < hash_size) {
            return fail(Errc::corrupt, where() + " is truncated in its hash (" +
                                           std::to_string(bytes.size() - pos) + " of 32 bytes)");
        }
        ChunkRef ref;
        std::copy_n(bytes.begin() + static_cast<std::ptrdiff_t>(pos), hash_size,
                    ref.hash.bytes.begin());
        pos += hash_size;
        const auto size = read_leb128(bytes, pos);
        if (!size) return fail(Errc::corrupt, where() + " size: " + size.error().message);
        if (*size == 0 || *size > kMaxChunkSize) {
            return fail(Errc::corrupt, where() + " has size " + std::to_string(*size) +
                                           ", outside 1.." + std::to_string(kMaxChunkSize));
        }
        ref.size = static_cast<std::uint32_t>(*size);
        out.push_back(ref);
    }
    return out;
}

}  // namespace ferry
