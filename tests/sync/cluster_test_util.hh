// Shared by the cluster's tests (cluster_test.cc, cluster_join_test.cc):
// homes as `ferry init` leaves them, other devices of a user with their
// certificates, and a fixed clock origin.
#pragma once

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/key_file.hh"
#include "sync/cluster.hh"
#include "temp_dir.hh"

// Requires success, showing the error's message when there is one.
#define REQUIRE_OK(expr)                                \
    do {                                                \
        const auto& result_ = (expr);                   \
        if (!result_) FAIL(result_.error().message);    \
    } while (false)

namespace ferry::cluster_test {

inline constexpr std::int64_t kNow = 1'750'000'000'000'000'000;
inline constexpr std::int64_t kHour = 3'600'000'000'000;

inline PublicKey key_of(const KeyPair& key) {
    PublicKey out{};
    std::copy(key.public_key().begin(), key.public_key().end(), out.begin());
    return out;
}

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// A FERRY_HOME as `ferry init` leaves it: keys and an index, no certificate
// until the first Cluster::open.
struct Home {
    test::TempDir dir;
    IdentityFiles files{dir / "device.key", dir / "user.key", dir / "device.cert"};
    std::unique_ptr<Store> store;

    explicit Home(const KeyPair* user = nullptr) {
        const KeyPair device = KeyPair::generate();
        REQUIRE_OK(save_key(files.device_key, device, KeyRole::device));
        if (user) {
            REQUIRE_OK(save_key(files.user_key, *user, KeyRole::user));
        } else {
            REQUIRE_OK(save_key(files.user_key, KeyPair::generate(), KeyRole::user));
        }
        auto opened = Store::open(dir / "index.db");
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

inline KeyPair load_user(const Home& home) {
    auto user = load_key(home.files.user_key, KeyRole::user);
    if (!user) FAIL(user.error().message);
    return std::move(*user);
}

}  // namespace ferry::cluster_test
