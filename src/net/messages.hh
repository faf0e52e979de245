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
    // Between a device and a ferry-relay (proto/relay.md).
    relay_hello = 10,
    relay_welcome = 11,
    chunk_put = 12,
    chunk_have = 13,
    chunk_get = 14,
    mailbox_post = 15,
    mailbox_fetch = 16,
    mailbox_ack = 17,
    relay_reply = 18,
    chunk_have_reply = 19,
    chunk_data = 20,
    mailbox_batch = 21,
    mailbox_notify = 22,
    forward_request = 23,
    forward_reply = 24,
    forward_offer = 25,
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

// A relay the user's devices use, as gossiped between them: the newest
// entry by `changed_ns` for a URL wins, so a removal spreads like an addition.
struct RelayEntry {
    std::string url;  // relay://host:port#RELAYID
    bool removed = false;
    std::int64_t changed_ns = 0;
    friend bool operator==(const RelayEntry&, const RelayEntry&) = default;
};

// Sent first by both sides, and again whenever devices, revocations,
// relays or folders change.
struct ClusterConfig {
    std::string device_name;
    std::vector<DeviceInfo> devices;       // every device the sender trusts, itself included
    std::vector<std::string> revocations;  // encoded Revocations
    std::vector<FolderState> folders;
    std::vector<RelayEntry> relays;
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
    bool compressed = false;  // `data` is one zstd frame (core/compression.hh)
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

// ---- Between a device and a ferry-relay (proto/relay.md) ----
// The relay sees these in the clear (inside the secure channel); what it
// must not read (chunk bytes, mailbox payloads) is sealed by the devices
// (crypto/relay_seal.hh) before it gets here.

using RelayChunkId = std::array<std::uint8_t, 32>;  // keyed hash: reveals nothing
using MailboxMessageId = std::array<std::uint8_t, 16>;
using DeviceKey = std::array<std::uint8_t, 32>;     // Ed25519 public key

// The device's first message to a relay. `token`: a one-time account token
// (`ferry-relay user add`), which binds the account to the device's user key;
// empty once the account knows that key. `revocations`: the user's encoded
// Revocations, so the relay refuses revoked devices of the account.
struct RelayHello {
    std::string token;
    std::vector<std::string> revocations;
    friend bool operator==(const RelayHello&, const RelayHello&) = default;
};

// The relay's answer to RelayHello (after it the device may send requests).
struct RelayWelcome {
    std::string account;
    std::uint64_t used_bytes = 0;
    std::uint64_t quota_bytes = 0;  // 0: unlimited
    friend bool operator==(const RelayWelcome&, const RelayWelcome&) = default;
};

enum class RelayCode : std::uint8_t {
    ok = 0,
    not_found = 1,       // no such chunk; target device not connected
    quota_exceeded = 2,  // the account's quota would be exceeded: "relay full"
    too_large = 3,       // over a limit (chunk, payload, mailbox size)
    refused = 4,         // not allowed (revoked device, other account, rate limit)
    unavailable = 5,     // the relay cannot store now (disk nearly full): retry later
    error = 6,           // anything else; `message` says what
};

// One chunk of a ChunkPut.
struct SealedChunk {
    RelayChunkId chunk{};
    std::string data;  // sealed and padded (crypto/relay_seal.hh), at most kMaxSealedChunk
    friend bool operator==(const SealedChunk&, const SealedChunk&) = default;
};

// Requests carry an id chosen by the device; the answer echoes it.
// Stores 1..kMaxPutBatch chunks of at most kMaxPutBytes together.
struct ChunkPut {
    std::uint32_t id = 0;
    std::vector<SealedChunk> chunks;
    friend bool operator==(const ChunkPut&, const ChunkPut&) = default;
};

struct ChunkHave {
    std::uint32_t id = 0;
    std::vector<RelayChunkId> chunks;  // at most kMaxHaveBatch
    friend bool operator==(const ChunkHave&, const ChunkHave&) = default;
};

// Asks for 1..kMaxGetBatch chunks.
struct ChunkGet {
    std::uint32_t id = 0;
    std::vector<RelayChunkId> chunks;
    friend bool operator==(const ChunkGet&, const ChunkGet&) = default;
};

// Posts one sealed message to the mailboxes of `recipients` (devices of the
// same account). `chunks`: the relay ids the message refers to, kept while
// it is undelivered. `ttl_seconds`: 0 for the relay's default.
struct MailboxPost {
    std::uint32_t id = 0;
    MailboxMessageId message_id{};
    std::vector<DeviceKey> recipients;
    std::string payload;  // sealed (crypto/relay_seal.hh)
    std::vector<RelayChunkId> chunks;
    std::uint32_t ttl_seconds = 0;
    friend bool operator==(const MailboxPost&, const MailboxPost&) = default;
};

// Asks for the oldest messages of the device's own mailbox, at most
// `max_messages` and (beyond the first) `max_bytes` of payload.
struct MailboxFetch {
    std::uint32_t id = 0;
    std::uint32_t max_messages = 0;
    std::uint32_t max_bytes = 0;
    friend bool operator==(const MailboxFetch&, const MailboxFetch&) = default;
};

// Deletes delivered messages (and expiry notices) from the device's mailbox.
struct MailboxAck {
    std::uint32_t id = 0;
    std::vector<MailboxMessageId> message_ids;
    friend bool operator==(const MailboxAck&, const MailboxAck&) = default;
};

// The answer to ChunkPut, MailboxPost, MailboxAck and any refused request.
// Usage figures after the request.
struct RelayReply {
    std::uint32_t id = 0;
    RelayCode code = RelayCode::ok;
    std::string message;  // why, when not ok
    std::uint64_t used_bytes = 0;
    std::uint64_t quota_bytes = 0;
    friend bool operator==(const RelayReply&, const RelayReply&) = default;
};

struct ChunkHaveReply {
    std::uint32_t id = 0;
    std::vector<bool> present;  // one per asked chunk, in order
    friend bool operator==(const ChunkHaveReply&, const ChunkHaveReply&) = default;
};

// When ok, one entry per asked chunk, in order: the sealed chunk as put, or
// empty when the relay does not hold it. Otherwise no entries.
struct ChunkData {
    std::uint32_t id = 0;
    RelayCode code = RelayCode::ok;
    std::vector<std::string> chunks;
    friend bool operator==(const ChunkData&, const ChunkData&) = default;
};

// One mailbox entry: a message another device posted, or (expired = true)
// the relay's notice that a message this device posted to `peer` expired
// undelivered (then `payload` is empty).
struct MailboxEntry {
    MailboxMessageId message_id{};
    DeviceKey peer{};  // the sender; for an expiry notice the recipient
    std::int64_t posted_ns = 0;
    bool expired = false;
    std::string payload;
    friend bool operator==(const MailboxEntry&, const MailboxEntry&) = default;
};

struct MailboxBatch {
    std::uint32_t id = 0;
    std::vector<MailboxEntry> entries;  // oldest first
    bool more = false;                  // the mailbox holds more
    friend bool operator==(const MailboxBatch&, const MailboxBatch&) = default;
};

// Relay -> device, unasked: the device's mailbox has new entries.
struct MailboxNotify {
    friend bool operator==(const MailboxNotify&, const MailboxNotify&) = default;
};

// Asks the relay to join this device with `target` (a device of the same
// account connected to it): see proto/relay.md, Forwarding.
struct ForwardRequest {
    std::uint32_t id = 0;
    DeviceKey target{};
    friend bool operator==(const ForwardRequest&, const ForwardRequest&) = default;
};

using ForwardSession = std::array<std::uint8_t, 32>;

struct ForwardReply {
    std::uint32_t id = 0;
    RelayCode code = RelayCode::ok;
    std::string message;
    ForwardSession session{};  // when ok: present it on a new connection
    friend bool operator==(const ForwardReply&, const ForwardReply&) = default;
};

// Relay -> target device, unasked: `from` wants a forwarded connection;
// present `session` on a new connection to take it.
struct ForwardOffer {
    ForwardSession session{};
    DeviceKey from{};
    friend bool operator==(const ForwardOffer&, const ForwardOffer&) = default;
};

inline constexpr std::size_t kMaxSealedChunk = (256u << 10) + 4096;  // a padded 256 KiB chunk
inline constexpr std::size_t kMaxMailboxPayload = 16u << 20;
inline constexpr std::size_t kMaxHaveBatch = 4096;
inline constexpr std::size_t kMaxPutBatch = 64;        // chunks in one ChunkPut
inline constexpr std::size_t kMaxPutBytes = 4u << 20;  // their sealed bytes together
inline constexpr std::size_t kMaxGetBatch = 16;        // chunks in one ChunkGet
static_assert(kMaxPutBytes >= kMaxSealedChunk);
inline constexpr std::size_t kMaxRecipients = 256;
inline constexpr std::size_t kMaxRelayUrl = 512;  // RelayEntry::url, in bytes

using Message = std::variant<ClusterConfig, IndexUpdate, Request, Response, Ping, Close,
                             JoinRequest, JoinAccept, ResendRequest, RelayHello, RelayWelcome,
                             ChunkPut, ChunkHave, ChunkGet, MailboxPost, MailboxFetch, MailboxAck,
                             RelayReply, ChunkHaveReply, ChunkData, MailboxBatch, MailboxNotify,
                             ForwardRequest, ForwardReply, ForwardOffer>;

MessageType message_type(const Message& message);
const char* message_type_name(MessageType type);

std::vector<std::uint8_t> encode(const Message& message);
// The same bytes with `head` zero bytes before them and `tail` after: room
// for a caller to frame and seal the message in place (Connection does).
std::vector<std::uint8_t> encode(const Message& message, std::size_t head, std::size_t tail);
Result<Message> decode(std::span<const std::uint8_t> bytes, const Limits& limits = kLimits);

}  // namespace ferry::wire
