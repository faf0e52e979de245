// A hostile peer in the same process: it speaks the protocol through a
// message pipe but sends bad names, wrong chunk data and malformed
// records. The engine must report each, write nothing outside the folder,
// and keep syncing with everyone else.
#include <filesystem>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <catch2/catch.hpp>

#include "core/chunk_hash.hh"
#include "engine_harness.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr std::uint64_t kHostileIndex = 77;

// The hostile side of a pipe: records what it receives and answers chunk
// requests with `answer` (nothing when it returns nullopt). Its coroutines
// own what they use (the pipe end, the log, a copy of `answer`), so they may
// outlive the Hostile until the engine closes the pipe at the test's end.
struct Hostile {
    std::shared_ptr<PipeEnd> end;         // the hostile's
    std::shared_ptr<PipeEnd> engine_end;  // the engine's
    std::shared_ptr<std::vector<wire::Message>> received =
        std::make_shared<std::vector<wire::Message>>();
    std::function<std::optional<std::string>(const wire::Request&)> answer;
    ShortId id;

    void start(asio::io_context& io) {
        asio::co_spawn(
            io,
            [pipe = end, log = received, reply = answer]() -> asio::awaitable<void> {
                for (;;) {
                    auto message = co_await pipe->receive();
                    if (!message) co_return;
                    if (const auto* request = std::get_if<wire::Request>(&*message);
                        request && reply) {
                        if (auto data = reply(*request)) {
                            wire::Message response =
                                wire::Response{request->id, wire::ResponseCode::ok, false, *data};
                            co_await pipe->send(response);
                        }
                    }
                    log->push_back(std::move(*message));
                }
            },
            asio::detached);
    }
    void send(asio::io_context& io, wire::Message message) {
        asio::co_spawn(
            io,
            [pipe = end, m = std::move(message)]() -> asio::awaitable<void> { co_await pipe->send(m); },
            asio::detached);
    }
    template <class T>
    std::size_t count() const {
        std::size_t n = 0;
        for (const auto& message : *received) n += std::holds_alternative<T>(message) ? 1 : 0;
        return n;
    }
};

FileRecord file_record(const std::string& path, const std::string& content, ShortId by) {
    FileRecord record;
    record.path = path;
    record.kind = FileKind::file;
    record.size = content.size();
    record.mtime_ns = 1'700'000'000'000'000'000;
    record.mode = 0644;
    record.version.increment(by);
    record.modified_by = by;
    record.chunks.push_back(ChunkRef{
        hash_chunk({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()}),
        static_cast<std::uint32_t>(content.size())});
    return record;
}

wire::IndexUpdate update_of(std::vector<FileRecord> records) {
    wire::IndexUpdate update;
    update.folder = kFolderId;
    update.index_id = kHostileIndex;
    update.last_sequence = Sequence{static_cast<std::int64_t>(records.size())};
    for (auto& record : records)
        update.records.push_back(wire::WireRecord{std::move(record), std::nullopt});
    return update;
}

wire::ClusterConfig hostile_config() {
    wire::ClusterConfig config;
    config.device_name = "mallory";
    config.folders.push_back(wire::FolderState{kFolderId, kHostileIndex, 0, Sequence{}});
    return config;
}

// Links `node` to a hostile peer whose device key is `key`.
Hostile attach_hostile(TestCluster& cluster, Node& node, std::uint8_t key_byte) {
    PublicKey key{};
    key[0] = key_byte;
    key[1] = 0xee;
    auto ends = make_message_pipe(cluster.io.get_executor(), node.key, key);
    node.engine->add_connection(
        ends.first, [] { return wire::ClusterConfig{}; }, [](const wire::ClusterConfig&) {});
    Hostile hostile;
    hostile.end = ends.second;
    hostile.engine_end = ends.first;
    hostile.id = DeviceId::from_public_key(key).short_id();
    return hostile;
}

bool has_problem(const Node& node, const std::string& needle) {
    for (const PathProblem& problem : node.folder_status().problems)
        if (problem.path.find(needle) != std::string::npos ||
            problem.message.find(needle) != std::string::npos)
            return true;
    return false;
}

}  // namespace

