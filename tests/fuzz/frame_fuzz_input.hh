// The input format of fuzz_frame (frame_fuzz.cc), shared with the corpus
// generator (make_corpus.cc) so its seeds stay in step with the target.
//
// Byte 0, the setup: its low two bits pick what the input drives
//   kSession (0 or 1): a real handshake, then the rest as a script of frames
//   sent to the Connection that accepted it (the encrypted frame reader);
//   kRawToResponder: the rest as raw bytes to Connection::accept (the
//   handshake's plaintext frame reader);
//   kRawToInitiator: the rest as raw bytes to Connection::initiate, after its hello;
// bits 2-3 pick Limits::max_frame from kMaxFrames.
// A script is a sequence of ops, each an op byte (FrameOp, modulo kOps)
// followed by its operands; an input that ends early ends the script:
//   message  [index]            a sealed frame of kMessages[index % size]
//   plaintext [n] [n bytes]     a sealed frame of these bytes as the message
//   raw      [hi] [lo] [bytes]  length (hi << 8 | lo), or 0xffffffff - lo when
//                               hi is 0xff; then that many bytes (as many
//                               as the input has)
//   flipped  [index] [at] [x]   message `index` sealed, its byte `at` (modulo
//                               the frame's size) XOR (x | 1)
//   cut      [index] [keep]     message `index` sealed, only its first
//                               (keep modulo the frame's size) bytes
// raw, flipped and cut end the script (what follows cannot be framed).
// Thread rule: constants only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "net/messages.hh"

namespace ferry::fuzz_frame {

enum Setup : std::uint8_t { kSession = 0, kRawToResponder = 2, kRawToInitiator = 3 };
enum class FrameOp : std::uint8_t { message = 0, plaintext = 1, raw = 2, flipped = 3, cut = 4 };
inline constexpr std::uint8_t kOps = 5;

inline constexpr std::array<std::size_t, 4> kMaxFrames{wire::kLimits.max_frame, 64, 256, 1024};

constexpr std::uint8_t setup_byte(Setup setup, std::size_t max_frame_choice) {
    return static_cast<std::uint8_t>(setup | (max_frame_choice << 2));
}

// The messages the `message`, `flipped` and `cut` ops name: a Ping and a
// Close (which the connection consumes), and small and large ordinary ones.
inline std::vector<wire::Message> script_messages() {
    wire::Request request;
    request.id = 7;
    request.folder = "photos";
    request.hash.bytes.fill(0xab);
    request.size = 65536;
    wire::Response response;
    response.id = 7;
    response.data = std::string(600, 'd');
    wire::ClusterConfig config;
    config.device_name = "laptop";
    config.folders.push_back(wire::FolderState{"photos", 3, 4, Sequence{5}});
    return {wire::Ping{}, wire::Close{"bye"}, request, response, config};
}

}  // namespace ferry::fuzz_frame
