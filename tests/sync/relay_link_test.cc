// RelayLink's start (sync/relay_link.hh): the config it begins with is the
// device's last word raised by what was posted, and only the device's own
// configs (from a mailbox) are remembered, so an expiry that clears the
// posted marks brings the start back down.
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "cluster_test_util.hh"
#include "sync/relay_link.hh"

using namespace ferry;
using namespace ferry::cluster_test;

namespace {

wire::ClusterConfig config_with(std::uint64_t peer_index_id, std::int64_t peer_max) {
    wire::ClusterConfig config;
    config.device_name = "phone";
    config.folders.push_back(wire::FolderState{"docs", 77, peer_index_id, Sequence{peer_max}});
    return config;
}

// The first message a new link to `peer` gives the engine.
wire::ClusterConfig first_config(Home& home, const KeyPair& user, const KeyPair& device,
                                 const OtherDevice& peer) {
    asio::io_context io;
    auto context = std::make_shared<RelayLinkContext>();
    context->user = &user;
    context->device = &device;
    context->store = home.store.get();
    context->pick_relay = [] { return std::shared_ptr<RelayClient>(); };
    RelayLink link(io.get_executor(), context, peer.certificate);
    std::optional<Result<wire::Message>> message;
    asio::co_spawn(io, link.receive(),
                   [&](std::exception_ptr, Result<wire::Message> got) { message = std::move(got); });
    io.run_for(std::chrono::seconds(5));
    REQUIRE(message);
    REQUIRE(*message);
    REQUIRE(std::holds_alternative<wire::ClusterConfig>(**message));
    return std::get<wire::ClusterConfig>(**message);
}

}  // namespace

TEST_CASE("a relay link starts from the device's last config raised by what was posted",
          "[relay_link]") {
    const KeyPair user = KeyPair::generate();
    const KeyPair device = KeyPair::generate();
    Home home(&user);
    const OtherDevice phone(user, "phone");
    const DeviceId phone_id = phone.certificate.device_id();

    // Nothing known of the device: an empty config (nothing is shared yet).
    CHECK(first_config(home, user, device, phone).folders.empty());

    REQUIRE_OK(save_peer_config(*home.store, phone_id, config_with(5, 10)));
    CHECK(first_config(home, user, device, phone) == config_with(5, 10));

    // Posted up to 25 of the same index: the link starts there.
    REQUIRE_OK(home.store->set_setting(relay_posted_key(phone_id, "docs"), "5 25"));
    CHECK(first_config(home, user, device, phone) == config_with(5, 25));
    // Posted with another (newer) index of ours: that one counts.
    REQUIRE_OK(home.store->set_setting(relay_posted_key(phone_id, "docs"), "9 3"));
    CHECK(first_config(home, user, device, phone) == config_with(9, 3));

    // An expiry clears the marks: back to what the device itself said.
    REQUIRE_OK(home.store->set_setting(relay_posted_key(phone_id, "docs"), ""));
    CHECK(first_config(home, user, device, phone) == config_with(5, 10));
}
