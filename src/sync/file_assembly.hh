// How FolderWriter::begin_file() builds a file (internal to src/sync).
//
// The temporary file is temporary_path(target, derive_unique(path, chunk
// list)), so an interrupted transfer of the same version finds it again:
// every chunk range already in it is hashed, and those that match count as
// present. Then each missing chunk is copied from the temporary file itself
// (a chunk repeated in the file) or from a local file that the index says
// holds it (Store::find_chunk, this folder only), each read verified against
// its hash, since the file may have changed since it was scanned. The
// temporary file is written with mode 0600 until finish(); an assembly
// destroyed before publish() leaves it for the next attempt.
//
// Memory: while begin_file() runs (resuming, local copies), one buffer of the
// largest chunk in the list (<= kMaxChunkSize); none afterwards.
#pragma once

#include <memory>
#include <string>

#include "core/error.hh"
#include "core/file_record.hh"
#include "fs/filesystem.hh"
#include "net/clock.hh"
#include "store/store.hh"
#include "sync/folder_writer.hh"
#include "sync/versions.hh"

namespace ferry {

struct AssemblyContext {
    Filesystem& fs;
    Store& store;
    Versions& versions;
    const Clock& clock;
    std::string folder_id;
};

// Where the file of `target` is built (the temporary path above).
std::string assembly_path(const FileRecord& target);

// REQUIRES: target.kind == file, not deleted, chunk sizes in
// 1..kMaxChunkSize adding up to target.size (checked: Errc::invalid_argument).
Result<std::unique_ptr<FileAssembly>> assemble_file(const AssemblyContext& context, const FileRecord& target);

}  // namespace ferry
