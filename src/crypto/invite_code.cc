#include "crypto/invite_code.hh"

#include <algorithm>
#include <cctype>
#include <stdexcept>

#include <sodium.h>

#include "crypto/base32.hh"
#include "crypto/bytes.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

using crypto_detail::append_be;
using crypto_detail::append_bytes;
using crypto_detail::append_text;
using crypto_detail::ByteReader;

// proto/security.md, "Join codes".
constexpr std::string_view kPrefix = "ferry1-";
constexpr std::uint8_t kFormatVersion = 1;
constexpr std::size_t kChecksumBytes = 4;
constexpr std::size_t kFixedBytes = 1 + 32 + 16 + 32 + 8 + 1;
constexpr std::size_t kMaxBinaryBytes =
    kFixedBytes + InviteCode::kMaxAddresses * (1 + InviteCode::kMaxAddressBytes) + kChecksumBytes;
constexpr std::size_t kMaxTextBytes = kPrefix.size() + (kMaxBinaryBytes * 8 + 4) / 5;

std::array<std::uint8_t, kChecksumBytes> checksum(std::span<const std::uint8_t> body) {
    crypto_detail::ensure_sodium();
    std::array<std::uint8_t, 32> hash{};
    crypto_generichash(hash.data(), hash.size(), body.data(), body.size(), nullptr, 0);
    std::array<std::uint8_t, kChecksumBytes> out{};
    std::copy_n(hash.begin(), out.size(), out.begin());
    return out;
}

// Addresses are "host:port" or "[v6]:port": printable ASCII, no spaces.
bool valid_address(std::string_view address) {
    return !address.empty() && address.size() <= InviteCode::kMaxAddressBytes &&
           std::all_of(address.begin(), address.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

tl::unexpected<Error> bad_code(const std::string& problem) {
    return fail(
        Errc::invalid_argument,
        "join code " + problem + "; copy the whole code exactly as `ferry invite` printed it");
}

std::string_view trim(std::string_view text) {
    const auto space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
    while (!text.empty() && space(text.front())) text.remove_prefix(1);
    while (!text.empty() && space(text.back())) text.remove_suffix(1);
    return text;
}

bool starts_with_prefix(std::string_view text) {
    return text.size() >= kPrefix.size() &&
           std::equal(kPrefix.begin(), kPrefix.end(), text.begin(), [](char a, char b) {
               return a == std::tolower(static_cast<unsigned char>(b));
           });
}

// The decoded bytes hold the secret: wiped on every way out of decode().
struct WipeOnExit {
    std::optional<std::vector<std::uint8_t>>& bytes;
    ~WipeOnExit() {
        if (bytes) sodium_memzero(bytes->data(), bytes->size());
    }
};

}  // namespace

std::string InviteCode::encode() const {
    if (addresses.size() > kMaxAddresses ||
        !std::all_of(addresses.begin(), addresses.end(), valid_address)) {
        throw std::invalid_argument(
            "InviteCode::encode: at most 16 addresses of 1-255 printable ASCII bytes");
    }
    std::vector<std::uint8_t> body;
    body.push_back(kFormatVersion);
    append_bytes(body, inviter.bytes());
    append_bytes(body, invite_id);
    append_bytes(body, secret);
    append_be(body, static_cast<std::uint64_t>(expires_ns), 8);
    append_be(body, addresses.size(), 1);
    for (const std::string& address : addresses) {
        append_be(body, address.size(), 1);
        append_text(body, address);
    }
    append_bytes(body, checksum(body));
    std::string text = base32_encode(body);
    std::transform(text.begin(), text.end(), text.begin(), [](char c) {
        return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    });
    sodium_memzero(body.data(), body.size());
    return std::string(kPrefix) + text;
}

Result<InviteCode> InviteCode::decode(std::string_view text) {
    text = trim(text);
    if (!starts_with_prefix(text)) return bad_code("does not start with \"ferry1-\"");
    if (text.size() > kMaxTextBytes) {
        return bad_code("is " + std::to_string(text.size()) + " characters long, more than any (" +
                        std::to_string(kMaxTextBytes) + ")");
    }
    const std::string_view data = text.substr(kPrefix.size());
    for (std::size_t i = 0; i < data.size(); ++i) {
        if (base32_digit(data[i]) < 0) {
            return bad_code("contains '" + std::string(1, data[i]) + "' at position " +
                            std::to_string(kPrefix.size() + i + 1) +
                            ", which cannot occur in a join code (only a-z and 2-7 can)");
        }
    }
    auto bytes = base32_decode(data);
    const WipeOnExit wipe{bytes};
    if (!bytes || bytes->size() < kFixedBytes + kChecksumBytes) {
        return bad_code("is truncated or has extra characters (" + std::to_string(text.size()) +
                        " characters)");
    }
    const std::span<const std::uint8_t> all(*bytes);
    const auto body = all.first(all.size() - kChecksumBytes);
    const auto sum = checksum(body);
    if (sodium_memcmp(sum.data(), all.last(kChecksumBytes).data(), sum.size()) != 0) {
        return bad_code("does not match its checksum: a character is mistyped, missing or extra");
    }
    ByteReader in(body);
    std::uint64_t version = 0;
    in.read_be(1, version);
    if (version != kFormatVersion) {
        return fail(Errc::invalid_argument,
                    "join code has format " + std::to_string(version) +
                        ", which this ferry does not know: update ferry on this device");
    }
    InviteCode code;
    std::array<std::uint8_t, DeviceId::kBytes> inviter{};
    std::uint64_t expires = 0;
    std::uint64_t count = 0;
    in.read(inviter);
    in.read(code.invite_id);
    in.read(code.secret);
    in.read_be(8, expires);
    in.read_be(1, count);
    code.inviter = DeviceId::from_bytes(inviter);
    code.expires_ns = static_cast<std::int64_t>(expires);
    if (count > kMaxAddresses) {
        return bad_code("lists " + std::to_string(count) + " addresses, more than " +
                        std::to_string(kMaxAddresses));
    }
    for (std::uint64_t i = 0; i < count; ++i) {
        std::uint64_t size = 0;
        std::span<const std::uint8_t> address;
        if (!in.read_be(1, size) || !in.take(size, address)) {
            return bad_code("ends inside address " + std::to_string(i + 1));
        }
        code.addresses.emplace_back(address.begin(), address.end());
        if (!valid_address(code.addresses.back())) {
            return bad_code("holds address " + std::to_string(i + 1) +
                            " that is empty or not printable ASCII");
        }
    }
    if (!in.at_end()) return bad_code("has " + std::to_string(in.remaining()) + " extra bytes");
    return code;
}

}  // namespace ferry
