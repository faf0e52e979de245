// A strict msgpack reader over untrusted bytes, for the message decoder
// (net/messages_decode.cc). Private to src/net.
//
// It reads only what ferry's messages use (nil, booleans, integers, str,
// bin, arrays) and only in msgpack's shortest form, so every message has
// exactly one encoding (the one msgpack::packer writes). Every declared
// length is checked against the bytes left, and every array's nesting
// depth against the limit, before the caller allocates anything: an array
// of n elements needs at least n * min_element_bytes more bytes. str and bin
// values are views into the input; the reader itself never allocates on the
// input's behalf.
//
// Errors are sticky: the first failure is kept, with the path of the field
// that failed ("records[3].delta.runs[0].insert"), and from then on every
// read returns a default value (0, false, empty, arrays of 0 elements) and
// consumes nothing, so a decoder reads straight through its schema and
// checks ok() once. Not thread-safe; one reader per decode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::wire {

class MsgpackReader {
public:
    MsgpackReader(std::span<const std::uint8_t> bytes, std::size_t max_depth);

    // Enters an array (the field `field`; nullptr for an element of the
    // enclosing array) of at most `max` elements, each taking at least
    // `min_element_bytes`; returns its element count. leave() goes back out.
    std::size_t enter(const char* field, std::size_t max, std::size_t min_element_bytes);
    // Enters an array that must have exactly `count` elements (a tuple).
    void enter_tuple(const char* field, std::size_t count);
    // Names the element about to be read in the innermost array, for errors.
    void at_element(std::size_t index);
    void leave();

    std::uint64_t read_uint(const char* field, std::uint64_t max);
    std::int64_t read_int(const char* field, std::int64_t min, std::int64_t max);
    bool read_bool(const char* field);
    // True (and the nil consumed) when the next value is nil.
    bool read_nil();
    std::string_view read_str(const char* field, std::size_t max);
    std::span<const std::uint8_t> read_bin(const char* field, std::size_t max);

    // Records a failure of a value already read (range or consistency
    // checks); keeps the first failure only.
    void fail(const char* field, std::string problem);
    // Fails unless every byte was read.
    void expect_end();

    bool ok() const { return m_error.empty(); }
    // "field.path: problem" of the first failure.
    const std::string& error() const { return m_error; }

private:
    struct Level {
        const char* name;     // nullptr: an anonymous element of the parent
        std::size_t index;    // the element being read, when `indexed`
        bool indexed;
    };

    std::size_t left() const { return m_bytes.size() - m_pos; }
    bool need(const char* field, std::size_t count);
    std::uint64_t read_be(std::size_t count);
    // The header forms of one length-prefixed type: a "fix" form holding the
    // length in the first byte's low bits (fix_count 0: none), then 8-, 16-
    // and 32-bit lengths after a tag byte (tag 0: no such form).
    struct LengthForms {
        const char* kind;
        std::uint8_t fix_first;
        std::size_t fix_count;
        std::uint8_t tag8, tag16, tag32;
    };
    // Reads a header of `forms`; fails for another type or a non-shortest form.
    std::size_t read_length(const char* field, const LengthForms& forms);
    void fail_type(const char* field, const char* expected);
    void non_canonical(const char* field);

    std::span<const std::uint8_t> m_bytes;
    std::size_t m_pos = 0;
    std::size_t m_max_depth;
    std::vector<Level> m_levels;
    std::string m_error;
};

}  // namespace ferry::wire
