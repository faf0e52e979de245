// Version vectors: which changes of which devices a file version includes.
//
// A value type mapping ShortId -> counter (counters > 0; absent means 0),
// kept sorted by id. compare() orders two versions: equal, newer (this one
// has seen everything the other has and more), older, or concurrent (each
// has a change the other lacks: a conflict). Pure; plain value semantics.
#pragma once

#include <cstddef>
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

    // Limits decode() enforces on untrusted bytes. No real folder has
    // 100,000 devices; a counter grows by one per local change, so 2^62
    // is never reached honestly, and capping decoded counters there leaves
    // increment() room that no peer can exhaust.
    static constexpr std::size_t kMaxEntries = 100'000;
    static constexpr std::uint64_t kMaxCounter = std::uint64_t{1} << 62;

    VersionVector() = default;

    // Records a local change by `id`: its counter goes up by one (it cannot
    // wrap: counters start at most at kMaxCounter, far below 2^64).
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
    // Inverse of encode(). Errc::corrupt for truncated input, trailing
    // bytes, overlong varints, unsorted or duplicate ids, zero counters, more
    // than kMaxEntries entries or a counter above kMaxCounter.
    static Result<VersionVector> decode(std::span<const std::uint8_t> bytes);

    // Human form "a1b2c3d4e5f60718:3,..." (16 hex digits of id : counter),
    // for `ferry ls`; "" for the empty vector.
    std::string to_string() const;

    friend bool operator==(const VersionVector&, const VersionVector&) = default;

private:
    std::vector<Entry> m_entries;  // sorted by id, counters > 0
};

}  // namespace ferry
