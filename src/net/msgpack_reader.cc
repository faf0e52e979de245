#include "net/msgpack_reader.hh"

#include <limits>

namespace ferry::wire {

namespace {

// What a first byte starts, for "expected X, found Y" messages.
const char* type_of(std::uint8_t b) {
    if (b <= 0x7f || b >= 0xe0) return "an integer";
    if (b <= 0x8f) return "a map";
    if (b <= 0x9f) return "an array";
    if (b <= 0xbf) return "a str";
    switch (b) {
        case 0xc0: return "nil";
        case 0xc1: return "the never-used byte 0xc1";
        case 0xc2:
        case 0xc3: return "a bool";
        case 0xc4:
        case 0xc5:
        case 0xc6: return "a bin";
        case 0xca:
        case 0xcb: return "a float";
        case 0xd9:
        case 0xda:
        case 0xdb: return "a str";
        case 0xdc:
        case 0xdd: return "an array";
        case 0xde:
        case 0xdf: return "a map";
        default: break;
    }
    if (b >= 0xcc && b <= 0xd3) return "an integer";
    return "an ext";  // c7-c9, d4-d8
}

constexpr std::uint8_t kNil = 0xc0, kFalse = 0xc2, kTrue = 0xc3;

}  // namespace

MsgpackReader::MsgpackReader(std::span<const std::uint8_t> bytes, std::size_t max_depth)
    : m_bytes(bytes), m_max_depth(max_depth) {
    m_levels.reserve(max_depth);
}

void MsgpackReader::fail(const char* field, std::string problem) {
    if (!ok()) return;
    std::string path;
    for (const Level& level : m_levels) {
        if (level.name == nullptr && !level.indexed) continue;
        if (level.name != nullptr) {
            if (!path.empty()) path += '.';
            path += level.name;
        }
        if (level.indexed) path += "[" + std::to_string(level.index) + "]";
    }
    if (field != nullptr) {
        if (!path.empty()) path += '.';
        path += field;
    }
    m_error = path.empty() ? std::move(problem) : path + ": " + std::move(problem);
}

void MsgpackReader::fail_type(const char* field, const char* expected) {
    if (!need(field, 1)) return;
    fail(field, std::string("expected ") + expected + ", found " + type_of(m_bytes[m_pos]) +
                    " at byte " + std::to_string(m_pos));
}

void MsgpackReader::non_canonical(const char* field) {
    fail(field, "not in msgpack's shortest form at byte " + std::to_string(m_pos));
}

bool MsgpackReader::need(const char* field, std::size_t count) {
    if (!ok()) return false;
    if (left() >= count) return true;
    fail(field, "truncated at byte " + std::to_string(m_bytes.size()) + " (" +
                    std::to_string(count) + " more bytes needed)");
    return false;
}

std::uint64_t MsgpackReader::read_be(std::size_t count) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < count; ++i) v = (v << 8) | m_bytes[m_pos + i];
    m_pos += count;
    return v;
}

std::size_t MsgpackReader::read_length(const char* field, const LengthForms& forms) {
    if (!need(field, 1)) return 0;
    const std::uint8_t b = m_bytes[m_pos];
    if (forms.fix_count != 0 && b >= forms.fix_first && b < forms.fix_first + forms.fix_count) {
        ++m_pos;
        return b - forms.fix_first;
    }
    std::size_t width = 0;
    std::uint64_t shortest = 0;  // the smallest length this form may carry
    if (forms.tag8 != 0 && b == forms.tag8) {
        width = 1;
        shortest = forms.fix_count;
    } else if (b == forms.tag16) {
        width = 2;
        shortest = forms.tag8 != 0 ? 0x100 : forms.fix_count;
    } else if (b == forms.tag32) {
        width = 4;
        shortest = 0x10000;
    } else {
        fail_type(field, forms.kind);
        return 0;
    }
    if (!need(field, 1 + width)) return 0;
    const std::size_t at = m_pos;
    ++m_pos;
    const std::uint64_t length = read_be(width);
    if (length < shortest) {
        m_pos = at;
        non_canonical(field);
        return 0;
    }
    return static_cast<std::size_t>(length);
}

std::size_t MsgpackReader::enter(const char* field, std::size_t max, std::size_t min_element_bytes) {
    static constexpr LengthForms kArray{"an array", 0x90, 16, 0, 0xdc, 0xdd};
    if (!ok()) return 0;
    if (m_levels.size() >= m_max_depth) {
        fail(field, "nesting deeper than the limit of " + std::to_string(m_max_depth));
        return 0;
    }
    const std::size_t count = read_length(field, kArray);
    if (!ok()) return 0;
    if (count > max) {
        fail(field, std::to_string(count) + " elements, above the limit of " + std::to_string(max));
        return 0;
    }
    if (count > left() / (min_element_bytes == 0 ? 1 : min_element_bytes)) {
        fail(field, "declares " + std::to_string(count) + " elements but only " +
                        std::to_string(left()) + " bytes follow");
        return 0;
    }
    m_levels.push_back(Level{field, 0, false});
    return count;
}

