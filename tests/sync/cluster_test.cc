// Tests of the cluster (src/sync/cluster*.cc): identity loading, trust
// decisions, gossip of devices and revocations, invites, and joining over an
// in-memory pipe between two homes.
#include <stdlib.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key_file.hh"
#include "net/byte_stream.hh"
#include "sync/cluster.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace ferry;

namespace {

#define REQUIRE_OK(expr)                                \
    do {                                                \
        const auto& result_ = (expr);                   \
        if (!result_) FAIL(result_.error().message);    \
    } while (false)

constexpr std::int64_t kNow = 1'750'000'000'000'000'000;
constexpr std::int64_t kHour = 3'600'000'000'000;

class TempDir {
public:
    TempDir() {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "ferry-cluster-XXXXXX").string();
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        m_path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

PublicKey key_of(const KeyPair& key) {
    PublicKey out{};
    std::copy(key.public_key().begin(), key.public_key().end(), out.begin());
    return out;
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A FERRY_HOME as `ferry init` leaves it: keys and an index, no certificate
// until the first Cluster::open.
struct Home {
    TempDir dir;
    IdentityFiles files{dir.file("device.key"), dir.file("user.key"), dir.file("device.cert")};
    std::unique_ptr<Store> store;

    explicit Home(const KeyPair* user = nullptr) {
        const KeyPair device = KeyPair::generate();
        REQUIRE_OK(save_key(files.device_key, device, KeyRole::device));
        if (user) {
            REQUIRE_OK(save_key(files.user_key, *user, KeyRole::user));
        } else {
            REQUIRE_OK(save_key(files.user_key, KeyPair::generate(), KeyRole::user));
        }
        auto opened = Store::open(dir.file("index.db"));
        if (!opened) FAIL(opened.error().message);
        store = std::move(*opened);
    }

    std::unique_ptr<Cluster> cluster(const Clock& clock, const std::string& name) {
        auto opened = Cluster::open(files, *store, clock, name);
        if (!opened) FAIL(opened.error().message);
        return std::move(*opened);
    }
};

// Another device of some user: its key and a certificate for it.
struct OtherDevice {
    KeyPair key = KeyPair::generate();
    DeviceCertificate certificate;

    OtherDevice(const KeyPair& user, const std::string& name)
        : certificate(DeviceCertificate::issue(user, key_of(key), name, kNow)) {}

    PeerIdentity identity() const { return PeerIdentity{key_of(key), certificate, std::nullopt}; }
    wire::DeviceInfo info(std::vector<std::string> addresses) const {
        return wire::DeviceInfo{certificate.encode(), std::move(addresses)};
    }
};

KeyPair load_user(const Home& home) {
    auto user = load_key(home.files.user_key, KeyRole::user);
    if (!user) FAIL(user.error().message);
    return std::move(*user);
}

}  // namespace

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
    REQUIRE_OK(home.store->add_folder(Folder{"docs", home.dir.file("docs"), FolderMode::send_receive}));
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

// ---- joining ----

namespace {

constexpr const char* kInviterAddress = "192.0.2.1:22000";

// The inviter's side of one connection, as the daemon runs it.
asio::awaitable<Result<void>> serve(Cluster& inviter, std::unique_ptr<ByteStream> stream) {
    ConnectionOptions options;
    options.invite_secret = [&inviter](const InviteId& id) { return inviter.invite_secret(id); };
    // Named first: GCC 12 miscompiles temporaries in a co_await's arguments.
    Authorizer authorize = [&inviter](const PeerIdentity& peer) { return inviter.authorize(peer); };
    auto connection = co_await Connection::accept(std::move(stream), inviter.device_key(),
                                                  inviter.certificate(), authorize, options);
    if (!connection) co_return tl::unexpected(connection.error());
    std::vector<std::string> addresses{kInviterAddress};
    std::vector<std::string> folders{"docs", "music"};
    co_return co_await inviter.serve_join(*connection, std::move(addresses), std::move(folders));
}

// Two homes in one process: "inviter:1" reaches the inviter through an
// in-memory pipe; every other address is unreachable.
struct JoinRun {
    asio::io_context io;
    std::optional<Result<void>> served;
    std::optional<Result<Cluster::JoinResult>> joined;
    std::vector<std::string> dialed;

    StreamDialer dialer(Cluster& inviter) {
        return [this, &inviter](const std::string& address)
                   -> asio::awaitable<Result<std::unique_ptr<ByteStream>>> {
            dialed.push_back(address);
            if (address != "inviter:1") co_return fail(Errc::io, address + ": connection refused");
            auto [ours, theirs] = make_memory_pipe(io.get_executor());
            asio::co_spawn(io, serve(inviter, std::move(theirs)),
                           [this](std::exception_ptr bug, Result<void> result) {
                               served = bug ? fail(Errc::io, "exception") : std::move(result);
                           });
            co_return std::move(ours);
        };
    }

