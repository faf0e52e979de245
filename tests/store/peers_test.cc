// Tests of the store's peer section (src/store/store_peers.cc): devices,
// revocations, invites, index ids, and the upgrade of a schema-1 database.
#include <catch2/catch.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/migrations.hh"
#include "store/sqlite.hh"
#include "store/store.hh"
#include "store_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

KeyBytes key_of(std::uint8_t fill) {
    KeyBytes key;
    key.fill(fill);
    key[31] = static_cast<std::uint8_t>(fill ^ 0x5a);
    return key;
}

DeviceRecord device_of(std::uint8_t fill, std::string name) {
    DeviceRecord d;
    d.key = key_of(fill);
    d.certificate = std::string("cert\0bytes-", 11) + name;
    d.name = std::move(name);
    d.addresses = {"192.0.2.1:22000", "[2001:db8::1]:22000"};
    return d;
}

std::array<std::uint8_t, 16> invite_id(std::uint8_t fill) {
    std::array<std::uint8_t, 16> id;
    id.fill(fill);
    return id;
}

InviteRecord invite_of(std::uint8_t fill, std::int64_t expires_ns) {
    InviteRecord invite;
    invite.id = invite_id(fill);
    invite.secret.fill(static_cast<std::uint8_t>(fill + 1));
    invite.expires_ns = expires_ns;
    return invite;
}

}  // namespace

TEST_CASE("store peers: devices are stored, listed, read, updated and removed", "[store]") {
    auto store = open_store();
    auto empty = store->devices();
    REQUIRE(empty);
    CHECK(empty->empty());

    auto laptop = device_of(2, "laptop");
    laptop.last_seen_ns = 500;
    laptop.bytes_in = 10;
    laptop.bytes_out = 20;
    auto phone = device_of(1, "phone");
    phone.addresses.clear();
    REQUIRE_OK(store->put_device(laptop));
    REQUIRE_OK(store->put_device(phone));

    auto all = store->devices();
    REQUIRE(all);
    REQUIRE(all->size() == 2);
    CHECK((*all)[0] == phone);  // sorted by key
    CHECK((*all)[1] == laptop);
    auto one = store->device(laptop.key);
    REQUIRE(one);
    CHECK(*one == std::optional<DeviceRecord>(laptop));
    auto none = store->device(key_of(9));
    REQUIRE(none);
    CHECK_FALSE(none->has_value());

    // An update replaces name, certificate and addresses; statistics only grow.
    DeviceRecord renamed = laptop;
    renamed.name = "old laptop";
    renamed.certificate = "new cert";
    renamed.addresses = {"10.0.0.5:1234"};
    renamed.last_seen_ns = 100;
    renamed.bytes_in = 99;
    renamed.bytes_out = 0;
    REQUIRE_OK(store->put_device(renamed));
    auto updated = store->device(laptop.key);
    REQUIRE(updated);
    REQUIRE(updated->has_value());
    CHECK((*updated)->name == "old laptop");
    CHECK((*updated)->certificate == "new cert");
    CHECK((*updated)->addresses == std::vector<std::string>{"10.0.0.5:1234"});
    CHECK((*updated)->last_seen_ns == 500);
    CHECK((*updated)->bytes_in == 99);
    CHECK((*updated)->bytes_out == 20);

    REQUIRE_OK(store->remove_device(laptop.key));
    auto after = store->devices();
    REQUIRE(after);
    REQUIRE(after->size() == 1);
    CHECK((*after)[0] == phone);
    auto again = store->remove_device(laptop.key);
    REQUIRE_FALSE(again);
    CHECK(again.error().code == Errc::not_found);
    CHECK(again.error().message.find("0202020202020202") != std::string::npos);
}

TEST_CASE("store peers: an address with a newline or an empty one is refused", "[store]") {
    auto store = open_store();
    auto bad = device_of(3, "nas");
    bad.addresses = {"a:1\nb:2"};
    auto result = store->put_device(bad);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::invalid_argument);
    CHECK(result.error().message.find("nas") != std::string::npos);
    bad.addresses = {""};
    CHECK_FALSE(store->put_device(bad));
    auto all = store->devices();
    REQUIRE(all);
    CHECK(all->empty());
}

