// Striped reader-writer locks by chunk key: the removal of a chunk
// (maintain(), its sweeps) holds its stripe alone, so no ChunkPut of that
// chunk runs between the removal's row change and its object change, and a
// row and its object always agree once both are done. Puts hold their
// stripes shared: two puts of one chunk may overlap (the second finds its
// row pending and writes the object again; either object is whole), so the
// concurrent puts of a device run side by side and share the stores' group
// commits. Stripes, not one lock per key: bounded memory; a removal merely
// waits for the puts that share its stripe. Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <shared_mutex>
#include <string>
#include <vector>

namespace ferry::relay {

class KeyLocks {
public:
    // Locks `key`'s stripe for a removal: no put or other removal of a key
    // in it runs while the result lives.
    std::unique_lock<std::shared_mutex> exclusive(const std::string& key) {
        return std::unique_lock(m_stripes[stripe(key)]);
    }

    // Locks the stripes of all `keys` for a put, shared, each once and in
    // stripe order; they stay locked while the result lives.
    template <class Keys>
    std::vector<std::shared_lock<std::shared_mutex>> shared_all(const Keys& keys) {
        std::vector<std::size_t> stripes;
        for (const auto& key : keys) stripes.push_back(stripe(key));
        std::sort(stripes.begin(), stripes.end());
        stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
        std::vector<std::shared_lock<std::shared_mutex>> held;
        held.reserve(stripes.size());
        for (const std::size_t i : stripes) held.emplace_back(m_stripes[i]);
        return held;
    }

private:
    static std::size_t stripe(const std::string& key) {
        return std::hash<std::string>{}(key) % kStripes;
    }

    static constexpr std::size_t kStripes = 64;
    std::array<std::shared_mutex, kStripes> m_stripes;
};

}  // namespace ferry::relay
