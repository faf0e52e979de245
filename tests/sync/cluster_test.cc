// Tests of the cluster (src/sync/cluster*.cc): identity loading, trust
// decisions, gossip of devices and revocations, and invites. Joining is in
// cluster_join_test.cc.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "cluster_test_util.hh"
#include "sync/cluster.hh"

using namespace ferry;
using namespace ferry::cluster_test;

TEST_CASE("cluster: open issues this device's certificate once, and reissues a stale one",
          "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    DeviceCertificate first;
    {
        auto cluster = home.cluster(clock, "laptop");
        first = cluster->certificate();
        CHECK(first.device_name == "laptop");
        CHECK(first.device_key == key_of(cluster->device_key()));
        CHECK(first.user_key == cluster->user_public_key());
        REQUIRE_OK(first.verify(cluster->user_public_key()));
        CHECK(read_file(home.files.certificate) == first.encode());
    }
    clock.advance(kHour);
    {
        // Loaded, not issued again (issued_ns would differ).
        auto cluster = home.cluster(clock, "other name");
        CHECK(cluster->certificate() == first);
    }
    // A new user key (an interrupted join): the certificate no longer chains
    // to it and is issued again under it.
    const KeyPair user = KeyPair::generate();
    REQUIRE_OK(save_key(home.files.user_key, user, KeyRole::user));
    auto cluster = home.cluster(clock, "laptop");
    CHECK(cluster->certificate().user_key == key_of(user));
    REQUIRE_OK(cluster->certificate().verify(key_of(user)));
    CHECK(read_file(home.files.certificate) == cluster->certificate().encode());

    std::filesystem::remove(home.files.certificate);
    auto bad_name = Cluster::open(home.files, *home.store, clock, std::string("bad\nname"));
    REQUIRE_FALSE(bad_name);
    CHECK(bad_name.error().code == Errc::invalid_argument);
    std::filesystem::remove(home.files.user_key);
    auto no_user = Cluster::open(home.files, *home.store, clock, "laptop");
    REQUIRE_FALSE(no_user);
    CHECK(no_user.error().code == Errc::not_found);
}

TEST_CASE("cluster: authorize trusts certificates of this user's key that are not revoked",
          "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    const KeyPair user = load_user(home);
    const OtherDevice phone(user, "phone");
    REQUIRE_OK(cluster->authorize(phone.identity()));

    SECTION("a certificate of another user") {
        const KeyPair stranger = KeyPair::generate();
        const OtherDevice theirs(stranger, "phone");
        auto result = cluster->authorize(theirs.identity());
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::permission_denied);
        CHECK(result.error().message.find("phone") != std::string::npos);
    }
    SECTION("a forged signature") {
        PeerIdentity forged = phone.identity();
        forged.certificate->signature[5] ^= 1;
        CHECK(cluster->authorize(forged).error().code == Errc::permission_denied);
    }
    SECTION("a certificate for another key than the one proven") {
        PeerIdentity other = phone.identity();
        other.device_key = key_of(KeyPair::generate());
        CHECK(cluster->authorize(other).error().code == Errc::permission_denied);
    }
    SECTION("no certificate") {
        CHECK(cluster->authorize(PeerIdentity{key_of(phone.key), std::nullopt, std::nullopt})
                  .error()
                  .code == Errc::permission_denied);
    }
    SECTION("this device itself") {
        CHECK(cluster->authorize(PeerIdentity{key_of(cluster->device_key()),
                                              cluster->certificate(), std::nullopt})
                  .error()
                  .code == Errc::permission_denied);
    }
    SECTION("a revoked device") {
        REQUIRE_OK(cluster->revoke(key_of(phone.key)));
        auto result = cluster->authorize(phone.identity());
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::permission_denied);
        CHECK(result.error().message.find("removed") != std::string::npos);
    }
}

