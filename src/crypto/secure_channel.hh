// The secure channel: authenticated encryption of every frame after the
// handshake (proto/handshake.md, "Transport encryption").
//
// Each direction has its own key (SessionKeys::send / receive) and a 64-bit
// frame counter that is the nonce (XChaCha20-Poly1305-IETF, counter in the
// last 8 bytes of the 24-byte nonce, big-endian; computed by CounterAead).
// The frame's 4-byte length prefix is the associated data, so a length
// cannot be altered. Every kRekeyInterval frames both sides replace the key
// by a one-way function of it, so a key captured later does not open earlier
// frames. A frame that fails authentication is fatal: open() returns
// Errc::corrupt and the connection must be closed (counters cannot
// resynchronise, by design).
//
// Thread rule: a FrameSealer and a FrameOpener are each used by one thread
// at a time (the writer and the reader of one connection). Keys are wiped
// on destruction.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "core/error.hh"
#include "crypto/counter_aead.hh"

namespace ferry {

inline constexpr std::size_t kFrameAeadOverhead = 16;
inline constexpr std::size_t kFrameHeadBytes = 4;  // the length prefix
inline constexpr std::uint64_t kRekeyInterval = 1u << 16;

class FrameSealer {
public:
    explicit FrameSealer(const std::array<std::uint8_t, 32>& key);
    ~FrameSealer();
    FrameSealer(const FrameSealer&) = delete;
    FrameSealer& operator=(const FrameSealer&) = delete;
    // The whole wire frame: the 4-byte big-endian length of the ciphertext,
    // then the ciphertext (plaintext size + kFrameAeadOverhead bytes).
    std::vector<std::uint8_t> seal(std::span<const std::uint8_t> plaintext);
    // The same in place: `frame` holds kFrameHeadBytes of room, the
    // plaintext, then kFrameAeadOverhead bytes of room, and becomes the wire
    // frame (std::length_error when it is too short to hold them).
    void seal_in_place(std::span<std::uint8_t> frame);

private:
    std::array<std::uint8_t, 32> m_key;
    std::uint64_t m_counter = 0;
    CounterAead m_aead;
};

class FrameOpener {
public:
    explicit FrameOpener(const std::array<std::uint8_t, 32>& key);
    ~FrameOpener();
    FrameOpener(const FrameOpener&) = delete;
    FrameOpener& operator=(const FrameOpener&) = delete;
    // `ciphertext` is a frame's payload without its length prefix (the
    // associated data is recomputed from its size). Errc::corrupt when the
    // frame is shorter than the tag or fails
    // authentication (wrong key, altered bytes, replayed or reordered frame).
    Result<std::vector<std::uint8_t>> open(std::span<const std::uint8_t> ciphertext);
    // The same in place: decrypts `ciphertext` over itself and returns the
    // plaintext, its first size - kFrameAeadOverhead bytes (on failure its
    // contents are unspecified).
    Result<std::span<std::uint8_t>> open_in_place(std::span<std::uint8_t> ciphertext);

private:
    std::array<std::uint8_t, 32> m_key;
    std::uint64_t m_counter = 0;
    CounterAead m_aead;
};

}  // namespace ferry