TEST_CASE("store peers: device activity moves last seen forward and adds bytes", "[store]") {
    auto store = open_store();
    const auto d = device_of(4, "desktop");
    REQUIRE_OK(store->put_device(d));
    REQUIRE_OK(store->note_device_activity(d.key, 1000, 5, 7));
    REQUIRE_OK(store->note_device_activity(d.key, 900, 1, 1));  // a late report of an older session
    auto read = store->device(d.key);
    REQUIRE(read);
    REQUIRE(read->has_value());
    CHECK((*read)->last_seen_ns == 1000);
    CHECK((*read)->bytes_in == 6);
    CHECK((*read)->bytes_out == 8);

    auto unknown = store->note_device_activity(key_of(8), 1, 1, 1);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::not_found);
}

TEST_CASE("store peers: revocations are kept once and listed", "[store]") {
    auto store = open_store();
    CHECK(*store->is_revoked(key_of(1)) == false);
    REQUIRE_OK(store->add_revocation(key_of(1), std::string("rev\0one", 7)));
    REQUIRE_OK(store->add_revocation(key_of(2), "rev two"));
    // Adding it again is not an error and keeps the first.
    REQUIRE_OK(store->add_revocation(key_of(1), "other"));
    CHECK(*store->is_revoked(key_of(1)));
    CHECK(*store->is_revoked(key_of(2)));
    CHECK_FALSE(*store->is_revoked(key_of(3)));
    auto all = store->revocations();
    REQUIRE(all);
    CHECK(*all == std::vector<std::string>{std::string("rev\0one", 7), "rev two"});
}

TEST_CASE("store peers: an invite is claimed once, before it expires", "[store]") {
    auto store = open_store();
    REQUIRE_OK(store->add_invite(invite_of(1, 1000)));
    REQUIRE_OK(store->add_invite(invite_of(2, 1000)));
    CHECK(store->add_invite(invite_of(1, 5)).error().code == Errc::already_exists);

    auto seen = store->invite(invite_id(1));
    REQUIRE(seen);
    REQUIRE(seen->has_value());
    CHECK((*seen)->secret == invite_of(1, 0).secret);
    CHECK((*seen)->expires_ns == 1000);
    CHECK_FALSE((*seen)->used);
    CHECK_FALSE(store->invite(invite_id(7))->has_value());

    auto claimed = store->claim_invite(invite_id(1), 999);
    REQUIRE(claimed);
    CHECK(claimed->used);
    CHECK(claimed->secret == invite_of(1, 0).secret);
    CHECK((*store->invite(invite_id(1)))->used);

    auto twice = store->claim_invite(invite_id(1), 999);
    REQUIRE_FALSE(twice);
    CHECK(twice.error().code == Errc::already_exists);
    CHECK(twice.error().message.find("used already") != std::string::npos);

    // Expiry is exclusive: at expires_ns the invite is no longer valid, and
    // a failed claim leaves it unused.
    auto expired = store->claim_invite(invite_id(2), 1000);
    REQUIRE_FALSE(expired);
    CHECK(expired.error().code == Errc::changed);
    CHECK(expired.error().message.find("expired") != std::string::npos);
    CHECK_FALSE((*store->invite(invite_id(2)))->used);

    auto unknown = store->claim_invite(invite_id(9), 0);
    REQUIRE_FALSE(unknown);
    CHECK(unknown.error().code == Errc::not_found);
}

TEST_CASE("store peers: two stores racing for one invite: exactly one wins", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    {
        auto store = open_store(path);
        REQUIRE_OK(store->add_invite(invite_of(1, 1'000'000)));
    }
    auto a = open_store(path);
    auto b = open_store(path);
    for (int round = 0; round < 20; ++round) {
        const auto fill = static_cast<std::uint8_t>(10 + round);
        REQUIRE_OK(a->add_invite(invite_of(fill, 1'000'000)));
        Result<InviteRecord> first = fail(Errc::io, "not run");
        Result<InviteRecord> second = fail(Errc::io, "not run");
        std::thread other([&] { second = b->claim_invite(invite_id(fill), 0); });
        first = a->claim_invite(invite_id(fill), 0);
        other.join();
        INFO("round " << round);
        CHECK(first.has_value() != second.has_value());
        const auto& loser = first ? second : first;
        REQUIRE_FALSE(loser);
        CHECK(loser.error().code == Errc::already_exists);
    }
}

TEST_CASE("store peers: every folder has its own non-zero index id, kept across opens", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    std::uint64_t docs_id = 0;
    {
        auto store = open_store(path);
        add_folder(*store, "docs", "/d");
        add_folder(*store, "music", "/m");
        auto docs = store->index_id("docs");
        auto music = store->index_id("music");
        REQUIRE(docs);
        REQUIRE(music);
        CHECK(*docs != 0);
        CHECK(*music != 0);
        CHECK(*docs != *music);
        docs_id = *docs;
        auto missing = store->index_id("none");
        REQUIRE_FALSE(missing);
        CHECK(missing.error().code == Errc::not_found);
    }
    auto store = open_store(path);
    CHECK(*store->index_id("docs") == docs_id);
    // A folder removed and added again is a new life of its index.
    REQUIRE_OK(store->remove_folder("docs"));
    add_folder(*store, "docs", "/d");
    CHECK(*store->index_id("docs") != docs_id);
}