TEST_CASE("cluster: authorize accepts an invite only while it is known, unused and unexpired",
          "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    auto code = cluster->make_invite({"192.0.2.7:22000"}, kHour);
    REQUIRE(code);
    const PeerIdentity joiner{key_of(KeyPair::generate()), std::nullopt, code->invite_id};
    REQUIRE_OK(cluster->authorize(joiner));
    CHECK(cluster->invite_secret(code->invite_id) == std::optional<InviteSecret>(code->secret));

    SECTION("unknown") {
        PeerIdentity unknown = joiner;
        (*unknown.invite_id)[0] ^= 1;
        CHECK(cluster->authorize(unknown).error().code == Errc::permission_denied);
        CHECK_FALSE(cluster->invite_secret(*unknown.invite_id).has_value());
    }
    SECTION("used") {
        REQUIRE_OK(home.store->claim_invite(code->invite_id, clock.now_ns()));
        auto result = cluster->authorize(joiner);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find("used") != std::string::npos);
    }
    SECTION("expired") {
        clock.advance(kHour);
        auto result = cluster->authorize(joiner);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find("expired") != std::string::npos);
    }
}

TEST_CASE("cluster: make_invite stores a one-time secret and refuses useless codes", "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    auto a = cluster->make_invite({"192.0.2.7:22000", "[2001:db8::7]:22000"}, kHour);
    auto b = cluster->make_invite({"nas.local:22000"}, kHour);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->inviter == cluster->device_key().device_id());
    CHECK(a->expires_ns == kNow + kHour);
    CHECK(a->addresses.size() == 2);
    CHECK(a->invite_id != b->invite_id);
    CHECK(a->secret != b->secret);
    auto stored = home.store->invite(a->invite_id);
    REQUIRE(stored);
    REQUIRE(stored->has_value());
    CHECK((*stored)->secret == a->secret);
    CHECK_FALSE((*stored)->used);
    // The code survives its text form.
    auto decoded = InviteCode::decode(a->encode());
    REQUIRE(decoded);
    CHECK(decoded->secret == a->secret);

    CHECK(cluster->make_invite({}, kHour).error().code == Errc::invalid_argument);
    CHECK(cluster->make_invite({"no-port"}, kHour).error().code == Errc::invalid_argument);
    CHECK(cluster->make_invite({"192.0.2.7:22000"}, 0).error().code == Errc::invalid_argument);
}

TEST_CASE("cluster: describe lists this device first, the known devices and the revocations",
          "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    const KeyPair user = load_user(home);
    const OtherDevice phone(user, "phone");
    const OtherDevice old(user, "old");
    REQUIRE_OK(cluster->absorb(wire::ClusterConfig{"phone", {phone.info({"192.0.2.9:22000"})}, {}, {}},
                               phone.identity(), "192.0.2.9:22000"));
    auto revocation = cluster->revoke(key_of(old.key));
    REQUIRE(revocation);

    auto config = cluster->describe({"192.0.2.1:22000"});
    REQUIRE(config);
    CHECK(config->device_name == "laptop");
    REQUIRE(config->devices.size() == 2);
    CHECK(config->devices[0] ==
          wire::DeviceInfo{cluster->certificate().encode(), {"192.0.2.1:22000"}});
    CHECK(config->devices[1] == phone.info({"192.0.2.9:22000"}));
    CHECK(config->revocations == std::vector<std::string>{revocation->encode()});
}

