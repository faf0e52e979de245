// Version vectors: which changes of which devices a file version includes.
//
// A value type mapping ShortId -> counter (counters > 0; absent means 0),
// kept sorted by id. compare() orders two versions: equal, newer (this one
// has seen everything the other has and more), older, or concurrent (each
// has a change the other lacks: a conflict). Pure; plain value semantics.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/error.hh"
#include "core/types.hh"

namespace ferry {

enum class Ordering { equal, newer, older, concurrent };

class VersionVector {
public:
    struct Entry {
        ShortId id;
        std::uint64_t counter;
        friend bool operator==(const Entry&, const Entry&) = default;
    };

    VersionVector() = default;

    // Records a local change by `id`: its counter goes up by one.
    void increment(ShortId id);

    // The counter of `id` (0 when absent).
    std::uint64_t counter(ShortId id) const;

    // How this version relates to `other`.
    Ordering compare(const VersionVector& other) const;

    // The least upper bound: the element-wise maximum.
    VersionVector merged(const VersionVector& other) const;

    const std::vector<Entry>& entries() const { return m_entries; }
    bool empty() const { return m_entries.empty(); }

    // Compact binary form: LEB128 count, then per entry 8 bytes id (big
    // endian) and LEB128 counter, ids strictly increasing.
    std::string encode() const;
    // Inverse of encode(); refuses malformed, unsorted or zero-counter input.
    static Result<VersionVector> decode(std::span<const std::uint8_t> bytes);

    // Human form "a1b2c3d4e5f60718:3,..." (hex id : counter), for `ferry ls`.
    std::string to_string() const;

    friend bool operator==(const VersionVector&, const VersionVector&) = default;

private:
    std::vector<Entry> m_entries;  // sorted by id, counters > 0
};

}  // namespace ferry
