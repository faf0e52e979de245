#include "crypto/device_id.hh"

#include <algorithm>
#include <cctype>

#include <sodium.h>

#include "crypto/base32.hh"
#include "crypto/sodium.hh"

namespace ferry {
namespace {

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kDomain = "ferry device id v1";
constexpr std::size_t kDataChars = 52;  // ceil(256 / 5)
constexpr std::size_t kParts = 4;
constexpr std::size_t kPartChars = kDataChars / kParts;  // 13, then one check character
constexpr std::size_t kChars = kDataChars + kParts;      // 56
constexpr std::size_t kGroup = 7;

// Luhn mod N over the base32 alphabet: doubling every second digit from the
// right makes every single-character substitution change the sum.
char luhn_check(std::string_view part) {
    constexpr int n = static_cast<int>(kAlphabet.size());
    int factor = 2;
    int sum = 0;
    for (auto it = part.rbegin(); it != part.rend(); ++it) {
        int addend = factor * base32_digit(*it);
        factor = factor == 2 ? 1 : 2;
        sum += addend / n + addend % n;
    }
    return kAlphabet[static_cast<std::size_t>((n - sum % n) % n)];
}

}  // namespace

DeviceId DeviceId::from_public_key(std::span<const std::uint8_t, 32> public_key) {
    crypto_detail::ensure_sodium();
    std::array<std::uint8_t, kBytes> hash{};
    crypto_generichash_state state;
    crypto_generichash_init(&state, nullptr, 0, hash.size());
    crypto_generichash_update(&state, reinterpret_cast<const unsigned char*>(kDomain.data()),
                              kDomain.size());
    crypto_generichash_update(&state, public_key.data(), public_key.size());
    crypto_generichash_final(&state, hash.data(), hash.size());
    return DeviceId(hash);
}

std::string DeviceId::to_string() const {
    const std::string data = base32_encode(m_bytes);
    std::string checked;
    checked.reserve(kChars);
    for (std::size_t p = 0; p < kParts; ++p) {
        const std::string_view part = std::string_view(data).substr(p * kPartChars, kPartChars);
        checked.append(part);
        checked.push_back(luhn_check(part));
    }
    std::string out;
    out.reserve(kTextLength);
    for (std::size_t i = 0; i < kChars; i += kGroup) {
        if (i != 0) out.push_back('-');
        out.append(checked, i, kGroup);
    }
    return out;
}

Result<DeviceId> DeviceId::parse(std::string_view text) {
    const std::string quoted = "device id '" + std::string(text) + "'";
    std::string chars;
    for (char c : text) {
        if (c == '-') continue;
        if (base32_digit(c) < 0) {
            return fail(Errc::invalid_argument,
                        quoted + " contains '" + std::string(1, c) +
                            "', which is not a device id character (A-Z, 2-7); copy the id "
                            "exactly as `ferry id` prints it");
        }
        chars.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (chars.size() != kChars) {
        return fail(Errc::invalid_argument,
                    quoted + " has " + std::to_string(chars.size()) +
                        " characters without dashes; a device id has 56 (8 groups of 7, as "
                        "`ferry id` prints it)");
    }
    std::string data;
    for (std::size_t p = 0; p < kParts; ++p) {
        const std::string_view part =
            std::string_view(chars).substr(p * (kPartChars + 1), kPartChars);
        if (luhn_check(part) != chars[p * (kPartChars + 1) + kPartChars]) {
            return fail(Errc::invalid_argument,
                        quoted + ": the check character of groups " + std::to_string(2 * p + 1) +
                            "-" + std::to_string(2 * p + 2) +
                            " does not match: a character in those groups is mistyped");
        }
        data.append(part);
    }
    // 52 characters carry 260 bits: the 4 beyond the 256 of the hash must be zero.
    const auto decoded = base32_decode(data);
    if (!decoded) {
        return fail(Errc::invalid_argument,
                    quoted +
                        " is not a valid device id (the 6th character of group 8 "
                        "cannot occur there); copy the id exactly as `ferry id` prints it");
    }
    std::array<std::uint8_t, kBytes> bytes{};
    std::copy(decoded->begin(), decoded->end(), bytes.begin());
    return DeviceId(bytes);
}

ShortId DeviceId::short_id() const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | m_bytes[i];
    return ShortId{v};
}

}  // namespace ferry