TEST_CASE("cluster: absorb learns new devices and the sender's addresses", "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    const KeyPair user = load_user(home);
    const OtherDevice phone(user, "phone");
    const OtherDevice nas(user, "nas");

    // The phone reports itself listening on every interface: the host it was
    // seen at is used. The nas is relayed with its addresses; this device's
    // own entry is ignored.
    wire::ClusterConfig config{"phone",
                               {phone.info({"0.0.0.0:22000", "not an address"}),
                                nas.info({"10.0.0.5:22000"}),
                                wire::DeviceInfo{cluster->certificate().encode(), {"1.2.3.4:1"}}},
                               {},
                               {}};
    auto changes = cluster->absorb(config, phone.identity(), "192.0.2.9:40000");
    REQUIRE(changes);
    REQUIRE(changes->new_or_updated.size() == 2);
    CHECK(changes->revoked.empty());
    auto stored_phone = home.store->device(key_of(phone.key));
    REQUIRE(stored_phone);
    REQUIRE(stored_phone->has_value());
    CHECK((*stored_phone)->name == "phone");
    CHECK((*stored_phone)->certificate == phone.certificate.encode());
    CHECK((*stored_phone)->addresses == std::vector<std::string>{"192.0.2.9:22000"});
    auto stored_nas = home.store->device(key_of(nas.key));
    REQUIRE(stored_nas);
    REQUIRE(stored_nas->has_value());
    CHECK((*stored_nas)->addresses == std::vector<std::string>{"10.0.0.5:22000"});
    CHECK_FALSE(home.store->device(key_of(cluster->device_key()))->has_value());

    // The same again changes nothing.
    auto again = cluster->absorb(config, phone.identity(), "192.0.2.9:40000");
    REQUIRE(again);
    CHECK(again->new_or_updated.empty());

    // A relayed address does not override what a device said of itself; the
    // device's own word does.
    wire::ClusterConfig relayed{"nas", {phone.info({"10.9.9.9:1"}), nas.info({"10.0.0.6:22000"})}, {}, {}};
    auto from_nas = cluster->absorb(relayed, nas.identity(), "10.0.0.6:22000");
    REQUIRE(from_nas);
    REQUIRE(from_nas->new_or_updated.size() == 1);
    CHECK(from_nas->new_or_updated[0].name == "nas");
    CHECK((*home.store->device(key_of(phone.key)))->addresses ==
          std::vector<std::string>{"192.0.2.9:22000"});
    CHECK((*home.store->device(key_of(nas.key)))->addresses ==
          std::vector<std::string>{"10.0.0.6:22000"});

    // A renamed device (a newer certificate) replaces the older one.
    const auto renamed = DeviceCertificate::issue(user, key_of(phone.key), "new phone", kNow + 1);
    auto rename = cluster->absorb(
        wire::ClusterConfig{"new phone", {wire::DeviceInfo{renamed.encode(), {}}}, {}, {}},
        PeerIdentity{key_of(phone.key), renamed, std::nullopt}, "192.0.2.9:40000");
    REQUIRE(rename);
    REQUIRE(rename->new_or_updated.size() == 1);
    CHECK((*home.store->device(key_of(phone.key)))->name == "new phone");
    CHECK((*home.store->device(key_of(phone.key)))->addresses ==
          std::vector<std::string>{"192.0.2.9:22000"});
}

TEST_CASE("cluster: absorb skips forged certificates and revocations", "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    const KeyPair user = load_user(home);
    const KeyPair stranger = KeyPair::generate();
    const OtherDevice phone(user, "phone");
    const OtherDevice intruder(stranger, "intruder");
    OtherDevice tampered(user, "tampered");
    tampered.certificate.device_name = "renamed";  // the signature no longer matches
    const OtherDevice victim(user, "victim");
    REQUIRE_OK(cluster->absorb(wire::ClusterConfig{"victim", {victim.info({"10.0.0.8:1"})}, {}, {}},
                               victim.identity(), "10.0.0.8:1"));

    const Revocation forged = Revocation::issue(stranger, key_of(victim.key), kNow);
    wire::ClusterConfig config{"phone",
                               {phone.info({}), intruder.info({"6.6.6.6:1"}),
                                tampered.info({}), wire::DeviceInfo{"garbage", {}}},
                               {forged.encode(), "garbage"},
                               {}};
    auto changes = cluster->absorb(config, phone.identity(), "10.0.0.2:5");
    REQUIRE(changes);
    REQUIRE(changes->new_or_updated.size() == 1);
    CHECK(changes->new_or_updated[0].name == "phone");
    CHECK(changes->revoked.empty());
    CHECK_FALSE(home.store->device(key_of(intruder.key))->has_value());
    CHECK_FALSE(home.store->device(key_of(tampered.key))->has_value());
    CHECK(home.store->device(key_of(victim.key))->has_value());
    CHECK_FALSE(*home.store->is_revoked(key_of(victim.key)));

    // Nothing usable at all: an error that says why.
    auto nothing = cluster->absorb(wire::ClusterConfig{"intruder", {intruder.info({})}, {}, {}},
                                   phone.identity(), "10.0.0.2:5");
    REQUIRE_FALSE(nothing);
    CHECK(nothing.error().code == Errc::permission_denied);
    CHECK(nothing.error().message.find("another user") != std::string::npos);
}