    Result<Cluster::JoinResult> join(Home& joiner, const Clock& clock, const InviteCode& code,
                                     Cluster& inviter, bool expect_serve = true) {
        asio::co_spawn(io,
                       Cluster::join(joiner.files, *joiner.store, clock, "joiner", code,
                                     ConnectionOptions{}, dialer(inviter)),
                       [this](std::exception_ptr bug, Result<Cluster::JoinResult> result) {
                           joined = bug ? fail(Errc::io, "exception") : std::move(result);
                       });
        // Bounded: both sides finish long before.
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        while ((!joined || (expect_serve && !served)) && std::chrono::steady_clock::now() < deadline) {
            io.run_one_for(std::chrono::milliseconds(100));
        }
        REQUIRE(joined);
        return *joined;
    }
};

struct Inviter {
    ManualClock clock{kNow};
    Home home;
    std::unique_ptr<Cluster> cluster = home.cluster(clock, "laptop");
    KeyPair user = load_user(home);
    OtherDevice nas{user, "nas"};
    OtherDevice stolen{user, "stolen"};

    Inviter() {
        REQUIRE_OK(home.store->add_folder(Folder{"docs", home.dir.file("docs"), FolderMode::send_receive}));
        REQUIRE_OK(cluster->absorb(wire::ClusterConfig{"nas", {nas.info({"10.0.0.5:22000"})}, {}, {}},
                                   nas.identity(), "10.0.0.5:22000"));
        REQUIRE_OK(cluster->revoke(key_of(stolen.key)));
    }

    InviteCode invite(std::vector<std::string> addresses = {"inviter:1"}) {
        auto code = cluster->make_invite(std::move(addresses), kHour);
        if (!code) FAIL(code.error().message);
        return *code;
    }
};

}  // namespace

TEST_CASE("cluster join: a fresh home joins over a pipe and both sides know each other",
          "[cluster][join]") {
    Inviter inviter;
    ManualClock clock(kNow + 60'000'000'000);
    Home joiner;
    // `ferry init` made a certificate under the joiner's own user key.
    const auto own_certificate = joiner.cluster(clock, "joiner")->certificate();
    const InviteCode code = inviter.invite({"unreachable:9", "inviter:1"});
    JoinRun run;
    auto result = run.join(joiner, clock, code, *inviter.cluster);
    REQUIRE_OK(result);
    REQUIRE(run.served);
    REQUIRE_OK(*run.served);
    CHECK(run.dialed == std::vector<std::string>{"unreachable:9", "inviter:1"});
    CHECK(result->folders == std::vector<std::string>{"docs", "music"});
    CHECK(result->inviter_name == "laptop");

    // The joiner holds the user's key and a certificate from the inviter.
    auto user = load_key(joiner.files.user_key, KeyRole::user);
    REQUIRE(user);
    CHECK(key_of(*user) == key_of(inviter.user));
    auto reopened = joiner.cluster(clock, "joiner");
    CHECK(reopened->certificate() != own_certificate);
    CHECK(reopened->certificate().issued_ns == kNow);  // the inviter's clock: not reissued
    CHECK(read_file(joiner.files.certificate) == reopened->certificate().encode());
    REQUIRE_OK(reopened->certificate().verify(key_of(inviter.user)));

    // It knows the inviter (at its addresses) and the nas, and the revocation.
    auto devices = joiner.store->devices();
    REQUIRE(devices);
    REQUIRE(devices->size() == 2);
    auto laptop = joiner.store->device(key_of(inviter.cluster->device_key()));
    REQUIRE(laptop);
    REQUIRE(laptop->has_value());
    CHECK((*laptop)->name == "laptop");
    CHECK((*laptop)->addresses == std::vector<std::string>{kInviterAddress});
    auto nas = joiner.store->device(key_of(inviter.nas.key));
    REQUIRE(nas);
    REQUIRE(nas->has_value());
    CHECK((*nas)->addresses == std::vector<std::string>{"10.0.0.5:22000"});
    CHECK(*joiner.store->is_revoked(key_of(inviter.stolen.key)));

    // The inviter recorded the new device, used the invite, and trusts it.
    auto joined = inviter.home.store->device(key_of(reopened->device_key()));
    REQUIRE(joined);
    REQUIRE(joined->has_value());
    CHECK((*joined)->name == "joiner");
    CHECK((*joined)->certificate == reopened->certificate().encode());
    CHECK((*inviter.home.store->invite(code.invite_id))->used);
    REQUIRE_OK(inviter.cluster->authorize(
        PeerIdentity{key_of(reopened->device_key()), reopened->certificate(), std::nullopt}));
    // And each trusts the other from now on.
    REQUIRE_OK(reopened->authorize(PeerIdentity{key_of(inviter.cluster->device_key()),
                                                inviter.cluster->certificate(), std::nullopt}));
}

TEST_CASE("cluster join: a used code fails with changed and leaves the home as it was",
          "[cluster][join]") {
    Inviter inviter;
    const InviteCode code = inviter.invite();
    {
        Home first;
        JoinRun run;
        REQUIRE_OK(run.join(first, inviter.clock, code, *inviter.cluster));
    }
    Home second;
    const std::string user_before = read_file(second.files.user_key);
    JoinRun run;
    auto result = run.join(second, inviter.clock, code, *inviter.cluster, false);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::changed);
    CHECK(result.error().message.find("ask for a new one") != std::string::npos);
    CHECK(read_file(second.files.user_key) == user_before);
    CHECK_FALSE(std::filesystem::exists(second.files.certificate));
    CHECK(second.store->devices()->empty());
}

TEST_CASE("cluster join: an expired code fails with changed", "[cluster][join]") {
    Inviter inviter;
    const InviteCode code = inviter.invite();
    Home joiner;
    JoinRun run;
    SECTION("by the joiner's clock: nothing is dialed") {
        ManualClock late(code.expires_ns);
        auto result = run.join(joiner, late, code, *inviter.cluster, false);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::changed);
        CHECK(result.error().message.find("expired") != std::string::npos);
        CHECK(run.dialed.empty());
    }
    SECTION("by the inviter's clock") {
        inviter.clock.set(code.expires_ns);
        auto result = run.join(joiner, ManualClock(kNow), code, *inviter.cluster, false);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::changed);
        CHECK_FALSE((*inviter.home.store->invite(code.invite_id))->used);
    }
    CHECK(joiner.store->devices()->empty());
}

