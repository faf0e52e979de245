// RelayLink's uploads (sync/relay_link.hh) against a real relay server on
// 127.0.0.1: sends of index updates are queued and return before their
// chunks are put; the updates reach the peer's mailbox in the order sent,
// each with its chunks already stored; a chunk that two queued updates need
// is put once. The test plays the engine: it answers the link's chunk
// Requests from memory and counts them.
#include <map>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "core/bytes.hh"
#include "core/chunk_hash.hh"
#include "crypto/mailbox_envelope.hh"
#include "crypto/relay_seal.hh"
#include "relay_server_util.hh"
#include "store/store.hh"
#include "sync/relay_link.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

namespace {

struct Chunk {
    std::string data;
    ChunkRef ref;
};

Chunk chunk_of(char fill, std::size_t size) {
    Chunk chunk{std::string(size, fill), {}};
    chunk.ref.hash = hash_chunk(bytes_of(chunk.data));
    chunk.ref.size = static_cast<std::uint32_t>(size);
    return chunk;
}

wire::IndexUpdate update_of(const std::string& path, std::int64_t sequence,
                            const std::vector<const Chunk*>& chunks) {
    FileRecord record;
    record.path = path;
    record.kind = FileKind::file;
    record.mode = 0644;
    record.sequence = Sequence{sequence};
    for (const Chunk* chunk : chunks) {
        record.size += chunk->ref.size;
        record.chunks.push_back(chunk->ref);
    }
    return wire::IndexUpdate{"docs", 77, Sequence{sequence}, {wire::WireRecord{record, std::nullopt}}};
}

// Answers the link's chunk Requests from `chunks` (by hash), counting them.
asio::awaitable<void> play_engine(RelayLink& link, const std::vector<const Chunk*>& chunks,
                                  std::map<ChunkHash, int>& asked) {
    for (;;) {
        auto message = co_await link.receive();
        if (!message) co_return;
        const auto* request = std::get_if<wire::Request>(&*message);
        if (request == nullptr) continue;  // the link's first ClusterConfig
        ++asked[request->hash];
        wire::Response response{request->id, wire::ResponseCode::not_found, false, {}};
        for (const Chunk* chunk : chunks) {
            if (chunk->ref.hash == request->hash) {
                response.code = wire::ResponseCode::ok;
                response.data = chunk->data;
            }
        }
        wire::Message reply = std::move(response);
        if (!co_await link.send(reply)) co_return;
    }
}

}  // namespace

TEST_CASE("a relay link queues index updates, posts them in order after their chunks, "
          "and puts a shared chunk once",
          "[relay][relay_link]") {
    ServerFixture f;
    f.start();
    User alice = f.relay.add_user("alice", 0);
    std::shared_ptr<RelayClient> client = f.connected(alice, 0);
    ferry::test::TempDir home;
    auto store = Store::open(home / "index.db");
    REQUIRE(store);

    auto context = std::make_shared<RelayLinkContext>();
    context->user = &alice.key;
    context->device = &alice.devices.at(0);
    context->store = store->get();
    context->pick_relay = [client] { return client; };
    RelayLink link(f.io.get_executor(), context, alice.certificate(1));

    const Chunk a = chunk_of('a', 70'000);
    const Chunk shared = chunk_of('s', 5'000);
    const Chunk c = chunk_of('c', 3'000);
    const std::vector<const Chunk*> all{&a, &shared, &c};
    std::map<ChunkHash, int> asked;
    asio::co_spawn(f.io, play_engine(link, all, asked), asio::detached);

    // Three sends in a row, none waiting for its chunks.
    const std::vector<wire::IndexUpdate> updates{update_of("one", 1, {&a, &shared}),
                                                 update_of("two", 2, {&shared, &c}),
                                                 update_of("three", 3, {})};
    for (const wire::IndexUpdate& update : updates) {
        const wire::Message message = update;
        REQUIRE(f.run(link.send(message)));
    }
    CHECK(context->sends_in_progress == 3);
    REQUIRE(f.wait_for([&] { return context->sends_in_progress == 0; }));
    CHECK(context->pending_uploads == 0);
    CHECK(asked[a.ref.hash] == 1);
    CHECK(asked[shared.ref.hash] == 1);
    CHECK(asked[c.ref.hash] == 1);

    // The peer finds the three updates in its mailbox, in the order sent,
    // and every chunk they name on the relay.
    auto peer = f.connected(alice, 1);
    const wire::Message fetch = wire::MailboxFetch{0, 100, 1u << 20};
    const auto batch = std::get<wire::MailboxBatch>(f.run(ask(*peer, fetch)));
    REQUIRE(batch.entries.size() == 3);
    for (std::size_t i = 0; i < 3; ++i) {
        const wire::MailboxEntry& entry = batch.entries[i];
        auto opened = open_envelope(alice.key, entry.message_id, alice.device(1),
                                    bytes_of(entry.payload));
        REQUIRE(opened);
        auto message = wire::decode(bytes_of(opened->payload));
        REQUIRE(message);
        REQUIRE(std::holds_alternative<wire::IndexUpdate>(*message));
        CHECK(std::get<wire::IndexUpdate>(*message).records.at(0).record.path ==
              updates[i].records.at(0).record.path);
    }
    const FolderRelayKeys keys(derive_folder_key(alice.key, "docs"));
    for (const Chunk* chunk : all) CHECK(f.run(has_chunk(*peer, keys.chunk_id(chunk->ref.hash))));

    // What was posted is remembered: a new link starts after update 3.
    auto mark = (*store)->get_setting(relay_posted_key(alice.certificate(1).device_id(), "docs"));
    REQUIRE(mark);
    REQUIRE(*mark);
    CHECK(**mark == "77 3");
    link.close("test over");
    f.wait_for([] { return false; }, 50ms);
}
