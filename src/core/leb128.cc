#include "core/leb128.hh"

namespace ferry {

void append_leb128(std::string& out, std::uint64_t value) {
    while (value >= 0x80) {
        out.push_back(static_cast<char>((value & 0x7f) | 0x80));
        value >>= 7;
    }
    out.push_back(static_cast<char>(value));
}

Result<std::uint64_t> read_leb128(std::span<const std::uint8_t> bytes, std::size_t& pos) {
    const std::size_t start = pos;
    std::uint64_t value = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (pos >= bytes.size()) {
            return fail(Errc::corrupt, "varint at byte " + std::to_string(start) + " is truncated");
        }
        const std::uint8_t byte = bytes[pos++];
        // The tenth byte may only carry bit 63, and must be the last.
        if (shift == 63 && (byte & 0xfe) != 0) {
            return fail(Errc::corrupt,
                        "varint at byte " + std::to_string(start) + " exceeds 64 bits");
        }
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if ((byte & 0x80) == 0) {
            if (byte == 0 && pos - start > 1) {
                return fail(Errc::corrupt, "varint at byte " + std::to_string(start) +
                                               " has an overlong encoding");
            }
            return value;
        }
    }
}

}  // namespace ferry
