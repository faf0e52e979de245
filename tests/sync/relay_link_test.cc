// RelayLink (sync/relay_link.hh): the config it begins with is the device's
// last word raised by what was posted, and only the device's own configs
// (from a mailbox) are remembered, so an expiry that clears the posted
// marks brings the start back down; a redelivered index update is skipped,
// but one answering a ResendRequest is not.
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

// What the links of `home`'s daemon share, with no relay connected.
std::shared_ptr<RelayLinkContext> context_of(Home& home, const KeyPair& user,
                                             const KeyPair& device) {
    auto context = std::make_shared<RelayLinkContext>();
    context->user = &user;
    context->device = &device;
    context->store = home.store.get();
    context->pick_relay = [] { return std::shared_ptr<RelayClient>(); };
    return context;
}

// The first message a new link to `peer` gives the engine.
wire::ClusterConfig first_config(Home& home, const KeyPair& user, const KeyPair& device,
                                 const OtherDevice& peer) {
    asio::io_context io;
    RelayLink link(io.get_executor(), context_of(home, user, device), peer.certificate);
    std::optional<Result<wire::Message>> message;
    asio::co_spawn(io, link.receive(),
                   [&](std::exception_ptr, Result<wire::Message> got) { message = std::move(got); });
    io.run_for(std::chrono::seconds(5));
    REQUIRE(message);
    REQUIRE(*message);
    REQUIRE(std::holds_alternative<wire::ClusterConfig>(**message));
    return std::get<wire::ClusterConfig>(**message);
}

FileRecord record_at(const std::string& path, std::int64_t sequence) {
    FileRecord record;
    record.path = path;
    record.kind = FileKind::file;
    record.mode = 0644;
    record.sequence = Sequence{sequence};
    return record;
}

wire::IndexUpdate update_of(const FileRecord& record, std::int64_t last) {
    return wire::IndexUpdate{"docs", 77, Sequence{last}, {wire::WireRecord{record, std::nullopt}}};
}

}  // namespace

TEST_CASE("a relay link skips a redelivered index update, not a resent record", "[relay_link]") {
    const KeyPair user = KeyPair::generate();
    const KeyPair device = KeyPair::generate();
    Home home(&user);
    REQUIRE_OK(home.store->add_folder(Folder{"docs", home.dir / "docs", FolderMode::send_receive}));
    const OtherDevice phone(user, "phone");
    const ShortId phone_id = phone.certificate.device_id().short_id();
    // The phone's index is stored up to 10, with "b" at 10; its "a" (4) was
    // refused here (a delta without a base), so it was asked to send it again.
    REQUIRE_OK(home.store->put_announced("docs", phone_id, std::vector<FileRecord>{record_at("b", 10)},
                                         PeerIndexState{77, Sequence{10}}));

    asio::io_context io;
    RelayLink link(io.get_executor(), context_of(home, user, device), phone.certificate);
    wire::MailboxMessageId first{};
    first[0] = 1;
    wire::MailboxMessageId second{};
    second[0] = 2;
    link.deliver(nullptr, first, update_of(record_at("b", 10), 10));  // stored: a redelivery
    link.deliver(nullptr, second, update_of(record_at("a", 4), 10));  // the resend
    std::vector<wire::Message> received;
    std::function<void()> next = [&] {
        asio::co_spawn(io, link.receive(), [&](std::exception_ptr, Result<wire::Message> got) {
            if (!got) return;
            received.push_back(std::move(*got));
            if (received.size() < 3) next();
        });
    };
    next();
    io.run_for(std::chrono::milliseconds(200));
    REQUIRE(received.size() == 2);  // the start's config, then the resend only
    CHECK(std::holds_alternative<wire::ClusterConfig>(received[0]));
    REQUIRE(std::holds_alternative<wire::IndexUpdate>(received[1]));
    CHECK(std::get<wire::IndexUpdate>(received[1]).records.at(0).record.path == "a");
    link.close("test over");
    io.run_for(std::chrono::milliseconds(50));
}

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
