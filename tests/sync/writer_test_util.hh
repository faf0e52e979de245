// Shared by the folder writer, versions and name clash tests: folders on the
// in-memory and on a real filesystem, a store with one folder, file records
// made from content with ferry's chunker, a FolderWriter with its own store.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <vector>

#include "core/chunk_hash.hh"
#include "core/chunker.hh"
#include "core/file_record.hh"
#include "fs/memory_filesystem.hh"
#include "fs/posix_filesystem.hh"
#include "fs/scanner.hh"
#include "net/clock.hh"
#include "noise.hh"
#include "store/store.hh"
#include "sync/folder_writer.hh"
#include "sync/versions.hh"
#include "temp_dir.hh"

namespace ferry::test {

inline const std::string kFolder = "docs";
// 2026-11-25 16:17:47 UTC
inline constexpr std::int64_t kNow = 1'795'623'467LL * 1'000'000'000 + 123'456'789;
inline constexpr std::int64_t kSecond = 1'000'000'000;
inline constexpr std::int64_t kDay = 86'400 * kSecond;

inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

inline void put(Filesystem& fs, std::string_view path, std::string_view content, std::uint32_t mode = 0644) {
    REQUIRE(write_whole_file(fs, path, as_bytes(content), mode));
}

inline std::string read_all(Filesystem& fs, std::string_view path) {
    auto file = fs.open_read(path);
    if (!file) FAIL(file.error().message);
    std::string out;
    std::vector<std::uint8_t> buf(64 * 1024);
    while (true) {
        auto n = (*file)->read_at(out.size(), buf);
        REQUIRE(n);
        if (*n == 0) return out;
        out.append(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
}

inline bool exists(Filesystem& fs, std::string_view path) { return static_cast<bool>(fs.lstat(path)); }

// The record of a file holding `content`, chunked as the scanner would.
inline FileRecord file_record(std::string path, std::string_view content, std::uint32_t mode = 0644,
                              std::int64_t mtime_ns = 1'600'000'000'000'000'000) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = FileKind::file;
    r.size = content.size();
    r.mtime_ns = mtime_ns;
    r.mode = mode;
    std::size_t offset = 0;
    for (const std::uint32_t size : chunk_sizes(as_bytes(content))) {
        r.chunks.push_back(ChunkRef{hash_chunk(as_bytes(content.substr(offset, size))), size});
        offset += size;
    }
    return r;
}

// The bytes of chunk `index` of `record`, taken from `content`.
inline std::string chunk_data(const FileRecord& record, std::string_view content, std::size_t index) {
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index; ++i) offset += record.chunks[i].size;
    return std::string(content.substr(offset, record.chunks[index].size));
}

inline std::unique_ptr<Store> open_store() {
    auto store = Store::open(":memory:");
    REQUIRE(store);
    REQUIRE((*store)->add_folder(Folder{kFolder, "/unused/by/these/tests", FolderMode::send_receive}));
    return std::move(*store);
}

struct MemoryFolder {
    MemoryFilesystem fs;
    static constexpr bool real = false;
};

struct PosixFolder {
    TempDir dir;
    PosixFilesystem fs{dir.path()};
    static constexpr bool real = true;
};

inline constexpr ShortId kDevice{0xA1};

// A writer over `fs` with its own store, versions and clock.
struct Writer {
    explicit Writer(Filesystem& filesystem) : fs(filesystem) {}
    Filesystem& fs;
    std::unique_ptr<Store> store = open_store();
    ManualClock clock{kNow};
    Versions versions{fs};
    FolderWriter writer{fs, *store, kFolder, versions, clock};

    void scan() {
        ScanOptions options;
        options.local_device = kDevice;
        options.now_ns = kNow;
        auto result = scan_folder(fs, *store, kFolder, options);
        if (!result) FAIL(result.error().message);
    }
    FileRecord local(std::string_view path) {
        auto r = store->get_file(kFolder, path);
        REQUIRE(r);
        if (!*r) FAIL("no record for " << path);
        return **r;
    }
    std::unique_ptr<FileAssembly> begin(const FileRecord& target) {
        auto assembly = writer.begin_file(target);
        if (!assembly) FAIL(assembly.error().message);
        return std::move(*assembly);
    }
    // What the engine does with a finished file, for one file alone: finish,
    // make the data durable, publish (the engine then syncs the new name).
    Result<FileStat> commit(FileAssembly& assembly) {
        if (auto finished = assembly.finish(); !finished) return tl::unexpected(finished.error());
        const std::vector<std::string> temporary{assembly.temporary_path()};
        if (auto synced = fs.sync_paths(temporary); !synced) return tl::unexpected(synced.error());
        auto published = assembly.publish();
        if (!published) return tl::unexpected(published.error());
        return published->stat;
    }
};

}  // namespace ferry::test
