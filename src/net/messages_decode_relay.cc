// The Decoder's walk over the messages between a device and a relay, in the
// schema of proto/relay.md (net/messages_decoder.hh).
#include "net/messages_decoder.hh"

namespace ferry::wire {

RelayCode Decoder::relay_code() {
    return static_cast<RelayCode>(
        m_r.read_uint("code", static_cast<std::uint64_t>(RelayCode::error)));
}

std::string Decoder::sealed(const char* field, bool present, std::size_t max) {
    const auto data = m_r.read_bin(field, max);
    if (m_r.ok() && present && data.empty()) {
        m_r.fail(field, "empty (sealed bytes are never empty)");
    } else if (m_r.ok() && !present && !data.empty()) {
        m_r.fail(field,
                 std::to_string(data.size()) +
                     " bytes where none belong (an answer that is not ok, an expiry notice)");
    }
    return std::string(data.begin(), data.end());
}

RelayHello Decoder::relay_hello() {
    RelayHello out;
    out.token = text("token");
    out.revocations = blobs("revocations");
    return out;
}

RelayWelcome Decoder::relay_welcome() {
    RelayWelcome out;
    out.account = text("account");
    out.used_bytes = m_r.read_uint("used_bytes", kU64Max);
    out.quota_bytes = m_r.read_uint("quota_bytes", kU64Max);
    return out;
}

ChunkPut Decoder::chunk_put() {
    ChunkPut out;
    out.id = id();
    // An entry is at least [bin 32, bin 8 of 1 byte]: 1 + 34 + 3 bytes.
    const std::size_t n = m_r.enter("chunks", kMaxPutBatch, 38);
    if (m_r.ok() && n == 0) m_r.fail(nullptr, "empty (at least one)");
    out.chunks.reserve(n);
    std::size_t total = 0;
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 2);
        SealedChunk& chunk = out.chunks.emplace_back();
        fixed("chunk", chunk.chunk);
        chunk.data = sealed("data", true, kMaxSealedChunk);
        total += chunk.data.size();
        if (m_r.ok() && total > kMaxPutBytes) {
            m_r.fail("data", "the chunks' data come to " + std::to_string(total) +
                                 " bytes or more, above the limit of " +
                                 std::to_string(kMaxPutBytes));
        }
        m_r.leave();
    }
    m_r.leave();
    return out;
}

ChunkHave Decoder::chunk_have() {
    ChunkHave out;
    out.id = id();
    out.chunks = fixed_list<32>("chunks", kMaxHaveBatch);
    return out;
}

ChunkGet Decoder::chunk_get() {
    ChunkGet out;
    out.id = id();
    out.chunks = fixed_list<32>("chunks", kMaxGetBatch);
    if (m_r.ok() && out.chunks.empty()) m_r.fail("chunks", "empty (at least one)");
    return out;
}

MailboxPost Decoder::mailbox_post() {
    MailboxPost out;
    out.id = id();
    fixed("message_id", out.message_id);
    out.recipients = fixed_list<32>("recipients", kMaxRecipients);
    if (m_r.ok() && out.recipients.empty()) m_r.fail("recipients", "empty (at least one)");
    out.payload = sealed("payload", true, kMaxMailboxPayload);
    out.chunks = fixed_list<32>("chunks", m_limits.max_array);
    out.ttl_seconds = static_cast<std::uint32_t>(m_r.read_uint("ttl_seconds", kU32Max));
    return out;
}

MailboxFetch Decoder::mailbox_fetch() {
    MailboxFetch out;
    out.id = id();
    out.max_messages = static_cast<std::uint32_t>(m_r.read_uint("max_messages", kU32Max));
    out.max_bytes = static_cast<std::uint32_t>(m_r.read_uint("max_bytes", kU32Max));
    return out;
}

MailboxAck Decoder::mailbox_ack() {
    MailboxAck out;
    out.id = id();
    out.message_ids = fixed_list<16>("message_ids", m_limits.max_array);
    return out;
}

RelayReply Decoder::relay_reply() {
    RelayReply out;
    out.id = id();
    out.code = relay_code();
    out.message = text("message");
    out.used_bytes = m_r.read_uint("used_bytes", kU64Max);
    out.quota_bytes = m_r.read_uint("quota_bytes", kU64Max);
    return out;
}

ChunkHaveReply Decoder::chunk_have_reply() {
    ChunkHaveReply out;
    out.id = id();
    const std::size_t n = m_r.enter("present", kMaxHaveBatch, 1);
    out.present.reserve(n);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        out.present.push_back(m_r.read_bool(nullptr));
    }
    m_r.leave();
    return out;
}

ChunkData Decoder::chunk_data() {
    ChunkData out;
    out.id = id();
    out.code = relay_code();
    // Each entry is a bin (empty: a chunk the relay does not hold).
    const std::size_t n = m_r.enter("chunks", kMaxGetBatch, 2);
    if (m_r.ok() && out.code != RelayCode::ok && n != 0) {
        m_r.fail(nullptr, std::to_string(n) + " entries in an answer that is not ok");
    }
    out.chunks.reserve(n);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        const auto data = m_r.read_bin(nullptr, kMaxSealedChunk);
        out.chunks.emplace_back(data.begin(), data.end());
    }
    m_r.leave();
    return out;
}

MailboxBatch Decoder::mailbox_batch() {
    MailboxBatch out;
    out.id = id();
    // An entry is at least [bin 16, bin 32, fixint, bool, bin 8 of 0]:
    // 1 + 18 + 34 + 1 + 1 + 2 bytes.
    const std::size_t n = m_r.enter("entries", m_limits.max_array, 57);
    out.entries.reserve(n);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 5);
        MailboxEntry& entry = out.entries.emplace_back();
        fixed("message_id", entry.message_id);
        fixed("peer", entry.peer);
        entry.posted_ns = m_r.read_int("posted_ns", kI64Min, kI64Max);
        entry.expired = m_r.read_bool("expired");
        // An expiry notice carries no payload, a message always one.
        entry.payload = sealed("payload", !entry.expired, kMaxMailboxPayload);
        m_r.leave();
    }
    m_r.leave();
    out.more = m_r.read_bool("more");
    return out;
}

ForwardRequest Decoder::forward_request() {
    ForwardRequest out;
    out.id = id();
    fixed("target", out.target);
    return out;
}

ForwardReply Decoder::forward_reply() {
    ForwardReply out;
    out.id = id();
    out.code = relay_code();
    out.message = text("message");
    fixed("session", out.session);
    return out;
}

ForwardOffer Decoder::forward_offer() {
    ForwardOffer out;
    fixed("session", out.session);
    fixed("from", out.from);
    return out;
}

}  // namespace ferry::wire