TEST_CASE("store peers: a schema-1 database with data is upgraded to the latest", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    std::mt19937_64 rng(3);
    const ChunkHash hash = random_hash(rng);
    {
        // A database as the previous ferry left it: schema 1 with folders,
        // a file with a chunk, a setting.
        auto db = sqlite::Database::open(path);
        REQUIRE(db);
        auto version = store::migrate(**db, 1);
        REQUIRE(version);
        CHECK(*version == 1);
        REQUIRE_OK((*db)->exec(
            "INSERT INTO settings VALUES ('device_name', 'old');"
            "INSERT INTO folders (folder_id, path, mode, sequence) VALUES ('a', '/a', 0, 1), "
            "('b', '/b', 2, 0), ('c', '/c', 1, 0);",
            "fill"));
        auto insert = (*db)->prepare(
            "INSERT INTO files VALUES (1, '', 'x', 1, 0, 5, 1, 420, 0, ?, '', 1, 7, 0)", "file");
        REQUIRE(insert);
        insert->bind_blob(1, version_of(7, 1).encode());
        REQUIRE_OK(insert->run());
        auto list = (*db)->prepare("INSERT INTO chunk_lists VALUES (1, 0, ?)", "list");
        REQUIRE(list);
        list->bind_blob(1, encode_chunk_list(std::vector<ChunkRef>{{hash, 5}}));
        REQUIRE_OK(list->run());
        auto chunk = (*db)->prepare("INSERT INTO chunks VALUES (0, ?, 1, 0)", "chunk");
        REQUIRE(chunk);
        std::int64_t prefix = 0;
        for (int i = 0; i < 8; ++i) prefix = (prefix << 8) | hash.bytes[static_cast<std::size_t>(i)];
        chunk->bind_int(1, prefix);
        REQUIRE_OK(chunk->run());
    }
    CHECK(raw_text(path, "PRAGMA user_version") == "1");

    auto store = open_store(path);
    CHECK(store->schema_version() == Store::latest_schema_version());
    CHECK(raw_text(path, "PRAGMA user_version") == std::to_string(Store::latest_schema_version()));
    // The old data is intact.
    CHECK(*store->get_setting("device_name") == std::optional<std::string>("old"));
    auto folders = store->folders();
    REQUIRE(folders);
    REQUIRE(folders->size() == 3);
    CHECK((*folders)[1] == Folder{"b", "/b", FolderMode::receive_only});
    auto file = store->get_file("a", "x");
    REQUIRE(file);
    REQUIRE(file->has_value());
    CHECK((*file)->size == 5);
    CHECK((*file)->chunks == std::vector<ChunkRef>{{hash, 5}});
    auto found = store->find_chunk(hash);
    REQUIRE(found);
    REQUIRE(found->size() == 1);
    CHECK((*found)[0].path == "x");
    // Every existing folder got its own non-zero index id.
    std::set<std::uint64_t> ids;
    for (const char* id : {"a", "b", "c"}) {
        auto index_id = store->index_id(id);
        REQUIRE(index_id);
        CHECK(*index_id != 0);
        ids.insert(*index_id);
    }
    CHECK(ids.size() == 3);
    // The new tables work on the upgraded database.
    REQUIRE_OK(store->put_device(device_of(1, "phone")));
    REQUIRE_OK(store->put_announced("a", ShortId{9}, std::vector<FileRecord>{dir_record("d")},
                                    PeerIndexState{5, Sequence{1}}));
    CHECK(store->peer_index_state("a", ShortId{9})->index_id == 5);
    // The sequence of folder a continues where it was.
    REQUIRE_OK(put(*store, "a", {dir_record("y")}));
    CHECK(store->get_file("a", "y")->value().sequence == Sequence{2});
}

TEST_CASE("store peers: errors name the database", "[store]") {
    TempDir dir;
    const auto path = dir / "index.db";
    auto store = open_store(path);
    auto result = store->claim_invite(invite_id(1), 0);
    REQUIRE_FALSE(result);
    CHECK(result.error().message.rfind(path + ": invite 0101010101010101", 0) == 0);
}
