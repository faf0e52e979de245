// Shared by the scanner's tests: fixtures for the in-memory filesystem and
// real temporary folders, a store with one folder, and small helpers.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <fstream>

#include "core/ignore.hh"
#include "fs/fault_filesystem.hh"
#include "fs/file_hasher.hh"
#include "fs/memory_filesystem.hh"
#include "fs/posix_filesystem.hh"
#include "fs/scanner.hh"
#include "noise.hh"
#include "temp_dir.hh"

namespace ferry::test::scanner {

using namespace ferry;
using ferry::test::noise;
using ferry::test::TempDir;

constexpr ShortId kDevice{0xA1};
inline const std::string kFolder = "docs";

inline std::vector<std::uint8_t> bytes(std::string_view s) { return {s.begin(), s.end()}; }

inline void put(Filesystem& fs, std::string_view path, std::string_view content, std::uint32_t mode = 0644) {
    REQUIRE(write_whole_file(fs, path, bytes(content), mode));
}

struct MemoryFixture {
    MemoryFilesystem fs;
    void make_special(const std::string& path) { REQUIRE(fs.make_special(path)); }
    void append(const std::string& path, std::string_view data) { REQUIRE(fs.append(path, bytes(data))); }
    static constexpr bool real = false;
};

struct PosixFixture {
    TempDir dir;
    PosixFilesystem fs{dir.path()};
    void make_special(const std::string& path) { REQUIRE(::mkfifo((dir / path).c_str(), 0644) == 0); }
    void append(const std::string& path, std::string_view data) {
        std::ofstream(dir / path, std::ios::app | std::ios::binary) << data;
    }
    static constexpr bool real = true;
};

// The record of what is on disk at `path` now, as device `by` made it.
inline FileRecord record_on_disk(Filesystem& fs, const std::string& path, VersionVector version,
                                 ShortId by) {
    const FileStat st = fs.lstat(path).value();
    FileRecord r;
    r.path = path;
    r.kind = st.kind == EntryKind::directory ? FileKind::directory : FileKind::file;
    r.size = r.kind == FileKind::file ? st.size : 0;
    r.mtime_ns = st.mtime_ns;
    r.mode = st.mode;
    if (r.kind == FileKind::file) r.chunks = hash_file(fs, path).value().chunks;
    r.version = std::move(version);
    r.modified_by = by;
    return r;
}

inline std::unique_ptr<Store> open_store() {
    auto store = Store::open(":memory:");
    REQUIRE(store);
    REQUIRE((*store)->add_folder(Folder{kFolder, "/unused/by/these/tests", FolderMode::send_receive}));
    return std::move(*store);
}

inline ScanResult scan(Filesystem& fs, Store& store, ScanOptions options = {}) {
    options.local_device = kDevice;
    if (options.now_ns == 0) options.now_ns = 1'700'000'000'000'000'000;
    auto result = scan_folder(fs, store, kFolder, options);
    if (!result) FAIL(result.error().message);
    return std::move(*result);
}

inline FileRecord record(Store& store, std::string_view path) {
    auto r = store.get_file(kFolder, path);
    REQUIRE(r);
    if (!*r) FAIL("no record for " << path);
    return **r;
}

inline bool has_record(Store& store, std::string_view path) {
    auto r = store.get_file(kFolder, path);
    REQUIRE(r);
    return r->has_value();
}

inline Sequence sequence(Store& store) { return store.folder_stats(kFolder).value().sequence; }

inline bool has_issue(const ScanResult& result, std::string_view path, std::string_view words) {
    return std::any_of(result.issues.begin(), result.issues.end(), [&](const ScanIssue& i) {
        return i.path == path && i.message.find(words) != std::string::npos;
    });
}

// The tree most tests start from.
inline void make_tree(Filesystem& fs) {
    put(fs, "top.txt", "top level");
    REQUIRE(fs.make_dir("a", 0755));
    put(fs, "a/small.txt", "small file");
    put(fs, "a/big.bin", noise(700'000, 1), 0600);  // several chunks
    REQUIRE(fs.make_dir("a/b", 0700));
    put(fs, "a/b/deep.txt", "deep");
    REQUIRE(fs.make_dir("empty", 0755));
    REQUIRE(fs.make_symlink("a/small.txt", "link"));
}


}  // namespace ferry::test::scanner

#define BOTH_FILESYSTEMS MemoryFixture, PosixFixture
