// Values for the relay message tests: fixed-size fields filled with one
// byte, lists of distinct ids, batches of sealed chunks.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "net/messages.hh"

namespace ferry::message_test {

template <std::size_t N>
inline std::array<std::uint8_t, N> filled(std::uint8_t byte) {
    std::array<std::uint8_t, N> out;
    out.fill(byte);
    return out;
}

template <std::size_t N>
inline std::vector<std::array<std::uint8_t, N>> distinct(std::size_t count) {
    std::vector<std::array<std::uint8_t, N>> out(count);
    for (std::size_t i = 0; i < count; ++i) {
        out[i].fill(0x77);
        out[i][0] = static_cast<std::uint8_t>(i >> 8);
        out[i][1] = static_cast<std::uint8_t>(i);
    }
    return out;
}

// `count` chunks with distinct ids, each of `bytes` sealed bytes.
inline std::vector<wire::SealedChunk> sealed_chunks(std::size_t count, std::size_t bytes) {
    std::vector<wire::SealedChunk> out;
    for (const wire::RelayChunkId& id : distinct<32>(count)) {
        out.push_back(wire::SealedChunk{id, std::string(bytes, 's')});
    }
    return out;
}

}  // namespace ferry::message_test
