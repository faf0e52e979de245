// The messages two devices exchange once the handshake is done, and their
// msgpack codec (proto/messages.md documents every field, with golden byte
// vectors that tests/net checks both ways).
//
// One message per encrypted frame. A message is a msgpack array whose first
// element is the type tag (MessageType), followed by the fields in the
// order below; a decoder ignores nothing: extra or missing fields, wrong
// msgpack types, values not in msgpack's shortest form (so each message has
// one encoding), unknown tags, out-of-range values, inconsistent records
// (proto/messages.md, FileRecord), names, ids, addresses and reasons that
// are not UTF-8, and trailing bytes are errors. Limits (kLimits) are checked before anything is allocated: frame
// size, nesting depth, string, binary and array lengths, records per
// message, chunk sizes. Paths in records are NOT validated here (the engine
// checks them with core/path_rules and reports the one bad record); chunk
// lists are checked (core/file_record.hh decode_chunk_list).
//
// Pure: encode() and decode() do no I/O. decode() of untrusted bytes
// returns Errc::corrupt with a message naming the message type and field;
// it never crashes, whatever the input (tests/fuzz/messages_fuzz.cc).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/chunk_delta.hh"
#include "core/error.hh"
#include "core/file_record.hh"
#include "core/types.hh"

namespace ferry::wire {

struct Limits {
    std::size_t max_frame = 17u << 20;         // a chunk of kMaxChunkSize plus headers
    std::size_t max_depth = 8;                 // msgpack nesting
    std::size_t max_string = 64u << 10;        // names, paths, reasons, addresses
    std::size_t max_array = 100'000;           // elements of any array
    std::size_t max_records = 10'000;          // records per IndexUpdate
    std::size_t max_chunks_per_file = 1u << 22;  // 4 Mi chunks: 1 TiB at 256 KiB
};
inline constexpr Limits kLimits{};

enum class MessageType : std::uint8_t {
    cluster_config = 1,
    index_update = 2,
    request = 3,
    response = 4,
    ping = 5,
    close = 6,
    join_request = 7,
    join_accept = 8,
    resend_request = 9,
};

// A device of the user, as gossiped between devices.
struct DeviceInfo {
    std::string certificate;             // encoded DeviceCertificate
    std::vector<std::string> addresses;  // "host:port"
    friend bool operator==(const DeviceInfo&, const DeviceInfo&) = default;
};

// One folder the sender has, and how far it has the recipient's index of it.
struct FolderState {
    std::string id;
    std::uint64_t index_id = 0;       // the sender's index id for this folder
    std::uint64_t peer_index_id = 0;  // the recipient's index id the sender has (0: none)
    Sequence peer_max_sequence;       // highest recipient sequence the sender has stored
    friend bool operator==(const FolderState&, const FolderState&) = default;
};

// Sent first by both sides, and again whenever devices, revocations or
// folders change.
struct ClusterConfig {
    std::string device_name;
    std::vector<DeviceInfo> devices;       // every device the sender trusts, itself included
    std::vector<std::string> revocations;  // encoded Revocations
    std::vector<FolderState> folders;
    friend bool operator==(const ClusterConfig&, const ClusterConfig&) = default;
};

// A record on the wire: a FileRecord whose chunk list is either whole
// (`record.chunks`) or a delta against a base the recipient has (`delta`;
// then record.chunks is empty on the wire and filled by the receiver).
struct WireRecord {
    FileRecord record;
    std::optional<ChunkDelta> delta;
    friend bool operator==(const WireRecord&, const WireRecord&) = default;
};

// Records of the sender's index of `folder` in sequence order. `index_id`
// is the sender's; after storing them the recipient has everything up to
// `last_sequence`.
struct IndexUpdate {
    std::string folder;
    std::uint64_t index_id = 0;
    Sequence last_sequence;
    std::vector<WireRecord> records;
    friend bool operator==(const IndexUpdate&, const IndexUpdate&) = default;
};

// "Send me these paths' records with whole chunk lists": a delta's base
// did not match.
struct ResendRequest {
    std::string folder;
    std::vector<std::string> paths;
    friend bool operator==(const ResendRequest&, const ResendRequest&) = default;
};

struct Request {
    std::uint32_t id = 0;  // chosen by the requester, echoed in the Response
    std::string folder;
    ChunkHash hash;
    std::uint32_t size = 0;  // 1..kMaxChunkSize
    friend bool operator==(const Request&, const Request&) = default;
};

enum class ResponseCode : std::uint8_t { ok = 0, not_found = 1, error = 2 };

struct Response {
    std::uint32_t id = 0;
    ResponseCode code = ResponseCode::ok;
    bool compressed = false;  // `data` is one zstd frame (net/compression.hh)
    std::string data;
    friend bool operator==(const Response&, const Response&) = default;
};

struct Ping {
    friend bool operator==(const Ping&, const Ping&) = default;
};

struct Close {
    std::string reason;
    friend bool operator==(const Close&, const Close&) = default;
};

// The joining device's first message (after a handshake with an invite).
struct JoinRequest {
    std::string device_name;
    friend bool operator==(const JoinRequest&, const JoinRequest&) = default;
};

// The inviter's answer: everything the new device needs.
struct JoinAccept {
    std::array<std::uint8_t, 32> user_seed{};  // the user key's secret seed
    std::string certificate;                   // the joiner's new certificate
    std::vector<DeviceInfo> devices;           // inviter included
    std::vector<std::string> revocations;
    std::vector<std::string> folders;          // folder ids the user has
    friend bool operator==(const JoinAccept&, const JoinAccept&) = default;
};

using Message = std::variant<ClusterConfig, IndexUpdate, Request, Response, Ping, Close,
                             JoinRequest, JoinAccept, ResendRequest>;

MessageType message_type(const Message& message);
const char* message_type_name(MessageType type);

std::vector<std::uint8_t> encode(const Message& message);
// The same bytes with `head` zero bytes before them and `tail` after: room
// for a caller to frame and seal the message in place (Connection does).
std::vector<std::uint8_t> encode(const Message& message, std::size_t head, std::size_t tail);
Result<Message> decode(std::span<const std::uint8_t> bytes, const Limits& limits = kLimits);

}  // namespace ferry::wire
