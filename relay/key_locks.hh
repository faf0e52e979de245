// Striped mutexes by chunk key: a ChunkPut and the removal of the same
// chunk (maintain(), its sweeps) never interleave between their row change
// and their object change, so a row and its object always agree once both
// are done. Stripes, not one mutex per key: bounded memory; two keys that
// share a stripe merely wait for each other. Thread-safe.
#pragma once

#include <algorithm>
#include <array>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::relay {

class KeyLocks {
public:
    std::mutex& of(const std::string& key) { return m_stripes[stripe(key)]; }

    // Locks the stripes of all `keys`, each once and in stripe order (so
    // two callers never wait for each other in a cycle); they stay locked
    // while the result lives.
    template <class Keys>
    std::vector<std::unique_lock<std::mutex>> of_all(const Keys& keys) {
        std::vector<std::size_t> stripes;
        for (const auto& key : keys) stripes.push_back(stripe(key));
        std::sort(stripes.begin(), stripes.end());
        stripes.erase(std::unique(stripes.begin(), stripes.end()), stripes.end());
        std::vector<std::unique_lock<std::mutex>> held;
        held.reserve(stripes.size());
        for (const std::size_t i : stripes) held.emplace_back(m_stripes[i]);
        return held;
    }

private:
    static std::size_t stripe(const std::string& key) {
        return std::hash<std::string>{}(key) % kStripes;
    }

    static constexpr std::size_t kStripes = 64;
    std::array<std::mutex, kStripes> m_stripes;
};

}  // namespace ferry::relay
