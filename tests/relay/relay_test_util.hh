// A relay for tests: a temporary data folder, a service whose clock the
// test sets (`now`), its admin, and users with devices that say hello.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "crypto/certificate.hh"
#include "crypto/identity.hh"
#include "relay/chunk_store.hh"
#include "relay/relay_service.hh"
#include "temp_dir.hh"

namespace ferry::relay::test {

inline constexpr std::int64_t kSecond = 1'000'000'000;

PublicKey key_of(const KeyPair& pair);

struct User {
    KeyPair key = KeyPair::generate();
    std::vector<KeyPair> devices;
    std::string token;  // from add_user
    // The certificate of device `index`.
    DeviceCertificate certificate(std::size_t index) const;
    PublicKey device(std::size_t index) const { return key_of(devices.at(index)); }
};

class TestRelay {
public:
    explicit TestRelay(ServiceOptions options = {});

    // A new account with `devices` devices (not yet connected).
    User add_user(const std::string& name, std::uint64_t quota_bytes, std::size_t devices = 2);
    // Hello from device `index` of `user` (with the user's token): the session.
    DeviceSession connect(const User& user, std::size_t index);
    // Opens the service again on the same folder (as after a restart).
    void reopen();

    wire::Message handle(const DeviceSession& session, const wire::Message& request);
    wire::RelayReply reply(const DeviceSession& session, const wire::Message& request);

    ferry::test::TempDir dir;
    std::int64_t now = 1'700'000'000 * kSecond;
    ServiceOptions options;
    std::unique_ptr<RelayService> service;
    std::unique_ptr<RelayAdmin> admin;
    std::vector<PublicKey> posted;  // on_posted calls, in order
};

wire::RelayChunkId chunk_id(std::uint8_t seed);
// One object for ChunkStore::put (`data` must outlive the put).
inline std::vector<ChunkObject> one_object(std::string key, std::string_view data) {
    return {ChunkObject{std::move(key), data}};
}
wire::MailboxMessageId message_id(std::uint8_t seed);

}  // namespace ferry::relay::test
