// Account names and one-time account tokens of a ferry-relay.
//
// A token is 32 random bytes written as 64 lower-case hex digits, printed
// once by `ferry-relay user add`; the relay keeps only its BLAKE2b-256 hash
// (domain-separated), so a copy of the database binds no account.
// Pure except new_token() (system randomness, via libsodium). Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hh"

namespace ferry::relay {

std::string new_token();
// The hash of a well-formed token; nullopt for any other text.
std::optional<std::array<std::uint8_t, 32>> hash_token(std::string_view token);
// 1-64 characters of [A-Za-z0-9._-]; Errc::invalid_argument saying why not.
Result<void> check_account_name(std::string_view name);

}  // namespace ferry::relay
