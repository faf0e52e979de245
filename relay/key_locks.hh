// Striped mutexes by chunk key: a ChunkPut and the removal of the same
// chunk (maintain(), its sweeps) never interleave between their row change
// and their object change, so a row and its object always agree once both
// are done. Stripes, not one mutex per key: bounded memory; two keys that
// share a stripe merely wait for each other. Thread-safe.
#pragma once

#include <array>
#include <functional>
#include <mutex>
#include <string>

namespace ferry::relay {

class KeyLocks {
public:
    std::mutex& of(const std::string& key) {
        return m_stripes[std::hash<std::string>{}(key) % kStripes];
    }

private:
    static constexpr std::size_t kStripes = 64;
    std::array<std::mutex, kStripes> m_stripes;
};

}  // namespace ferry::relay
