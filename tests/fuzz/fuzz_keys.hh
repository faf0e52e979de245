// Reproducible keys for the fuzz targets and the corpus generator: a key
// pair from a 32-byte seed filled with one byte, and a pair's public key in
// the fixed-size form certificates take.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>

#include "crypto/certificate.hh"
#include "crypto/identity.hh"

namespace ferry::fuzz {

inline KeyPair key_pair(std::uint8_t fill) {
    std::array<std::uint8_t, 32> seed{};
    seed.fill(fill);
    return KeyPair::from_seed(seed);
}

inline PublicKey public_of(const KeyPair& pair) {
    PublicKey out{};
    std::copy(pair.public_key().begin(), pair.public_key().end(), out.begin());
    return out;
}

}  // namespace ferry::fuzz
