// The decoded chunk lists of the files Store::find_chunk read last, so that
// serving a large file chunk by chunk decodes its list once instead of once
// per chunk (which made serving a file quadratic in its chunk count).
//
// Promises: at most kMaxFiles files and kMaxChunks chunks are held in all (a
// file with more chunks is not kept: memory stays bounded whatever the file
// sizes); the file used least recently goes first. The store calls forget()
// whenever a file's chunk list changes and clear() when a folder goes; a
// file id keeps its path and is never reused, so nothing else can make an
// entry stale. Not synchronised: the store's mutex guards it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/file_record.hh"

namespace ferry::store {

// Where a file is and where each of its chunks starts.
struct ChunkedFile {
    std::string folder_id;
    std::string path;
    std::vector<ChunkRef> chunks;
    std::vector<std::uint64_t> offsets;  // offsets[i]: the first byte of chunks[i]

    ChunkedFile(std::string folder, std::string file_path, std::vector<ChunkRef> list)
        : folder_id(std::move(folder)), path(std::move(file_path)), chunks(std::move(list)) {
        offsets.reserve(chunks.size());
        std::uint64_t offset = 0;
        for (const ChunkRef& chunk : chunks) {
            offsets.push_back(offset);
            offset += chunk.size;
        }
    }
};

class ChunkedFileCache {
public:
    static constexpr std::size_t kMaxFiles = 16;
    static constexpr std::size_t kMaxChunks = std::size_t{1} << 16;  // ~3 MiB

    // The file's entry (now the most recent), or null.
    std::shared_ptr<const ChunkedFile> find(std::int64_t file) {
        const auto it = position(file);
        if (it == m_entries.end()) return nullptr;
        std::rotate(m_entries.begin(), it, it + 1);
        return m_entries.front().second;
    }

    void put(std::int64_t file, std::shared_ptr<const ChunkedFile> entry) {
        forget(file);
        if (entry->chunks.size() > kMaxChunks) return;
        m_chunks += entry->chunks.size();
        m_entries.insert(m_entries.begin(), {file, std::move(entry)});
        while (m_chunks > kMaxChunks || m_entries.size() > kMaxFiles) {
            m_chunks -= m_entries.back().second->chunks.size();
            m_entries.pop_back();
        }
    }

    void forget(std::int64_t file) {
        const auto it = position(file);
        if (it == m_entries.end()) return;
        m_chunks -= it->second->chunks.size();
        m_entries.erase(it);
    }

    void clear() {
        m_entries.clear();
        m_chunks = 0;
    }

    std::size_t size() const { return m_entries.size(); }

private:
    using Entry = std::pair<std::int64_t, std::shared_ptr<const ChunkedFile>>;
    std::vector<Entry>::iterator position(std::int64_t file) {
        return std::find_if(m_entries.begin(), m_entries.end(),
                            [file](const Entry& e) { return e.first == file; });
    }
    std::vector<Entry> m_entries;  // most recent first
    std::size_t m_chunks = 0;
};

}  // namespace ferry::store
