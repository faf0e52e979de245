#include "relay/chunk_store.hh"

#include <charconv>
#include <string>

namespace ferry::relay {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::size_t kHexLength = 2 * sizeof(wire::RelayChunkId);

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

}  // namespace

std::string chunk_key(std::int64_t account, const wire::RelayChunkId& chunk) {
    std::string key;
    key.reserve(kHexLength + 21);
    for (std::uint8_t b : chunk) {
        key.push_back(kHexDigits[b >> 4]);
        key.push_back(kHexDigits[b & 0xf]);
    }
    key.push_back('-');
    key += std::to_string(account);
    return key;
}

std::optional<ChunkKeyParts> parse_chunk_key(std::string_view key) {
    if (key.size() < kHexLength + 2 || key[kHexLength] != '-') return std::nullopt;
    ChunkKeyParts parts;
    for (std::size_t i = 0; i < parts.chunk.size(); ++i) {
        const int high = hex_value(key[2 * i]);
        const int low = hex_value(key[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        parts.chunk[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    const std::string_view number = key.substr(kHexLength + 1);
    // Only the canonical decimal form chunk_key() writes: one key per object.
    if (number.size() > 1 && number[0] == '0') return std::nullopt;
    const auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), parts.account);
    if (ec != std::errc() || end != number.data() + number.size() || parts.account <= 0) {
        return std::nullopt;
    }
    return parts;
}

}  // namespace ferry::relay
