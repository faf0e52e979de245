// Chunk compression: zstd, used only when it makes a chunk smaller, on the
// wire (proto/messages.md, Response.compressed) and inside chunks sealed for
// the relay (crypto/relay_seal.hh). Pure computation, so it lives in core
// where both net and crypto can use it.
//
// compress_if_smaller() returns nullopt when compression would not save at
// least 1/16 of the size (already compressed media, random data), so the
// sender ships the bytes as they are; a chunk of 16 KiB or more is judged by
// its first 4 KiB first, and is sent as it is when those do not shrink. decompress() takes untrusted bytes: it
// requires exactly one zstd frame that declares its content size, that size
// equal to `expected_size` (<= kMaxChunkSize), and a window of at most
// 2^kMaxWindowLog; anything else is Errc::corrupt. Output is never larger
// than expected_size, whatever the input claims.
//
// Thread rule: free functions, safe from any thread (contexts are per call
// or thread-local).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "core/error.hh"

namespace ferry {

inline constexpr int kMaxWindowLog = 24;

std::optional<std::string> compress_if_smaller(std::span<const std::uint8_t> data);
Result<std::string> decompress(std::span<const std::uint8_t> compressed, std::size_t expected_size);

}  // namespace ferry
