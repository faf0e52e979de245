// Sealed chunk objects by key: the relay's bulk storage.
//
// The relay stores each account's sealed chunks as opaque objects named by
// chunk_key() (the relay chunk id in hex and the account's number), so two
// accounts never share an object and removing an account never touches
// another's. ChunkStore is the interface an object store (S3) can implement
// too (docs/ARCHITECTURE.md, "Relay scale-out"): put, get, exists, remove,
// list, reclaim. The local implementation (relay/pack_store.cc) appends
// objects to pack files under DATA/chunks/packs and indexes them in
// DATA/chunks/index.db.
//
// Guarantees: put() returns only once its objects are durable, and an object
// is either absent or complete, never partial. remove() of an absent key
// succeeds. Keys are checked (parse_chunk_key): a malformed key is
// Errc::invalid_argument.
//
// Thread rule: thread-safe; concurrent puts share their syncs. One process
// writes a data folder at a time (others may read it and remove objects).
// Two puts of one key leave one of the two contents (the relay's per-key
// locks in relay_service.cc order puts and removes of one key).
// Failures: Errc::not_found (get of an absent key), Errc::no_space,
// Errc::corrupt (an object the storage no longer holds whole), Errc::io with
// a message naming the file and operation.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hh"
#include "net/messages.hh"

namespace ferry::relay {

// "<64 lower-case hex digits of the relay chunk id>-<account number>".
std::string chunk_key(std::int64_t account, const wire::RelayChunkId& chunk);

struct ChunkKeyParts {
    std::int64_t account = 0;
    wire::RelayChunkId chunk{};
};
// The parts of a key chunk_key() made; nullopt for anything else.
std::optional<ChunkKeyParts> parse_chunk_key(std::string_view key);

struct ChunkObject {
    std::string key;  // chunk_key()
    std::string_view data;
};

class ChunkStore {
public:
    virtual ~ChunkStore() = default;

    // Stores each object's `data` under its `key`, replacing what was
    // there; all durable on return (together: one sync for them all). On
    // failure some of them may be stored.
    virtual Result<void> put(std::span<const ChunkObject> objects) = 0;
    // The object's bytes (at most wire::kMaxSealedChunk: a larger object is
    // Errc::corrupt). Errc::not_found when there is none.
    virtual Result<std::string> get(const std::string& key) = 0;
    virtual Result<bool> exists(const std::string& key) = 0;
    virtual Result<void> remove(const std::string& key) = 0;
    // Every key held, in no particular order (for the relay's orphan sweep).
    virtual Result<std::vector<std::string>> list() = 0;
    // Frees the space that removed objects and puts a crash interrupted
    // still take, leaving alone storage written less than `older_than` ago
    // (by the system clock), where a put may be finishing.
    virtual Result<void> reclaim(std::chrono::seconds older_than) = 0;
    // How full the storage under the objects is, 0.0 to 1.0 (the relay
    // refuses stores above ServiceOptions::max_disk_fraction).
    virtual Result<double> used_fraction() = 0;
};

// The local store under `data_dir`/chunks (created when missing).
Result<std::unique_ptr<ChunkStore>> open_local_chunk_store(const std::string& data_dir);

}  // namespace ferry::relay