TEST_CASE("cluster: a gossiped revocation is applied and is permanent", "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    REQUIRE_OK(home.store->add_folder(Folder{"docs", home.dir / "docs", FolderMode::send_receive}));
    auto cluster = home.cluster(clock, "laptop");
    const KeyPair user = load_user(home);
    const OtherDevice phone(user, "phone");
    const OtherDevice stolen(user, "stolen");
    REQUIRE_OK(cluster->absorb(
        wire::ClusterConfig{"stolen", {stolen.info({"10.0.0.3:22000"})}, {}, {}},
        stolen.identity(), "10.0.0.3:22000"));
    const ShortId stolen_id = stolen.certificate.device_id().short_id();
    FileRecord record;
    record.path = "a.txt";
    record.version.increment(stolen_id);
    record.modified_by = stolen_id;
    REQUIRE_OK(home.store->put_announced("docs", stolen_id, std::vector{record},
                                         PeerIndexState{1, Sequence{1}}));

    const Revocation revocation = Revocation::issue(user, key_of(stolen.key), kNow);
    // The revocation arrives together with a stale copy of the certificate.
    wire::ClusterConfig config{"phone", {phone.info({}), stolen.info({"10.0.0.3:22000"})},
                               {revocation.encode()}, {}};
    auto changes = cluster->absorb(config, phone.identity(), "10.0.0.2:5");
    REQUIRE(changes);
    CHECK(changes->revoked == std::vector<PublicKey>{key_of(stolen.key)});
    REQUIRE(changes->new_or_updated.size() == 1);
    CHECK(changes->new_or_updated[0].name == "phone");
    CHECK(*home.store->is_revoked(key_of(stolen.key)));
    CHECK_FALSE(home.store->device(key_of(stolen.key))->has_value());
    CHECK(home.store->announced_versions("docs", "a.txt")->empty());
    CHECK(home.store->peer_index_state("docs", stolen_id)->index_id == 0);
    CHECK(cluster->authorize(stolen.identity()).error().code == Errc::permission_denied);

    // Later configs without the revocation, or with the certificate alone,
    // never bring the device back; the revocation is reported once.
    auto later = cluster->absorb(
        wire::ClusterConfig{"stolen", {stolen.info({"10.0.0.3:22000"})}, {revocation.encode()}, {}},
        phone.identity(), "10.0.0.2:5");
    REQUIRE(later);
    CHECK(later->revoked.empty());
    CHECK(later->new_or_updated.empty());
    CHECK_FALSE(home.store->device(key_of(stolen.key))->has_value());
    auto config_out = cluster->describe({});
    REQUIRE(config_out);
    CHECK(config_out->revocations == std::vector<std::string>{revocation.encode()});
}

TEST_CASE("cluster: revoke signs a revocation and refuses this device itself", "[cluster]") {
    ManualClock clock(kNow);
    Home home;
    auto cluster = home.cluster(clock, "laptop");
    const OtherDevice phone(load_user(home), "phone");
    auto revocation = cluster->revoke(key_of(phone.key));
    REQUIRE(revocation);
    REQUIRE_OK(revocation->verify(cluster->user_public_key()));
    CHECK(revocation->device_key == key_of(phone.key));
    CHECK(revocation->revoked_ns == kNow);
    CHECK(*home.store->is_revoked(key_of(phone.key)));
    // Revoking again is harmless.
    REQUIRE_OK(cluster->revoke(key_of(phone.key)));
    CHECK(home.store->revocations()->size() == 1);

    auto self = cluster->revoke(key_of(cluster->device_key()));
    REQUIRE_FALSE(self);
    CHECK(self.error().code == Errc::invalid_argument);
}
