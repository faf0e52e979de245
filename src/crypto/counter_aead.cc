#include "crypto/counter_aead.hh"

#include <algorithm>
#include <climits>
#include <new>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/sodium.hh"

namespace ferry {
namespace {

using Nonce = std::array<std::uint8_t, 12>;

Nonce counter_nonce(std::uint64_t counter) {
    Nonce nonce{};
    for (std::size_t i = 0; i < 8; ++i)
        nonce[nonce.size() - 1 - i] = static_cast<std::uint8_t>(counter >> (8 * i));
    return nonce;
}

// Fetched once: an implicit fetch on every init costs a provider lookup.
const EVP_CIPHER& chacha20_poly1305() {
    static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "ChaCha20-Poly1305", nullptr);
    if (cipher == nullptr)
        throw std::runtime_error(
            "OpenSSL has no ChaCha20-Poly1305 (is its default provider missing?)");
    return *cipher;
}

int length_of(std::span<const std::uint8_t> bytes) {
    if (bytes.size() > static_cast<std::size_t>(INT_MAX))
        throw std::length_error("CounterAead: " + std::to_string(bytes.size()) +
                                " bytes is more than one call takes");
    return static_cast<int>(bytes.size());
}

void check(int ok, const char* what) {
    if (ok != 1)
        throw std::runtime_error(std::string("OpenSSL ChaCha20-Poly1305: ") + what + " failed");
}

}  // namespace

struct CounterAead::Context {
    EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
    ~Context() { EVP_CIPHER_CTX_free(ctx); }  // cleanses the key schedule
};

CounterAead::CounterAead(const Key& key) : m_context(std::make_unique<Context>()) {
    crypto_detail::ensure_sodium();
    if (m_context->ctx == nullptr) throw std::bad_alloc();
    check(EVP_CipherInit_ex2(m_context->ctx, &chacha20_poly1305(), nullptr, nullptr, 1, nullptr),
          "setup");
    set_key(key);
}

CounterAead::~CounterAead() {
    sodium_memzero(m_subkey.data(), m_subkey.size());
}

void CounterAead::set_key(const Key& key) {
    static constexpr std::array<std::uint8_t, 16> kZeroNoncePrefix{};
    crypto_core_hchacha20(m_subkey.data(), kZeroNoncePrefix.data(), key.data(), nullptr);
}

void CounterAead::seal(std::uint64_t counter, std::span<const std::uint8_t> associated,
                       std::span<std::uint8_t> text, std::span<std::uint8_t, kTagBytes> tag) {
    EVP_CIPHER_CTX* ctx = m_context->ctx;
    const Nonce nonce = counter_nonce(counter);
    int written = 0;
    check(EVP_CipherInit_ex2(ctx, nullptr, m_subkey.data(), nonce.data(), 1, nullptr), "init");
    check(EVP_CipherUpdate(ctx, nullptr, &written, associated.data(), length_of(associated)),
          "associated data");
    check(EVP_CipherUpdate(ctx, text.data(), &written, text.data(), length_of(text)), "encrypt");
    check(EVP_CipherFinal_ex(ctx, text.data() + written, &written), "finish");
    check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kTagBytes), tag.data()),
          "tag");
}

bool CounterAead::open(std::uint64_t counter, std::span<const std::uint8_t> associated,
                       std::span<std::uint8_t> text, std::span<const std::uint8_t, kTagBytes> tag) {
    EVP_CIPHER_CTX* ctx = m_context->ctx;
    const Nonce nonce = counter_nonce(counter);
    std::array<std::uint8_t, kTagBytes> expected;
    std::copy(tag.begin(), tag.end(), expected.begin());
    int written = 0;
    check(EVP_CipherInit_ex2(ctx, nullptr, m_subkey.data(), nonce.data(), 0, nullptr), "init");
    check(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kTagBytes),
                              expected.data()),
          "tag");
    check(EVP_CipherUpdate(ctx, nullptr, &written, associated.data(), length_of(associated)),
          "associated data");
    check(EVP_CipherUpdate(ctx, text.data(), &written, text.data(), length_of(text)), "decrypt");
    // Final compares the tag (in constant time); nothing is written here.
    return EVP_CipherFinal_ex(ctx, text.data() + written, &written) == 1;
}

}  // namespace ferry
