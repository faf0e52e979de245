#include "relay/relay_identity.hh"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>

#include "crypto/key_file.hh"

namespace ferry::relay {

namespace {

std::string key_path(const std::string& data_dir) { return data_dir + "/relay.key"; }

RelayIdentity with_certificate(KeyPair key) {
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    PublicKey public_key{};
    std::copy(key.public_key().begin(), key.public_key().end(), public_key.begin());
    DeviceCertificate certificate = DeviceCertificate::issue(
        key, public_key, "ferry-relay",
        std::chrono::duration_cast<std::chrono::nanoseconds>(now).count());
    return RelayIdentity{std::move(key), std::move(certificate)};
}

}  // namespace

Result<RelayIdentity> create_identity(const std::string& data_dir) {
    if (::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
        return fail(Errc::io, "cannot create the data folder " + data_dir + ": " +
                                  std::strerror(errno));
    }
    std::error_code ec;
    if (std::filesystem::exists(key_path(data_dir), ec)) {
        return fail(Errc::already_exists,
                    data_dir + " already holds a relay identity (relay.key); "
                               "`ferry-relay run --data " + data_dir + "` serves it");
    }
    KeyPair key = KeyPair::generate();
    if (auto saved = save_key(key_path(data_dir), key, KeyRole::relay); !saved)
        return tl::unexpected(saved.error());
    return with_certificate(std::move(key));
}

Result<RelayIdentity> load_identity(const std::string& data_dir) {
    auto key = load_key(key_path(data_dir), KeyRole::relay);
    if (!key) {
        if (key.error().code == Errc::not_found) {
            return fail(Errc::not_found, data_dir + " holds no relay identity: run "
                                         "`ferry-relay init --data " + data_dir + "` first");
        }
        return tl::unexpected(key.error());
    }
    return with_certificate(std::move(*key));
}

}  // namespace ferry::relay
