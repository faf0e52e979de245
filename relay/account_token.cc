#include "relay/account_token.hh"

#include <sodium.h>

#include "crypto/sodium.hh"

namespace ferry::relay {

namespace {

constexpr std::size_t kTokenBytes = 32;
constexpr std::string_view kTokenDomain = "ferry relay account token v1";
constexpr std::size_t kMaxNameLength = 64;

}  // namespace

std::string new_token() {
    crypto_detail::ensure_sodium();
    std::array<unsigned char, kTokenBytes> bytes{};
    randombytes_buf(bytes.data(), bytes.size());
    std::string text(2 * kTokenBytes + 1, '\0');
    sodium_bin2hex(text.data(), text.size(), bytes.data(), bytes.size());
    text.pop_back();
    return text;
}

std::optional<std::array<std::uint8_t, 32>> hash_token(std::string_view token) {
    if (token.size() != 2 * kTokenBytes) return std::nullopt;
    for (char c : token) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return std::nullopt;
    }
    std::array<std::uint8_t, kTokenBytes> bytes{};
    std::size_t length = 0;
    if (sodium_hex2bin(bytes.data(), bytes.size(), token.data(), token.size(), nullptr, &length,
                       nullptr) != 0 ||
        length != kTokenBytes) {
        return std::nullopt;
    }
    std::array<std::uint8_t, 32> hash{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, hash.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kTokenDomain.data()),
                              kTokenDomain.size());
    crypto_generichash_update(&state, bytes.data(), bytes.size());
    crypto_generichash_final(&state, hash.data(), hash.size());
    return hash;
}

Result<void> check_account_name(std::string_view name) {
    if (name.empty() || name.size() > kMaxNameLength) {
        return fail(Errc::invalid_argument, "an account name has 1 to 64 characters, '" +
                                                std::string(name) + "' has " +
                                                std::to_string(name.size()));
    }
    for (char c : name) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok) {
            return fail(Errc::invalid_argument,
                        "account name '" + std::string(name) +
                            "': only letters A-Z a-z, digits, '.', '_' and '-' are allowed");
        }
    }
    return {};
}

}  // namespace ferry::relay
