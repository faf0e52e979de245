#include "engine_harness.hh"

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <sys/stat.h>

#include "crypto/certificate.hh"
#include "fs/posix_filesystem.hh"
#include "net/byte_stream.hh"

namespace ferry::test {

namespace fsys = std::filesystem;

FolderStatus Node::folder_status() const {
    for (const FolderStatus& folder : engine->status().folders)
        if (folder.id == kFolderId) return folder;
    return {};
}

bool Node::has_problem(const std::string& rel) const {
    for (const PathProblem& problem : folder_status().problems)
        if (problem.path == rel) return true;
    return false;
}

std::map<std::string, std::string> tree_of(const std::string& root) {
    std::map<std::string, std::string> out;
    for (auto it = fsys::recursive_directory_iterator(root);
         it != fsys::recursive_directory_iterator(); ++it) {
        const std::string rel = it->path().lexically_relative(root).string();
        const std::string name = it->path().filename().string();
        if (rel == ".ferry" || name.rfind(".ferry-tmp.", 0) == 0) {
            it.disable_recursion_pending();
            continue;
        }
        struct stat st {};
        if (::lstat(it->path().c_str(), &st) != 0) continue;
        const std::string mode = std::to_string(st.st_mode & 07777);
        if (S_ISLNK(st.st_mode))
            out[rel] = "link:" + fsys::read_symlink(it->path()).string();
        else if (S_ISDIR(st.st_mode))
            out[rel] = "dir:" + mode;
        else
            out[rel] = "file:" + mode + ":" + read_file(it->path().string());
    }
    return out;
}

void write_file(const std::string& path, const std::string& content, unsigned mode) {
    fsys::create_directories(fsys::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << content;
    out.close();
    ::chmod(path.c_str(), mode);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::string out(size, '\0');
    for (std::size_t i = 0; i < size; i += 8) {
        const std::uint64_t v = rng();
        for (std::size_t j = 0; j < 8 && i + j < size; ++j)
            out[i + j] = static_cast<char>(v >> (8 * j));
    }
    return out;
}

namespace {

// A folder on disk behind a fault wrapper that owns it (the wrapper only
// refers to its inner filesystem, so that is made first, as a base).
struct PosixInner {
    std::unique_ptr<PosixFilesystem> posix;
};
class OwningFaultFilesystem : private PosixInner, public FaultInjectingFilesystem {
public:
    explicit OwningFaultFilesystem(const std::string& root)
        : PosixInner{std::make_unique<PosixFilesystem>(root)}, FaultInjectingFilesystem(*posix) {}
};

}  // namespace

TestCluster::TestCluster() = default;

TestCluster::~TestCluster() {
    for (auto& node : nodes)
        if (node->engine) node->engine->stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(50));
    pool.join();
    for (auto& node : nodes) node->engine.reset();
    io.run_for(std::chrono::milliseconds(10));
}

Node& TestCluster::add(const std::string& name, FolderMode mode) {
    auto node = std::make_unique<Node>();
    node->name = name;
    std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
    seed[0] = static_cast<std::uint8_t>(nodes.size() + 1);
    seed[1] = 0x5a;
    node->keys = std::make_unique<KeyPair>(KeyPair::from_seed(seed));
    std::copy(node->keys->public_key().begin(), node->keys->public_key().end(), node->key.begin());
    node->id = DeviceId::from_public_key(node->key);
    auto store = Store::open(":memory:");
    if (!store) throw std::runtime_error(store.error().message);
    node->store = std::move(*store);
    if (auto added = node->store->add_folder(Folder{kFolderId, node->root(), mode}); !added)
        throw std::runtime_error(added.error().message);
    start_engine(*node);
    nodes.push_back(std::move(node));
    return *nodes.back();
}

void TestCluster::restart(Node& node) {
    node.engine->stop();
    io.restart();
    io.run_for(std::chrono::milliseconds(100));  // its coroutines wind down
    node.engine.reset();
    node.faults = nullptr;
    start_engine(node);
}

void TestCluster::start_engine(Node& node) {
    EngineOptions options;
    options.local_device = node.id;
    options.rescan_interval = std::chrono::hours(1);  // tests ask for scans
    options.pull_window_bytes = 1u << 20;
    if (tune_options) tune_options(options);
    node.engine = std::make_unique<Engine>(
        io, pool.get_executor(), *node.store,
        [faulty = fault_filesystems, n = &node](
            const Folder& folder) -> Result<std::unique_ptr<Filesystem>> {
            if (!faulty) return std::make_unique<PosixFilesystem>(folder.path);
            auto fs = std::make_unique<OwningFaultFilesystem>(folder.path);
            n->faults = fs.get();
            return fs;
        },
        clock, options);
    if (auto started = node.engine->start(); !started)
        throw std::runtime_error(started.error().message);
}

std::pair<std::shared_ptr<PipeEnd>, std::shared_ptr<PipeEnd>> TestCluster::link(Node& a, Node& b) {
    auto ends = make_message_pipe(io.get_executor(), a.key, b.key);
    auto config = [] { return wire::ClusterConfig{}; };
    auto ignore = [](const wire::ClusterConfig&) {};
    a.engine->add_connection(ends.first, config, ignore);
    b.engine->add_connection(ends.second, config, ignore);
    return ends;
}

bool TestCluster::link_secure(Node& a, Node& b, const KeyPair& user) {
    auto [stream_a, stream_b] = make_memory_pipe(io.get_executor());
    const std::int64_t now = clock.now_ns();
    Credential credential_a = DeviceCertificate::issue(user, a.key, a.name, now);
    DeviceCertificate certificate_b = DeviceCertificate::issue(user, b.key, b.name, now);
    Authorizer trust_all = [](const PeerIdentity&) -> Result<void> { return {}; };
    std::optional<Result<std::shared_ptr<Connection>>> opened_a;
    std::optional<Result<std::shared_ptr<Connection>>> opened_b;
    // Named arguments only: GCC 12 mishandles temporaries in co_await expressions.
    asio::co_spawn(
        io,
        [&, &stream_a = stream_a]() -> asio::awaitable<void> {
            ConnectionOptions options;
            opened_a = co_await Connection::initiate(std::move(stream_a), *a.keys, credential_a,
                                                     trust_all, options);
        },
        asio::detached);
    asio::co_spawn(
        io,
        [&, &stream_b = stream_b]() -> asio::awaitable<void> {
            ConnectionOptions options;
            opened_b = co_await Connection::accept(std::move(stream_b), *b.keys, certificate_b,
                                                   trust_all, options);
        },
        asio::detached);
    if (!run_until([&] { return opened_a.has_value() && opened_b.has_value(); },
                   std::chrono::seconds(20)))
        return false;
    if (!*opened_a || !*opened_b) return false;
    auto config = [] { return wire::ClusterConfig{}; };
    auto ignore = [](const wire::ClusterConfig&) {};
    a.engine->add_connection(**opened_a, config, ignore);
    b.engine->add_connection(**opened_b, config, ignore);
    return true;
}

bool TestCluster::run_until(const std::function<bool()>& done, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        io.restart();
        io.run_for(std::chrono::milliseconds(5));
    }
    return true;
}

bool TestCluster::all_in_sync() const {
    for (const auto& node : nodes)
        if (!node->engine->status().in_sync) return false;
    return true;
}

bool TestCluster::trees_equal() const {
    for (std::size_t i = 1; i < nodes.size(); ++i)
        if (tree_of(nodes[i]->root()) != tree_of(nodes[0]->root())) return false;
    return true;
}

bool TestCluster::settle(std::chrono::seconds limit) {
    for (auto& node : nodes) node->engine->request_scan("");
    return run_until([&] { return all_in_sync() && trees_equal(); }, limit);
}

}  // namespace ferry::test
