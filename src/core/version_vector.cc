#include "core/version_vector.hh"

#include <algorithm>

#include "core/leb128.hh"

namespace ferry {

namespace {

bool by_id(const VersionVector::Entry& e, ShortId id) {
    return e.id < id;
}

tl::unexpected<Error> corrupt(const std::string& what) {
    return fail(Errc::corrupt, "version vector: " + what);
}

}  // namespace

void VersionVector::increment(ShortId id) {
    const auto it = std::lower_bound(m_entries.begin(), m_entries.end(), id, by_id);
    if (it == m_entries.end() || it->id != id) {
        m_entries.insert(it, Entry{id, 1});
        return;
    }
    ++it->counter;
}

std::uint64_t VersionVector::counter(ShortId id) const {
    const auto it = std::lower_bound(m_entries.begin(), m_entries.end(), id, by_id);
    return it != m_entries.end() && it->id == id ? it->counter : 0;
}

Ordering VersionVector::compare(const VersionVector& other) const {
    // Walk both sorted lists once; an id missing on one side counts as 0.
    bool ahead = false;   // this has a change other lacks
    bool behind = false;  // other has a change this lacks
    auto a = m_entries.begin();
    auto b = other.m_entries.begin();
    while (a != m_entries.end() || b != other.m_entries.end()) {
        if (b == other.m_entries.end() || (a != m_entries.end() && a->id < b->id)) {
            ahead = true;
            ++a;
        } else if (a == m_entries.end() || b->id < a->id) {
            behind = true;
            ++b;
        } else {
            ahead |= a->counter > b->counter;
            behind |= a->counter < b->counter;
            ++a;
            ++b;
        }
        if (ahead && behind) return Ordering::concurrent;
    }
    if (ahead) return Ordering::newer;
    if (behind) return Ordering::older;
    return Ordering::equal;
}

VersionVector VersionVector::merged(const VersionVector& other) const {
    VersionVector out;
    out.m_entries.reserve(m_entries.size() + other.m_entries.size());
    auto a = m_entries.begin();
    auto b = other.m_entries.begin();
    while (a != m_entries.end() || b != other.m_entries.end()) {
        if (b == other.m_entries.end() || (a != m_entries.end() && a->id < b->id)) {
            out.m_entries.push_back(*a++);
        } else if (a == m_entries.end() || b->id < a->id) {
            out.m_entries.push_back(*b++);
        } else {
            out.m_entries.push_back(Entry{a->id, std::max(a->counter, b->counter)});
            ++a;
            ++b;
        }
    }
    return out;
}

std::string VersionVector::encode() const {
    std::string out;
    out.reserve(1 + m_entries.size() * 10);
    append_leb128(out, m_entries.size());
    for (const Entry& e : m_entries) {
        for (int shift = 56; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((e.id.value >> shift) & 0xff));
        }
        append_leb128(out, e.counter);
    }
    return out;
}

Result<VersionVector> VersionVector::decode(std::span<const std::uint8_t> bytes) {
    std::size_t pos = 0;
    const auto count = read_leb128(bytes, pos);
    if (!count) return corrupt("entry count: " + count.error().message);
    if (*count > kMaxEntries) {
        return corrupt(std::to_string(*count) + " entries exceed the limit of " +
                       std::to_string(kMaxEntries));
    }
    // Each entry takes at least 9 bytes: refuse before reserving memory.
    if (*count > (bytes.size() - pos) / 9) {
        return corrupt("truncated: " + std::to_string(*count) + " entries in " +
                       std::to_string(bytes.size()) + " bytes");
    }
    VersionVector out;
    out.m_entries.reserve(*count);
    for (std::uint64_t i = 0; i < *count; ++i) {
        if (bytes.size() - pos < 8) {
            return corrupt("truncated in the id of entry " + std::to_string(i));
        }
        ShortId id;
        for (int k = 0; k < 8; ++k) id.value = (id.value << 8) | bytes[pos++];
        if (!out.m_entries.empty() && !(out.m_entries.back().id < id)) {
            return corrupt("entry " + std::to_string(i) +
                           " has an id not above the previous one (unsorted or duplicate)");
        }
        const auto counter = read_leb128(bytes, pos);
        if (!counter) {
            return corrupt("counter of entry " + std::to_string(i) + ": " +
                           counter.error().message);
        }
        if (*counter == 0 || *counter > kMaxCounter) {
            return corrupt("counter of entry " + std::to_string(i) + " is " +
                           std::to_string(*counter) + ", outside 1.." +
                           std::to_string(kMaxCounter));
        }
        out.m_entries.push_back(Entry{id, *counter});
    }
    if (pos != bytes.size()) {
        return corrupt(std::to_string(bytes.size() - pos) + " trailing bytes after " +
                       std::to_string(*count) + " entries");
    }
    return out;
}

std::string VersionVector::to_string() const {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (const Entry& e : m_entries) {
        if (!out.empty()) out.push_back(',');
        for (int shift = 60; shift >= 0; shift -= 4)
            out.push_back(digits[(e.id.value >> shift) & 0xf]);
        out.push_back(':');
        out += std::to_string(e.counter);
    }
    return out;
}

}  // namespace ferry
