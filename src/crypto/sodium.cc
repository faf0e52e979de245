#include "crypto/sodium.hh"

#include <stdexcept>

#include <sodium.h>

namespace ferry::crypto_detail {

void ensure_sodium() {
    // 0: initialised now, 1: already initialised, -1: no usable system RNG.
    if (sodium_init() < 0) {
        throw std::runtime_error("libsodium could not be initialised (no usable random source)");
    }
}

}  // namespace ferry::crypto_detail
