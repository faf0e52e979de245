// The message decoder's typed walk over net/msgpack_reader.hh, in the schema
// of proto/messages.md (device messages, messages_decode.cc) and
// proto/relay.md (relay messages, messages_decode_relay.cc). Private to
// src/net: wire::decode() is its only user.
//
// Each message function reads the fields after the type tag, in order, into
// the struct. Reads after the first failure are no-ops (the reader's sticky
// error), so the walk has no early returns and allocates only for values
// whose bytes were present; every array length is bounded (limit and bytes
// left) before anything is reserved for it. Not thread-safe; one Decoder
// per decode.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "net/messages.hh"
#include "net/msgpack_reader.hh"

namespace ferry::wire {

class Decoder {
public:
    static constexpr std::uint64_t kU32Max = std::numeric_limits<std::uint32_t>::max();
    static constexpr std::uint64_t kU64Max = std::numeric_limits<std::uint64_t>::max();
    static constexpr std::int64_t kI64Min = std::numeric_limits<std::int64_t>::min();
    static constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

    Decoder(std::span<const std::uint8_t> bytes, const Limits& limits)
        : m_r(bytes, limits.max_depth), m_limits(limits) {}

    MsgpackReader& reader() { return m_r; }

    // Between devices (messages_decode.cc).
    ClusterConfig cluster_config();
    IndexUpdate index_update();
    Request request();
    Response response();
    Close close();
    JoinRequest join_request();
    JoinAccept join_accept();
    ResendRequest resend_request();

    // Between a device and a relay (messages_decode_relay.cc).
    RelayHello relay_hello();
    RelayWelcome relay_welcome();
    ChunkPut chunk_put();
    ChunkHave chunk_have();
    ChunkGet chunk_get();
    MailboxPost mailbox_post();
    MailboxFetch mailbox_fetch();
    MailboxAck mailbox_ack();
    RelayReply relay_reply();
    ChunkHaveReply chunk_have_reply();
    ChunkData chunk_data();
    MailboxBatch mailbox_batch();
    ForwardRequest forward_request();
    ForwardReply forward_reply();
    ForwardOffer forward_offer();

private:
    // A str the user may see (names, ids, addresses, reasons): UTF-8, at
    // most `max` bytes (the string limit unless given).
    std::string text(const char* field, std::size_t max = std::numeric_limits<std::size_t>::max());
    std::string blob(const char* field);
    // A bin of exactly out.size() bytes, copied into `out`.
    void fixed(const char* field, std::span<std::uint8_t> out);
    std::uint32_t id() { return static_cast<std::uint32_t>(m_r.read_uint("id", kU32Max)); }
    RelayCode relay_code();
    // Sealed bytes (a chunk, a mailbox payload): a bin of at most `max`
    // bytes, non-empty exactly when `present` (absent: an answer that is not
    // ok, an expiry notice).
    std::string sealed(const char* field, bool present, std::size_t max);
    Sequence sequence(const char* field);
    std::vector<std::string> blobs(const char* field);
    std::vector<DeviceInfo> devices(const char* field);
    std::vector<RelayEntry> relays(const char* field);
    std::vector<ChunkRef> chunk_list(const char* field);
    ChunkDelta delta();
    WireRecord wire_record();
    void check_record(const WireRecord& wire, bool whole);

    // An array of at most `max` bins of exactly N bytes each.
    template <std::size_t N>
    std::vector<std::array<std::uint8_t, N>> fixed_list(const char* field, std::size_t max) {
        std::vector<std::array<std::uint8_t, N>> out;
        // Each element is a bin 8 of N bytes: 2 header bytes and N.
        const std::size_t n = m_r.enter(field, max, N + 2);
        out.reserve(n);
        for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
            m_r.at_element(i);
            fixed(nullptr, out.emplace_back());
        }
        m_r.leave();
        return out;
    }

    MsgpackReader m_r;
    const Limits& m_limits;
};

}  // namespace ferry::wire
