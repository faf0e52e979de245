// Start-up of libsodium for the crypto part.
//
// Every function in src/crypto that needs randomness or a chosen
// implementation calls ensure_sodium() first. Thread rule: safe from any
// thread (sodium_init() is idempotent and thread-safe). Failure is a start-up
// failure (no usable random source): it throws std::runtime_error.
#pragma once

namespace ferry::crypto_detail {

void ensure_sodium();

}  // namespace ferry::crypto_detail
