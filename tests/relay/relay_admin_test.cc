#include "relay/account_token.hh"
#include "relay_test_util.hh"

using namespace ferry;
using namespace ferry::relay;
using namespace ferry::relay::test;

TEST_CASE("account names are checked and unique", "[relay][admin]") {
    TestRelay relay;
    for (const char* bad : {"", "with space", "sl/ash", "ünï", "a\nb"}) {
        CHECK(relay.admin->add_user(bad, 0).error().code == Errc::invalid_argument);
    }
    CHECK(relay.admin->add_user(std::string(65, 'a'), 0).error().code == Errc::invalid_argument);
    REQUIRE(relay.admin->add_user(std::string(64, 'a'), 0));
    REQUIRE(relay.admin->add_user("A.b_c-9", 0));
    CHECK(relay.admin->add_user("A.b_c-9", 0).error().code == Errc::already_exists);
    CHECK(relay.admin->users()->size() == 2);
}

TEST_CASE("tokens are 64 hex digits, random, and only their hash is kept", "[relay][admin]") {
    const std::string a = new_token();
    const std::string b = new_token();
    CHECK(a.size() == 64);
    CHECK(a != b);
    REQUIRE(hash_token(a));
    CHECK(*hash_token(a) != *hash_token(b));
    CHECK_FALSE(hash_token(a.substr(1)));
    std::string upper = a;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (upper != a) CHECK_FALSE(hash_token(upper));
    CHECK_FALSE(hash_token(std::string(63, 'a') + "g"));
}

TEST_CASE("users() and totals() report accounts, devices, usage and messages", "[relay][admin]") {
    TestRelay relay;
    User alice = relay.add_user("alice", 1000);
    relay.add_user("bob", 0);
    const DeviceSession a = relay.connect(alice, 0);
    relay.connect(alice, 1);
    REQUIRE(relay.reply(a, wire::ChunkPut{1, {{chunk_id(1), "12345"}}}).code ==
            wire::RelayCode::ok);
    REQUIRE(
        relay.reply(a, wire::MailboxPost{2, message_id(1), {alice.device(1)}, "abc", {}, 0}).code ==
        wire::RelayCode::ok);

    auto users = relay.admin->users();
    REQUIRE(users);
    REQUIRE(users->size() == 2);
    const AccountInfo& info = users->at(0);
    CHECK(info.name == "alice");
    CHECK(info.bound);
    CHECK(info.used_bytes == 8);
    CHECK(info.quota_bytes == 1000);
    CHECK(info.devices == 2);
    CHECK(info.messages == 1);
    CHECK(info.created_ns > 0);
    CHECK(users->at(1).name == "bob");
    CHECK_FALSE(users->at(1).bound);

    auto totals = relay.admin->totals();
    REQUIRE(totals);
    CHECK(totals->accounts == 2);
    CHECK(totals->mailboxes == 1);
    CHECK(totals->messages == 1);
    CHECK(totals->chunks == 1);
    CHECK(totals->stored_bytes == 8);
}
