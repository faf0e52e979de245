#include "crypto/chacha_poly.hh"

#include <algorithm>
#include <climits>
#include <new>
#include <stdexcept>
#include <string>

#include <openssl/evp.h>
#include <sodium.h>

#include "crypto/sodium.hh"

namespace ferry::crypto_detail {
namespace {

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
        throw std::length_error("ChaCha20-Poly1305: " + std::to_string(bytes.size()) +
                                " bytes is more than one call takes");
    return static_cast<int>(bytes.size());
}

void check(int ok, const char* what) {
    if (ok != 1)
        throw std::runtime_error(std::string("OpenSSL ChaCha20-Poly1305: ") + what + " failed");
}

// The XChaCha subkey and nonce of `nonce`, wiped when done.
struct XChaChaParameters {
    std::array<std::uint8_t, 32> subkey;
    ChaChaPoly::Nonce nonce{};

    XChaChaParameters(ChaChaPolyKey key, XChaChaNonce extended) {
        ensure_sodium();
        crypto_core_hchacha20(subkey.data(), extended.data(), key.data(), nullptr);
        std::copy(extended.begin() + 16, extended.end(), nonce.begin() + 4);
    }
    ~XChaChaParameters() { sodium_memzero(subkey.data(), subkey.size()); }
    XChaChaParameters(const XChaChaParameters&) = delete;
    XChaChaParameters& operator=(const XChaChaParameters&) = delete;
};

ChaChaPoly& thread_context() {
    thread_local ChaChaPoly context;
    return context;
}

}  // namespace

ChaChaPoly::ChaChaPoly() : m_ctx(EVP_CIPHER_CTX_new()) {
    if (m_ctx == nullptr) throw std::bad_alloc();
    if (EVP_CipherInit_ex2(m_ctx, &chacha20_poly1305(), nullptr, nullptr, 1, nullptr) != 1) {
        EVP_CIPHER_CTX_free(m_ctx);
        check(0, "setup");
    }
}

ChaChaPoly::~ChaChaPoly() { EVP_CIPHER_CTX_free(m_ctx); }  // cleanses the key schedule

void ChaChaPoly::seal(ChaChaPolyKey key, const Nonce& nonce,
                      std::span<const std::uint8_t> associated, std::span<std::uint8_t> text,
                      ChaChaPolyTag tag) {
    int written = 0;
    check(EVP_CipherInit_ex2(m_ctx, nullptr, key.data(), nonce.data(), 1, nullptr), "init");
    check(EVP_CipherUpdate(m_ctx, nullptr, &written, associated.data(), length_of(associated)),
          "associated data");
    check(EVP_CipherUpdate(m_ctx, text.data(), &written, text.data(), length_of(text)), "encrypt");
    check(EVP_CipherFinal_ex(m_ctx, text.data() + written, &written), "finish");
    check(EVP_CIPHER_CTX_ctrl(m_ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(tag.size()),
                              tag.data()),
          "tag");
}

bool ChaChaPoly::open(ChaChaPolyKey key, const Nonce& nonce,
                      std::span<const std::uint8_t> associated, std::span<const std::uint8_t> in,
                      std::span<std::uint8_t> out, ChaChaPolyConstTag tag) {
    if (in.size() != out.size())
        throw std::invalid_argument("ChaCha20-Poly1305: open into a buffer of another size");
    std::array<std::uint8_t, kChaChaPolyTagBytes> expected;
    std::copy(tag.begin(), tag.end(), expected.begin());
    int written = 0;
    check(EVP_CipherInit_ex2(m_ctx, nullptr, key.data(), nonce.data(), 0, nullptr), "init");
    check(EVP_CIPHER_CTX_ctrl(m_ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(expected.size()),
                              expected.data()),
          "tag");
    check(EVP_CipherUpdate(m_ctx, nullptr, &written, associated.data(), length_of(associated)),
          "associated data");
    check(EVP_CipherUpdate(m_ctx, out.data(), &written, in.data(), length_of(in)), "decrypt");
    // Final compares the tag (in constant time); nothing is written here.
    return EVP_CipherFinal_ex(m_ctx, out.data() + written, &written) == 1;
}

void xchacha_seal(ChaChaPolyKey key, XChaChaNonce nonce,
                  std::span<const std::uint8_t> associated, std::span<std::uint8_t> text,
                  ChaChaPolyTag tag) {
    const XChaChaParameters x(key, nonce);
    thread_context().seal(x.subkey, x.nonce, associated, text, tag);
}

bool xchacha_open(ChaChaPolyKey key, XChaChaNonce nonce,
                  std::span<const std::uint8_t> associated, std::span<const std::uint8_t> in,
                  std::span<std::uint8_t> out, ChaChaPolyConstTag tag) {
    const XChaChaParameters x(key, nonce);
    return thread_context().open(x.subkey, x.nonce, associated, in, out, tag);
}

}  // namespace ferry::crypto_detail
