// Shared by the message codec's tests (messages_*test.cc): hex, records and
// version vectors to build messages from, the golden vectors of
// proto/messages.md, and hostile messages written field by field.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <msgpack.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/messages.hh"

namespace ferry::message_test {

using Bytes = std::vector<std::uint8_t>;

inline Bytes from_hex(std::string_view hex) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

inline std::string to_hex(const Bytes& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

inline ChunkHash filled_hash(std::uint8_t byte) {
    ChunkHash h;
    h.bytes.fill(byte);
    return h;
}

inline VersionVector version(std::initializer_list<std::pair<std::uint64_t, int>> entries) {
    VersionVector v;
    for (const auto& [id, count] : entries) {
        for (int i = 0; i < count; ++i) v.increment(ShortId{id});
    }
    return v;
}

inline constexpr std::uint64_t kA = 0x1122334455667788;
inline constexpr std::uint64_t kB = 0x99aabbccddeeff00;

inline FileRecord make_record(std::string path, FileKind kind, std::uint64_t size,
                              std::int64_t mtime, std::uint32_t mode, bool deleted, VersionVector v,
                              std::int64_t sequence, std::uint64_t by) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = kind;
    r.size = size;
    r.mtime_ns = mtime;
    r.mode = mode;
    r.deleted = deleted;
    r.version = std::move(v);
    r.sequence = Sequence{sequence};
    r.modified_by = ShortId{by};
    return r;
}

struct Golden {
    const char* name;
    wire::Message message;
    const char* hex;
};

// proto/messages.md and proto/relay.md, "Golden vectors": at least one of
// each message type (the second file's are relay_golden_vectors()).
std::vector<Golden> golden_vectors();
std::vector<Golden> relay_golden_vectors();

// Decodes `bytes` and returns the error message (empty when it decoded).
inline std::string decode_error(const Bytes& bytes, const wire::Limits& limits = wire::kLimits) {
    auto decoded = wire::decode(bytes, limits);
    if (decoded) return "";
    CHECK(decoded.error().code == Errc::corrupt);
    return decoded.error().message;
}

// Hostile messages written field by field.
class Builder {
public:
    Builder& array(std::uint32_t n) { return (m_pk.pack_array(n), *this); }
    Builder& uint(std::uint64_t v) { return (m_pk.pack_uint64(v), *this); }
    Builder& sint(std::int64_t v) { return (m_pk.pack_int64(v), *this); }
    Builder& str(std::string_view s) {
        m_pk.pack_str(static_cast<std::uint32_t>(s.size()));
        m_pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return *this;
    }
    Builder& bin(std::string_view s) {
        m_pk.pack_bin(static_cast<std::uint32_t>(s.size()));
        m_pk.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return *this;
    }
    Builder& boolean(bool b) { return (b ? m_pk.pack_true() : m_pk.pack_false(), *this); }
    Builder& nil() { return (m_pk.pack_nil(), *this); }
    Builder& raw(std::initializer_list<std::uint8_t> bytes) {
        for (std::uint8_t b : bytes) m_buf.write(reinterpret_cast<const char*>(&b), 1);
        return *this;
    }
    Bytes bytes() const { return Bytes(m_buf.data(), m_buf.data() + m_buf.size()); }

private:
    msgpack::sbuffer m_buf;
    msgpack::packer<msgpack::sbuffer> m_pk{m_buf};
};

// The fields of a file record as the wire has them, so that a test can
// change one and keep the rest valid.
struct RawRecord {
    std::string path = "f";
    std::uint64_t kind = 0;
    std::uint64_t size = 5;
    std::int64_t mtime = 1;
    std::uint64_t mode = 0644;
    bool deleted = false;
    std::string version = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01\x01", 10);
    std::optional<std::string> chunks =
        std::string(32, '\x11') + "\x05";  // one chunk of 5 bytes
    std::optional<std::pair<std::string, std::uint64_t>> delta;  // base, copy_count of one run
    std::string target;
    std::int64_t sequence = 1;
};

inline Bytes index_update_with(const RawRecord& r) {
    Builder b;
    b.array(5).uint(2).str("docs").uint(7).sint(1).array(1).array(12);
    b.str(r.path).uint(r.kind).uint(r.size).sint(r.mtime).uint(r.mode).boolean(r.deleted);
    b.bin(r.version);
    r.chunks ? b.bin(*r.chunks) : b.nil();
    if (r.delta) {
        b.array(2).bin(r.delta->first).array(1).array(3).uint(0).uint(r.delta->second).bin("");
    } else {
        b.nil();
    }
    b.str(r.target).sint(r.sequence).uint(9);
    return b.bytes();
}

}  // namespace ferry::message_test