TEST_CASE("cluster join: a device that is not the code's inviter gets no proof", "[cluster][join]") {
    Inviter inviter;
    InviteCode code = inviter.invite();
    code.inviter = KeyPair::generate().device_id();
    Home joiner;
    JoinRun run;
    auto result = run.join(joiner, inviter.clock, code, *inviter.cluster, false);
    REQUIRE_FALSE(result);
    CHECK(result.error().code == Errc::permission_denied);
    CHECK(result.error().message.find("not the inviter") != std::string::npos);
    CHECK_FALSE((*inviter.home.store->invite(code.invite_id))->used);
    CHECK(inviter.home.store->devices()->size() == 1);  // the nas only
}

TEST_CASE("cluster join: only a fresh home joins, and an unreachable inviter is io",
          "[cluster][join]") {
    Inviter inviter;
    Home joiner;
    JoinRun run;
    SECTION("a home with a folder") {
        REQUIRE_OK(joiner.store->add_folder(Folder{"mine", joiner.dir.file("mine"), FolderMode::send_receive}));
        auto result = run.join(joiner, inviter.clock, inviter.invite(), *inviter.cluster, false);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::already_exists);
        CHECK(run.dialed.empty());
    }
    SECTION("unreachable") {
        auto result = run.join(joiner, inviter.clock, inviter.invite({"a:1", "b:2"}),
                               *inviter.cluster, false);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::io);
        CHECK(result.error().message.find("a:1: connection refused") != std::string::npos);
        CHECK(result.error().message.find("b:2: connection refused") != std::string::npos);
    }
}

TEST_CASE("cluster join: over TCP on 127.0.0.1, past an address where nobody listens",
          "[cluster][join]") {
    Inviter inviter;
    asio::io_context io;
    const asio::ip::tcp::endpoint loopback(asio::ip::make_address("127.0.0.1"), 0);
    asio::ip::tcp::acceptor acceptor(io, loopback);
    const std::string address = "127.0.0.1:" + std::to_string(acceptor.local_endpoint().port());
    std::string closed;
    {
        asio::ip::tcp::acceptor gone(io, loopback);
        closed = "127.0.0.1:" + std::to_string(gone.local_endpoint().port());
    }
    std::optional<Result<void>> served;
    acceptor.async_accept([&](std::error_code ec, asio::ip::tcp::socket socket) {
        if (ec) {
            served = fail(Errc::io, ec.message());
            return;
        }
        asio::co_spawn(io, serve(*inviter.cluster, make_tcp_stream(std::move(socket))),
                       [&](std::exception_ptr bug, Result<void> result) {
                           served = bug ? fail(Errc::io, "exception") : std::move(result);
                       });
    });
    const InviteCode code = inviter.invite({closed, address});
    Home joiner;
    std::optional<Result<Cluster::JoinResult>> joined;
    asio::co_spawn(io, Cluster::join(joiner.files, *joiner.store, inviter.clock, "joiner", code),
                   [&](std::exception_ptr bug, Result<Cluster::JoinResult> result) {
                       joined = bug ? fail(Errc::io, "exception") : std::move(result);
                   });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while ((!joined || !served) && std::chrono::steady_clock::now() < deadline) {
        io.run_one_for(std::chrono::milliseconds(100));
    }
    REQUIRE(joined);
    REQUIRE_OK(*joined);
    REQUIRE(served);
    REQUIRE_OK(*served);
    CHECK((*joined)->folders == std::vector<std::string>{"docs", "music"});
    CHECK(joiner.store->devices()->size() == 2);
}
