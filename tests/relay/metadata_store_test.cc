#include "relay/metadata_store.hh"

#include <catch2/catch.hpp>

#include "store/sqlite.hh"
#include "temp_dir.hh"

using namespace ferry;
using namespace ferry::relay;
using ferry::test::TempDir;

TEST_CASE("the relay database keeps its data across opens and refuses a newer schema",
          "[relay][metadata]") {
    TempDir dir;
    {
        auto meta = open_local_metadata(dir.path());
        REQUIRE(meta);
        REQUIRE((*meta)->add_account("alice", TokenHash{1}, 10, 5));
    }
    {
        auto meta = open_local_metadata(dir.path());
        REQUIRE(meta);
        auto accounts = (*meta)->accounts();
        REQUIRE(accounts);
        REQUIRE(accounts->size() == 1);
        CHECK(accounts->front().quota_bytes == 10);
        // The token hash is unique too: a second account with it is refused.
        CHECK_FALSE((*meta)->add_account("bob", TokenHash{1}, 10, 5));
    }
    {
        auto db = sqlite::Database::open(dir / "relay.db");
        REQUIRE(db);
        REQUIRE((*db)->exec("PRAGMA user_version = 99", "test"));
    }
    auto newer = open_local_metadata(dir.path());
    REQUIRE_FALSE(newer);
    CHECK(newer.error().code == Errc::too_new);
}

TEST_CASE("a token binds once; a user key binds one account", "[relay][metadata]") {
    TempDir dir;
    auto meta = open_local_metadata(dir.path());
    REQUIRE(meta);
    REQUIRE((*meta)->add_account("alice", TokenHash{1}, 0, 0));
    REQUIRE((*meta)->add_account("bob", TokenHash{2}, 0, 0));
    const PublicKey user{7};
    auto bound = (*meta)->bind_token(TokenHash{1}, user);
    REQUIRE(bound);
    CHECK(bound->name == "alice");
    CHECK(bound->user_key == user);
    CHECK((*meta)->bind_token(TokenHash{1}, PublicKey{8}).error().code == Errc::permission_denied);
    CHECK((*meta)->bind_token(TokenHash{3}, PublicKey{8}).error().code == Errc::not_found);
    CHECK((*meta)->bind_token(TokenHash{2}, user).error().code == Errc::already_exists);
    auto found = (*meta)->account_by_user_key(user);
    REQUIRE(found);
    REQUIRE(*found);
    CHECK((*found)->name == "alice");
}