TEST_CASE("hostile peer: refused names are reported and nothing is written outside the folder",
          "[hostile]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Hostile hostile = attach_hostile(cluster, a, 0x90);
    hostile.answer = [](const wire::Request&) { return std::optional<std::string>("good\n"); };
    hostile.start(cluster.io);
    hostile.send(cluster.io, hostile_config());
    REQUIRE(cluster.run_until([&] { return a.folder_status().state == "idle"; }));

    const std::string escape = "ferry-escape-" + std::to_string(::getpid());
    std::vector<FileRecord> records;
    records.push_back(file_record("../" + escape, "good\n", hostile.id));
    records.push_back(file_record("/tmp/" + escape, "good\n", hostile.id));
    records.push_back(file_record(std::string("nul\0name", 8), "good\n", hostile.id));
    records.push_back(file_record("sub/../../" + escape, "good\n", hostile.id));
    records.push_back(file_record(".ferry/versions/planted", "good\n", hostile.id));
    records.push_back(file_record("good.txt", "good\n", hostile.id));
    hostile.send(cluster.io, update_of(std::move(records)));

    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("good.txt")); }));
    REQUIRE(cluster.run_until([&] { return a.folder_status().problems.size() >= 5; }));
    CHECK(read_file(a.path("good.txt")) == "good\n");
    CHECK(has_problem(a, "'..'"));
    CHECK(has_problem(a, ".ferry/versions/planted"));
    const std::string parent = std::filesystem::path(a.root()).parent_path();
    CHECK(!std::filesystem::exists(parent + "/" + escape));
    CHECK(!std::filesystem::exists("/tmp/" + escape));
    CHECK(!std::filesystem::exists(a.path(".ferry/versions/planted")));
    CHECK(hostile.end->is_open());  // bad records are refused one by one, not the peer
}

TEST_CASE("hostile peer: wrong chunk data is refused and reported; the rest keeps syncing",
          "[hostile]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    cluster.link(a, b);
    Hostile hostile = attach_hostile(cluster, a, 0x91);
    hostile.answer = [](const wire::Request& request) {
        return std::optional<std::string>(
            std::string(request.size, 'X'));  // right size, wrong bytes
    };
    hostile.start(cluster.io);
    hostile.send(cluster.io, hostile_config());
    std::vector<FileRecord> records;
    records.push_back(file_record("poisoned.bin", "the real content\n", hostile.id));
    hostile.send(cluster.io, update_of(std::move(records)));

    REQUIRE(cluster.run_until([&] { return has_problem(a, "wrong data"); }));
    CHECK(!std::filesystem::exists(a.path("poisoned.bin")));

    write_file(b.path("honest.txt"), "from b\n");
    b.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("honest.txt")); }));
    CHECK(read_file(a.path("honest.txt")) == "from b\n");
    CHECK(!std::filesystem::exists(a.path("poisoned.bin")));
}

TEST_CASE("hostile peer: malformed records are refused one by one", "[hostile]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Hostile hostile = attach_hostile(cluster, a, 0x92);
    hostile.answer = [](const wire::Request&) { return std::optional<std::string>("fine\n"); };
    hostile.start(cluster.io);
    hostile.send(cluster.io, hostile_config());

    // (Records whose fields contradict each other, e.g. a size that is not the
    // chunks' total, never get here: the codec refuses the whole message.)
    std::vector<FileRecord> records;
    FileRecord empty_link = file_record("link", "", hostile.id);
    empty_link.kind = FileKind::symlink;
    empty_link.chunks.clear();
    empty_link.size = 0;
    records.push_back(empty_link);
    FileRecord no_version = file_record("no-version.txt", "fine\n", hostile.id);
    no_version.version = VersionVector{};
    records.push_back(no_version);
    records.push_back(file_record("fine.txt", "fine\n", hostile.id));
    wire::IndexUpdate update = update_of(std::move(records));
    // A delta against a base this device never had: it must ask for the whole list.
    FileRecord unknown_base = file_record("delta.txt", "fine\n", hostile.id);
    unknown_base.chunks.clear();
    ChunkDelta delta;
    delta.base.bytes.fill(0xab);
    delta.runs.push_back(DeltaRun{0, 0, {ChunkRef{hash_chunk({}), 5}}});
    update.records.push_back(wire::WireRecord{unknown_base, delta});
    hostile.send(cluster.io, std::move(update));

    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("fine.txt")); }));
    REQUIRE(cluster.run_until([&] { return hostile.count<wire::ResendRequest>() == 1; }));
    CHECK(has_problem(a, "link"));
    CHECK(has_problem(a, "no-version.txt"));
    CHECK(!std::filesystem::exists(a.path("link")));
    CHECK(!std::filesystem::exists(a.path("delta.txt")));
    for (const wire::Message& message : *hostile.received)
        if (const auto* resend = std::get_if<wire::ResendRequest>(&message))
            CHECK(resend->paths == std::vector<std::string>{"delta.txt"});
}

