// Fixed-layout binary fields for crypto/'s strict encodings (certificates,
// revocations, join codes, handshake messages): big-endian integers and
// raw byte runs, appended to a buffer or read from untrusted bytes.
//
// ByteReader never reads past the end: every read says whether the bytes
// were there, so a decoder checks each length before it uses it. Private to
// src/crypto. Pure; thread-safe for distinct objects.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

namespace ferry::crypto_detail {

// `Out` is std::string or std::vector<std::uint8_t>.
template <class Out>
void append_bytes(Out& out, std::span<const std::uint8_t> bytes) {
    for (std::uint8_t b : bytes) out.push_back(static_cast<typename Out::value_type>(b));
}

template <class Out>
void append_text(Out& out, std::string_view text) {
    for (char c : text) out.push_back(static_cast<typename Out::value_type>(c));
}

// The low `width` bytes of `value`, most significant first.
template <class Out>
void append_be(Out& out, std::uint64_t value, int width) {
    for (int shift = 8 * (width - 1); shift >= 0; shift -= 8) {
        out.push_back(static_cast<typename Out::value_type>((value >> shift) & 0xff));
    }
}

inline std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

class ByteReader {
public:
    explicit ByteReader(std::span<const std::uint8_t> bytes) : m_bytes(bytes) {}

    std::size_t remaining() const { return m_bytes.size() - m_pos; }
    bool at_end() const { return m_pos == m_bytes.size(); }

    // The next `n` bytes; false (nothing consumed) when fewer remain.
    bool take(std::size_t n, std::span<const std::uint8_t>& out) {
        if (n > remaining()) return false;
        out = m_bytes.subspan(m_pos, n);
        m_pos += n;
        return true;
    }
    template <std::size_t N>
    bool read(std::array<std::uint8_t, N>& out) {
        std::span<const std::uint8_t> bytes;
        if (!take(N, bytes)) return false;
        std::copy(bytes.begin(), bytes.end(), out.begin());
        return true;
    }
    // A big-endian unsigned integer of `width` bytes (1 to 8).
    bool read_be(int width, std::uint64_t& out) {
        std::span<const std::uint8_t> bytes;
        if (!take(static_cast<std::size_t>(width), bytes)) return false;
        out = 0;
        for (std::uint8_t b : bytes) out = (out << 8) | b;
        return true;
    }

private:
    std::span<const std::uint8_t> m_bytes;
    std::size_t m_pos = 0;
};

}  // namespace ferry::crypto_detail
