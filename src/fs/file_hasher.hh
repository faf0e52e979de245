// Chunking and hashing one file: its ordered chunk list.
//
// Reads the file in fixed buffers (memory does not depend on the file size;
// only the result grows, 36 bytes a chunk). A file larger than one segment
// is split into segments that the threads chunk and hash concurrently, each
// as if a chunk began at its start; the results are then stitched: from the
// last true cut before a segment boundary the chunker runs on sequentially
// until one of its cuts coincides with a cut found in the next segment, and
// from there on both agree (cuts depend only on the previous cut's position
// and the bytes). So the chunk list is exactly the one a single sequential
// pass gives, whatever the thread count and segment size. A file of one
// segment or less is done on the calling thread: no thread start-up.
//
// Detects a file that changed while it was read: its stat before and after
// (size, mtime, ctime, inode) differ, or it ends before its stat size, or
// another open of it for a second thread is a different file ->
// Errc::changed (scan it again). Other failures come from the Filesystem.
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

// Default segment size: the file's size / (2 x threads), within these
// bounds, so a file of a few MiB already uses every core and one of 2 MiB or
// less stays on the caller thread. Each segment boundary costs about 1.5
// chunks chunked and hashed twice (serially, when stitching): 1 GiB on two
// threads took 1.41-1.56 s of CPU with 1 MiB segments, 1.24-1.28 s with
// 16 MiB (bench/hash-file-bench --segment).
inline constexpr std::uint64_t kMinSegmentSize = 2 * 1024 * 1024;
inline constexpr std::uint64_t kMaxSegmentSize = 16 * 1024 * 1024;

struct HashOptions {
    ChunkerParams params = kChunkerParams;
    unsigned threads = 0;  // 0: one per core; 1: on the calling thread only
    // Bytes chunked independently by one thread before stitching; 0: the
    // default (see above). Any size gives the same chunks.
    std::uint64_t segment_size = 0;
    // Called with the bytes read so far, from the hashing threads, never by
    // two at once.
    std::function<void(std::uint64_t)> on_bytes;
};

Result<HashedFile> hash_file(Filesystem& fs, std::string_view path, const HashOptions& options = {});

}  // namespace ferry
