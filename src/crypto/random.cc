#include "crypto/random.hh"

#include <sodium.h>

#include "crypto/sodium.hh"

namespace ferry {

std::uint32_t random_below(std::uint32_t upper) {
    crypto_detail::ensure_sodium();
    return randombytes_uniform(upper);
}

void random_bytes(std::span<std::uint8_t> out) {
    crypto_detail::ensure_sodium();
    randombytes_buf(out.data(), out.size());
}

}  // namespace ferry
