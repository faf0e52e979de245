// Record builders shared by the planner's tests.
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/planner.hh"

namespace ferry::test {

inline constexpr ShortId kA{0xA000000000000001};
inline constexpr ShortId kB{0xB000000000000002};
inline constexpr ShortId kC{0xC000000000000003};

inline VersionVector vv(std::initializer_list<std::pair<ShortId, int>> counts) {
    VersionVector v;
    for (const auto& [id, n] : counts) {
        for (int i = 0; i < n; ++i) v.increment(id);
    }
    return v;
}

// One chunk per content id; equal ids are equal content.
inline ChunkRef content_chunk(std::uint64_t content, std::uint32_t size = 1000) {
    ChunkRef c;
    for (std::size_t i = 0; i < 8; ++i)
        c.hash.bytes[i] = static_cast<std::uint8_t>(content >> (8 * i));
    c.size = size;
    return c;
}

inline std::int64_t seconds(std::int64_t s) {
    return s * 1'000'000'000;
}

inline FileRecord file(std::string path, VersionVector v, ShortId by, std::int64_t mtime_s,
                       std::uint64_t content, std::uint32_t mode = 0644) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::file;
    r.chunks = {content_chunk(content)};
    r.size = r.chunks[0].size;
    r.mtime_ns = seconds(mtime_s);
    r.mode = mode;
    r.version = std::move(v);
    r.modified_by = by;
    return r;
}

inline FileRecord directory(std::string path, VersionVector v, ShortId by, std::int64_t mtime_s,
                            std::uint32_t mode = 0755) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::directory;
    r.mtime_ns = seconds(mtime_s);
    r.mode = mode;
    r.version = std::move(v);
    r.modified_by = by;
    return r;
}

inline FileRecord symlink(std::string path, VersionVector v, ShortId by, std::int64_t mtime_s,
                          std::string target) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::symlink;
    r.symlink_target = std::move(target);
    r.mtime_ns = seconds(mtime_s);
    r.mode = 0777;
    r.version = std::move(v);
    r.modified_by = by;
    return r;
}

inline FileRecord tombstone(std::string path, VersionVector v, ShortId by, std::int64_t mtime_s,
                            FileKind kind = FileKind::file) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = kind;
    r.deleted = true;
    r.mtime_ns = seconds(mtime_s);
    r.version = std::move(v);
    r.modified_by = by;
    return r;
}

// Equal as the records every device should end with: all but the sequence.
inline bool same_but_sequence(FileRecord a, FileRecord b) {
    a.sequence = b.sequence;
    return a == b;
}

}  // namespace ferry::test
