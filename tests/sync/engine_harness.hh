// In-process devices for engine tests: each node has a temporary folder
// (PosixFilesystem), an in-memory store and an Engine; all engines share one
// io_context run by the test thread and one worker pool. Nodes are linked
// by message pipes (message_pipe.hh) or by real Connections.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>

#include "crypto/identity.hh"
#include "fs/fault_filesystem.hh"
#include "message_pipe.hh"
#include "net/clock.hh"
#include "store/store.hh"
#include "sync/engine.hh"
#include "temp_dir.hh"

namespace ferry::test {

inline constexpr const char* kFolderId = "shared";

struct Node {
    std::string name;
    std::unique_ptr<KeyPair> keys;  // the device key (its public half is `key`)
    PublicKey key{};
    DeviceId id;
    TempDir dir;
    std::unique_ptr<Store> store;
    std::unique_ptr<Engine> engine;
    // With TestCluster::fault_filesystems: the wrapper around the folder's
    // latest filesystem (for counts, rules and hooks).
    FaultInjectingFilesystem* faults = nullptr;

    std::string root() const { return dir.path(); }
    std::string path(const std::string& rel) const { return dir / rel; }
    FolderStatus folder_status() const;
    // Whether the folder's status reports a problem with `rel`.
    bool has_problem(const std::string& rel) const;
};

// What a folder holds, for comparing devices: relative path -> kind, mode
// and content (or symlink target). `.ferry/` and temporary files are left out.
std::map<std::string, std::string> tree_of(const std::string& root);

void write_file(const std::string& path, const std::string& content, unsigned mode = 0644);
std::string read_file(const std::string& path);
// Deterministic pseudo-random bytes (incompressible, many chunks).
std::string random_bytes(std::size_t size, std::uint64_t seed);

class TestCluster {
public:
    TestCluster();
    ~TestCluster();

    Node& add(const std::string& name, FolderMode mode = FolderMode::send_receive);
    // Stops the node's engine and starts a new one over the same store and
    // folder, as a daemon restarted after a crash; its links are gone.
    void restart(Node& node);
    // Links two nodes by a message pipe; returns (a's end, b's end).
    std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> link(Node& a, Node& b);

    // Links two nodes by real secure Connections (handshake, encryption)
    // over an in-memory byte pipe, with certificates issued by `user`.
    bool link_secure(Node& a, Node& b, const KeyPair& user);

    // Runs the io_context until `done` holds (checked every few ms) or
    // `limit` passes; returns whether it holds.
    bool run_until(const std::function<bool()>& done,
                   std::chrono::seconds limit = std::chrono::seconds(30));
    // Rescans every node, then runs until every engine is in sync and every
    // folder holds the same tree.
    bool settle(std::chrono::seconds limit = std::chrono::seconds(30));
    bool all_in_sync() const;
    bool trees_equal() const;

    // Applied to each node's EngineOptions in add() (e.g. a short request_timeout).
    std::function<void(EngineOptions&)> tune_options;
    // Whether add() wraps each folder's filesystem in a FaultInjectingFilesystem.
    bool fault_filesystems = false;

    asio::io_context io;
    asio::thread_pool pool{2};
    SystemClock clock;
    std::vector<std::unique_ptr<Node>> nodes;

private:
    void start_engine(Node& node);  // with tune_options and fault_filesystems
};

}  // namespace ferry::test
