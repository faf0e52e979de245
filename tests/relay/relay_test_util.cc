#include "relay_test_util.hh"

#include <algorithm>

namespace ferry::relay::test {

PublicKey key_of(const KeyPair& pair) {
    PublicKey key{};
    std::copy(pair.public_key().begin(), pair.public_key().end(), key.begin());
    return key;
}

DeviceCertificate User::certificate(std::size_t index) const {
    return DeviceCertificate::issue(key, device(index), "device " + std::to_string(index),
                                    1'700'000'000 * kSecond);
}

TestRelay::TestRelay(ServiceOptions service_options) : options(std::move(service_options)) {
    options.now_ns = [this] { return now; };
    reopen();
    auto opened = open_local_admin(dir.path());
    REQUIRE(opened);
    admin = std::move(*opened);
}

void TestRelay::reopen() {
    service.reset();
    auto opened = open_local_service(dir.path(), options);
    REQUIRE(opened);
    service = std::move(*opened);
}

User TestRelay::add_user(const std::string& name, std::uint64_t quota_bytes, std::size_t devices) {
    User user;
    for (std::size_t i = 0; i < devices; ++i) user.devices.push_back(KeyPair::generate());
    auto token = admin->add_user(name, quota_bytes);
    REQUIRE(token);
    user.token = *token;
    return user;
}

DeviceSession TestRelay::connect(const User& user, std::size_t index) {
    auto hello = service->hello(user.certificate(index), wire::RelayHello{user.token, {}});
    if (!hello) FAIL(hello.error().message);
    return hello->first;
}

wire::Message TestRelay::handle(const DeviceSession& session, const wire::Message& request) {
    return service->handle(session, request,
                           [this](const PublicKey& key) { posted.push_back(key); });
}

wire::RelayReply TestRelay::reply(const DeviceSession& session, const wire::Message& request) {
    auto answer = handle(session, request);
    REQUIRE(std::holds_alternative<wire::RelayReply>(answer));
    return std::get<wire::RelayReply>(answer);
}

wire::RelayChunkId chunk_id(std::uint8_t seed) {
    wire::RelayChunkId id{};
    id.fill(seed);
    return id;
}

wire::MailboxMessageId message_id(std::uint8_t seed) {
    wire::MailboxMessageId id{};
    id.fill(seed);
    return id;
}

}  // namespace ferry::relay::test
