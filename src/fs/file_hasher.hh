// Chunking and hashing one file: its ordered chunk list.
//
// Reads the file in fixed buffers (memory does not depend on the file size)
// and overlaps reading, chunking and hashing across threads, so one large
// file uses every core. Detects a file that changed while it was read (its
// stat before and after differ) and returns Errc::changed.
//
// Thread rule: hash_file() blocks its caller; it may run on any thread and
// several calls may run at once.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

#include "core/chunker.hh"
#include "core/error.hh"
#include "core/file_record.hh"
#include "fs/filesystem.hh"

namespace ferry {

struct HashedFile {
    std::vector<ChunkRef> chunks;
    FileStat stat;  // the stat the contents correspond to
};

struct HashOptions {
    ChunkerParams params = kChunkerParams;
    unsigned threads = 0;  // 0: one per core; 1: on the calling thread only
    // Called with bytes hashed so far, from the hashing threads.
    std::function<void(std::uint64_t)> on_bytes;
};

Result<HashedFile> hash_file(Filesystem& fs, std::string_view path, const HashOptions& options = {});

}  // namespace ferry
