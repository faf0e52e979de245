// The file record: what the index knows of one path in one folder.
//
// A record describes a regular file, a directory or a symlink, or a deleted
// one (a tombstone, which keeps its version so the delete syncs). A file's
// identity is its ordered chunk list; offsets follow from the sizes. Pure
// value types.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/error.hh"
#include "core/types.hh"
#include "core/version_vector.hh"

namespace ferry {

enum class FileKind : std::uint8_t { file = 0, directory = 1, symlink = 2 };

const char* file_kind_name(FileKind kind);  // "file", "directory", "symlink"

struct ChunkRef {
    ChunkHash hash;
    std::uint32_t size = 0;
    friend bool operator==(const ChunkRef&, const ChunkRef&) = default;
};

struct FileRecord {
    std::string path;  // folder-relative, normalised (core/path_rules.hh)
    FileKind kind = FileKind::file;
    std::uint64_t size = 0;     // bytes; 0 for directories and tombstones
    std::int64_t mtime_ns = 0;  // modification time, ns since the Unix epoch
    std::uint32_t mode = 0;     // permission bits (07777)
    bool deleted = false;       // a tombstone
    VersionVector version;
    std::vector<ChunkRef> chunks;  // files only, in order
    std::string symlink_target;    // symlinks only, as read (never followed)
    Sequence sequence;             // local index order of this change
    ShortId modified_by;           // device that made this version

    friend bool operator==(const FileRecord&, const FileRecord&) = default;
};

// Whether two records are the same version of a path: equal in every field
// but those each device has of its own: the sequence, and a live
// directory's mtime (which follows its entries on each disk).
bool same_record(const FileRecord& a, const FileRecord& b);
// Whether two records hold the same content: both tombstones, or the same
// kind and chunk list (files), symlink target (symlinks); directories
// always do.
bool same_content(const FileRecord& a, const FileRecord& b);
// Whether b has a's metadata as sync sets it: permission bits (not a
// symlink's, which Linux ignores) and a file's mtime (a directory's follows
// its entries). Always true for a tombstone `a`.
bool same_metadata(const FileRecord& a, const FileRecord& b);

// The mode sync gives an entry whose record says `mode`: the permission
// bits and the sticky bit, never setuid or setgid (a peer must not be able
// to plant a setuid program on a device that runs ferry as root).
inline std::uint32_t safe_mode(std::uint32_t mode) { return mode & 01777; }

// No chunk is larger (the chunker's max_size may not exceed it).
inline constexpr std::uint32_t kMaxChunkSize = 16 * 1024 * 1024;

// The chunk list in its compact stored form: per chunk 32 bytes of hash
// followed by the size as LEB128; an empty file has an empty list. REQUIRES:
// sizes in 1..kMaxChunkSize. Decoding returns Errc::corrupt, naming the
// chunk, for truncated input, overlong varints, zero sizes and sizes over
// kMaxChunkSize.
std::string encode_chunk_list(std::span<const ChunkRef> chunks);
Result<std::vector<ChunkRef>> decode_chunk_list(std::span<const std::uint8_t> bytes);

}  // namespace ferry
