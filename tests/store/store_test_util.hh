// Helpers shared by the store's tests: raw SQL access behind the store's
// back and record builders; temporary folders are TempDir of
// tests/fs/temp_dir.hh.
#pragma once

#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "store/store.hh"
#include "temp_dir.hh"

namespace ferry::test {

// Runs SQL on a database file behind the store's back (to damage it or
// inspect it the way another program would).
inline void raw_sql(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
    INFO((error ? error : ""));
    sqlite3_free(error);
    sqlite3_close(db);
    REQUIRE(rc == SQLITE_OK);
}

inline std::string raw_text(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(stmt) == SQLITE_ROW) out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return out;
}

// Requires success, showing the error's message when there is one.
#define REQUIRE_OK(expr)                                    \
    do {                                                    \
        const auto& result_ = (expr);                       \
        if (!result_) FAIL(result_.error().message);        \
    } while (false)

inline std::unique_ptr<Store> open_store(const std::string& path = ":memory:") {
    auto store = Store::open(path);
    if (!store) FAIL(store.error().message);
    return std::move(*store);
}

inline ChunkHash random_hash(std::mt19937_64& rng) {
    ChunkHash hash;
    for (auto& b : hash.bytes) b = static_cast<std::uint8_t>(rng());
    return hash;
}

inline VersionVector version_of(std::uint64_t id, int changes) {
    VersionVector v;
    for (int i = 0; i < changes; ++i) v.increment(ShortId{id});
    return v;
}

inline FileRecord file_record(const std::string& path, std::vector<ChunkRef> chunks) {
    FileRecord r;
    r.path = path;
    r.kind = FileKind::file;
    for (const auto& c : chunks) r.size += c.size;
    r.mtime_ns = 1'700'000'000'123'456'789;
    r.mode = 0644;
    r.version = version_of(0xa1b2c3d4e5f60718, 2);
    r.chunks = std::move(chunks);
    r.modified_by = ShortId{0xa1b2c3d4e5f60718};
    return r;
}

inline FileRecord dir_record(const std::string& path) {
    FileRecord r;
    r.path = path;
    r.kind = FileKind::directory;
    r.mode = 0755;
    r.version = version_of(7, 1);
    r.modified_by = ShortId{7};
    return r;
}

inline Result<void> put(Store& store, const std::string& folder, std::vector<FileRecord> records) {
    std::vector<FileUpdate> updates;
    for (auto& r : records) updates.push_back(FileUpdate{std::move(r), 0});
    return store.put_files(folder, updates);
}

inline void add_folder(Store& store, const std::string& id, const std::string& path) {
    auto ok = store.add_folder(Folder{id, path, FolderMode::send_receive});
    if (!ok) FAIL(ok.error().message);
}

}  // namespace ferry::test
