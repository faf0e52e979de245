// Tests of joining a cluster (src/sync/cluster_join.cc): a fresh home joins
// an inviter over an in-memory pipe or TCP, and every way a join is refused.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cluster_test_util.hh"
#include "net/byte_stream.hh"
#include "sync/cluster.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

using namespace ferry;
using namespace ferry::cluster_test;

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
        REQUIRE_OK(home.store->add_folder(Folder{"docs", home.dir / "docs", FolderMode::send_receive}));
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
        REQUIRE_OK(joiner.store->add_folder(Folder{"mine", joiner.dir / "mine", FolderMode::send_receive}));
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
