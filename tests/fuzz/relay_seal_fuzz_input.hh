// The fixture of fuzz_relay_seal (relay_seal_fuzz.cc) and its input
// layout, shared with the corpus generator (make_corpus.cc).
//
// Input: bytes 0 and 1 give the expected chunk size,
// (data[0] << 10 | data[1] << 2) + 1 (expected_bytes() makes them); the
// rest is used three ways: as sealed bytes (it must not open), as the
// plaintext sealed by hand under the fixture's keys (what opens must be the
// fixture's chunk or a well-formed envelope), and as (position, value)
// triples written over the fixture's sealed chunk and envelope.
// Thread rule: a Fixture is read-only once made.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "core/chunk_hash.hh"
#include "crypto/mailbox_envelope.hh"
#include "crypto/relay_seal.hh"

namespace ferry::fuzz_relay_seal {

inline std::span<const std::uint8_t> bytes_of(const std::string& text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

struct Fixture {
    ferry::KeyPair user = ferry::KeyPair::from_seed(std::array<std::uint8_t, 32>{});
    ferry::KeyPair device = ferry::KeyPair::from_seed(std::array<std::uint8_t, 32>{1});
    ferry::FolderRelayKeys keys{ferry::derive_folder_key(user, "fuzz")};
    std::string chunk = std::string(3000, 'c') + "relay";
    ferry::ChunkHash hash = ferry::hash_chunk(bytes_of(chunk));
    ferry::MailboxMessageId id{1, 2, 3};
    ferry::PublicKey recipient{9};
    std::string payload = "an index update";
    std::string sealed_chunk = keys.seal_chunk(hash, bytes_of(chunk));
    std::string sealed_envelope =
        ferry::seal_envelope(user, device, id, recipient, bytes_of(payload));

    // An envelope's associated data: message id || recipient.
    std::array<std::uint8_t, 48> envelope_ad() const {
        std::array<std::uint8_t, 48> ad{};
        std::copy(recipient.begin(), recipient.end(), std::copy(id.begin(), id.end(), ad.begin()));
        return ad;
    }
};

// The two input bytes that make the expected size `size` (size - 1 must be
// a multiple of 4 below 2^18).
inline std::array<std::uint8_t, 2> expected_bytes(std::size_t size) {
    return {static_cast<std::uint8_t>((size - 1) >> 10), static_cast<std::uint8_t>((size - 1) >> 2)};
}

}  // namespace ferry::fuzz_relay_seal