void MsgpackReader::enter_tuple(const char* field, std::size_t count) {
    const std::size_t found = enter(field, count, 1);
    if (ok() && found != count) {
        leave();
        fail(field, "has " + std::to_string(found) + " elements, expected " + std::to_string(count));
    }
}

void MsgpackReader::at_element(std::size_t index) {
    if (!ok() || m_levels.empty()) return;
    m_levels.back().index = index;
    m_levels.back().indexed = true;
}

void MsgpackReader::leave() {
    // After a failure the levels stay, so that the error keeps its path.
    if (ok() && !m_levels.empty()) m_levels.pop_back();
}

std::uint64_t MsgpackReader::read_uint(const char* field, std::uint64_t max) {
    if (!need(field, 1)) return 0;
    const std::uint8_t b = m_bytes[m_pos];
    std::uint64_t value = 0;
    if (b <= 0x7f) {
        ++m_pos;
        value = b;
    } else if (b >= 0xcc && b <= 0xcf) {
        const std::size_t width = std::size_t{1} << (b - 0xcc);
        if (!need(field, 1 + width)) return 0;
        const std::size_t at = m_pos;
        ++m_pos;
        value = read_be(width);
        // The shortest form of a value below 2^(4*width) is a narrower one.
        const std::uint64_t shortest = width == 1 ? 0x80 : std::uint64_t{1} << (4 * width);
        if (value < shortest) {
            m_pos = at;
            non_canonical(field);
            return 0;
        }
    } else {
        fail_type(field, "a non-negative integer");
        return 0;
    }
    if (value > max) {
        fail(field, std::to_string(value) + " is above the limit of " + std::to_string(max));
        return 0;
    }
    return value;
}

std::int64_t MsgpackReader::read_int(const char* field, std::int64_t min, std::int64_t max) {
    if (!need(field, 1)) return 0;
    const std::uint8_t b = m_bytes[m_pos];
    std::int64_t value = 0;
    if (b <= 0x7f || (b >= 0xcc && b <= 0xcf)) {
        const std::uint64_t u = read_uint(field, std::numeric_limits<std::int64_t>::max());
        if (!ok()) return 0;
        value = static_cast<std::int64_t>(u);
    } else if (b >= 0xe0) {
        ++m_pos;
        value = static_cast<std::int8_t>(b);
    } else if (b >= 0xd0 && b <= 0xd3) {
        const std::size_t width = std::size_t{1} << (b - 0xd0);
        if (!need(field, 1 + width)) return 0;
        const std::size_t at = m_pos;
        ++m_pos;
        const std::uint64_t raw = read_be(width);
        const unsigned bits = static_cast<unsigned>(8 * width);
        // Sign-extend the two's complement value of `bits` bits.
        const std::uint64_t sign = std::uint64_t{1} << (bits - 1);
        value = static_cast<std::int64_t>((raw ^ sign) - sign);
        // A signed form is shortest only for a value the next narrower
        // signed form (or negative fixint) cannot hold.
        const std::int64_t narrower_min = width == 1 ? -32 : -(std::int64_t{1} << (bits / 2 - 1));
        if (value >= narrower_min) {
            m_pos = at;
            non_canonical(field);
            return 0;
        }
    } else {
        fail_type(field, "an integer");
        return 0;
    }
    if (value < min || value > max) {
        fail(field, std::to_string(value) + " is outside " + std::to_string(min) + ".." +
                        std::to_string(max));
        return 0;
    }
    return value;
}

bool MsgpackReader::read_bool(const char* field) {
    if (!need(field, 1)) return false;
    const std::uint8_t b = m_bytes[m_pos];
    if (b != kFalse && b != kTrue) {
        fail_type(field, "a bool");
        return false;
    }
    ++m_pos;
    return b == kTrue;
}

bool MsgpackReader::read_nil() {
    if (!ok() || left() == 0 || m_bytes[m_pos] != kNil) return false;
    ++m_pos;
    return true;
}

std::string_view MsgpackReader::read_str(const char* field, std::size_t max) {
    static constexpr LengthForms kStr{"a str", 0xa0, 32, 0xd9, 0xda, 0xdb};
    const std::size_t length = read_length(field, kStr);
    if (!ok()) return {};
    if (length > max) {
        fail(field, "string of " + std::to_string(length) + " bytes, above the limit of " +
                        std::to_string(max));
        return {};
    }
    if (!need(field, length)) return {};
    const std::string_view out(reinterpret_cast<const char*>(m_bytes.data() + m_pos), length);
    m_pos += length;
    return out;
}

std::span<const std::uint8_t> MsgpackReader::read_bin(const char* field, std::size_t max) {
    static constexpr LengthForms kBin{"a bin", 0, 0, 0xc4, 0xc5, 0xc6};
    const std::size_t length = read_length(field, kBin);
    if (!ok()) return {};
    if (length > max) {
        fail(field, "binary of " + std::to_string(length) + " bytes, above the limit of " +
                        std::to_string(max));
        return {};
    }
    if (!need(field, length)) return {};
    const auto out = m_bytes.subspan(m_pos, length);
    m_pos += length;
    return out;
}

void MsgpackReader::expect_end() {
    if (ok() && left() != 0) {
        fail(nullptr, std::to_string(left()) + " trailing bytes after the message");
    }
}

}  // namespace ferry::wire