TEST_CASE(
    "hostile peer: malformed msgpack or a message before ClusterConfig closes only that connection",
    "[hostile]") {
    TestCluster cluster;
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    cluster.link(a, b);

    Hostile garbage = attach_hostile(cluster, a, 0x93);
    garbage.start(cluster.io);
    garbage.send(cluster.io, hostile_config());
    REQUIRE(cluster.run_until([&] { return garbage.count<wire::ClusterConfig>() == 1; }));
    garbage.engine_end->inject({0x93, 0x02, 0xc1, 0xff, 0xff});  // what a reads next: not a message
    REQUIRE(cluster.run_until([&] { return !garbage.end->is_open(); }));

    // A record whose size is not its chunks' total: the codec refuses the message.
    Hostile lying = attach_hostile(cluster, a, 0x95);
    lying.start(cluster.io);
    lying.send(cluster.io, hostile_config());
    FileRecord wrong_size = file_record("wrong-size.txt", "x", lying.id);
    wrong_size.size = 1 << 30;
    lying.send(cluster.io, update_of({wrong_size}));
    REQUIRE(cluster.run_until([&] { return !lying.end->is_open(); }));
    CHECK(!std::filesystem::exists(a.path("wrong-size.txt")));

    Hostile early = attach_hostile(cluster, a, 0x94);
    early.start(cluster.io);
    early.send(cluster.io, update_of({file_record("early.txt", "x", early.id)}));

    REQUIRE(cluster.run_until([&] { return !early.end->is_open(); }));
    CHECK(!std::filesystem::exists(a.path("early.txt")));

    write_file(b.path("still.txt"), "syncing\n");
    b.engine->request_scan("");
    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("still.txt")); }));
}

TEST_CASE("hostile peer: a request it never answers times out; the connection stays open",
          "[hostile][timeout]") {
    TestCluster cluster;
    cluster.tune_options = [](EngineOptions& options) {
        options.request_timeout = std::chrono::milliseconds(200);
    };
    Node& a = cluster.add("a");
    Hostile silent = attach_hostile(cluster, a, 0x96);
    silent.answer = [](const wire::Request&) { return std::optional<std::string>(); };
    silent.start(cluster.io);
    silent.send(cluster.io, hostile_config());
    silent.send(cluster.io, update_of({file_record("silent.txt", "never sent\n", silent.id)}));

    REQUIRE(cluster.run_until([&] { return has_problem(a, "no answer within 0.2 s"); },
                              std::chrono::seconds(10)));
    CHECK(silent.count<wire::Request>() >= 1);
    CHECK(!std::filesystem::exists(a.path("silent.txt")));
    CHECK(silent.end->is_open());
    CHECK(silent.engine_end->is_open());
}

TEST_CASE("hostile peer: a file a silent peer and an honest one both have arrives",
          "[hostile][timeout]") {
    TestCluster cluster;
    cluster.tune_options = [](EngineOptions& options) {
        options.request_timeout = std::chrono::milliseconds(200);
    };
    Node& a = cluster.add("a");
    Node& b = cluster.add("b");
    write_file(b.path("both.txt"), "the honest content\n");
    b.engine->request_scan("");
    std::optional<FileRecord> record;
    REQUIRE(cluster.run_until([&] {
        auto stored = b.store->get_file(kFolderId, "both.txt");
        if (stored && *stored) record = **stored;
        return record.has_value();
    }));

    // The silent peer announces b's very record (same version), so both are sources.
    Hostile silent = attach_hostile(cluster, a, 0x97);
    silent.answer = [](const wire::Request&) { return std::optional<std::string>(); };
    silent.start(cluster.io);
    silent.send(cluster.io, hostile_config());
    silent.send(cluster.io, update_of({*record}));
    cluster.link(a, b);

    REQUIRE(cluster.run_until([&] { return std::filesystem::exists(a.path("both.txt")); },
                              std::chrono::seconds(10)));
    CHECK(read_file(a.path("both.txt")) == "the honest content\n");
    CHECK(silent.end->is_open());
}
