// encode(): msgpack::packer writes every value in its shortest form, which
// is the only form the decoder accepts (proto/messages.md, "Encoding").
#include <algorithm>
#include <msgpack.hpp>

#include "net/messages.hh"

namespace ferry::wire {

namespace {

// The output stream msgpack::packer appends to.
class ByteSink {
public:
    void write(const char* data, std::size_t size) {
        m_bytes.insert(m_bytes.end(), reinterpret_cast<const std::uint8_t*>(data),
                       reinterpret_cast<const std::uint8_t*>(data) + size);
    }
    std::vector<std::uint8_t>& bytes() { return m_bytes; }

private:
    std::vector<std::uint8_t> m_bytes;
};

std::uint32_t length32(std::size_t size) {
    // A frame holds at most Limits::max_frame bytes; anything near 4 GiB is a bug.
    if (size > std::numeric_limits<std::uint32_t>::max()) {
        throw std::length_error("wire::encode: a value of " + std::to_string(size) +
                                " bytes cannot be a msgpack length");
    }
    return static_cast<std::uint32_t>(size);
}

class Encoder {
public:
    std::vector<std::uint8_t>& bytes() { return m_sink.bytes(); }

    void head(MessageType type, std::size_t fields) {
        m_pk.pack_array(length32(fields + 1));
        m_pk.pack_uint8(static_cast<std::uint8_t>(type));
    }

    void str(std::string_view s) {
        m_pk.pack_str(length32(s.size()));
        m_pk.pack_str_body(s.data(), length32(s.size()));
    }

    void bin(std::span<const std::uint8_t> b) {
        m_pk.pack_bin(length32(b.size()));
        m_pk.pack_bin_body(reinterpret_cast<const char*>(b.data()), length32(b.size()));
    }
    void bin(std::string_view b) {
        bin(std::span(reinterpret_cast<const std::uint8_t*>(b.data()), b.size()));
    }

    void uint(std::uint64_t v) { m_pk.pack_uint64(v); }
    void sint(std::int64_t v) { m_pk.pack_int64(v); }
    void boolean(bool v) { v ? m_pk.pack_true() : m_pk.pack_false(); }
    void nil() { m_pk.pack_nil(); }
    void array(std::size_t n) { m_pk.pack_array(length32(n)); }

    void strs(const std::vector<std::string>& list) {
        array(list.size());
        for (const auto& s : list) str(s);
    }
    void bins(const std::vector<std::string>& list) {
        array(list.size());
        for (const auto& b : list) bin(b);
    }
    template <std::size_t N>
    void bins(const std::vector<std::array<std::uint8_t, N>>& list) {
        array(list.size());
        for (const auto& b : list) bin(b);
    }

    void devices(const std::vector<DeviceInfo>& devices) {
        array(devices.size());
        for (const DeviceInfo& d : devices) {
            array(2);
            bin(d.certificate);
            strs(d.addresses);
        }
    }

    void record(const WireRecord& wire) {
        const FileRecord& r = wire.record;
        array(12);
        str(r.path);
        uint(static_cast<std::uint8_t>(r.kind));
        uint(r.size);
        sint(r.mtime_ns);
        uint(r.mode);
        boolean(r.deleted);
        bin(r.version.encode());
        if (wire.delta) {
            nil();
            array(2);
            bin(wire.delta->base.bytes);
            array(wire.delta->runs.size());
            for (const DeltaRun& run : wire.delta->runs) {
                array(3);
                uint(run.copy_from);
                uint(run.copy_count);
                bin(encode_chunk_list(run.insert));
            }
        } else {
            bin(encode_chunk_list(r.chunks));
            nil();
        }
        str(r.symlink_target);
        sint(r.sequence.value);
        uint(r.modified_by.value);
    }

    void operator()(const ClusterConfig& m) {
        head(MessageType::cluster_config, 5);
        str(m.device_name);
        devices(m.devices);
        bins(m.revocations);
        array(m.folders.size());
        for (const FolderState& f : m.folders) {
            array(4);
            str(f.id);
            uint(f.index_id);
            uint(f.peer_index_id);
            sint(f.peer_max_sequence.value);
        }
        array(m.relays.size());
        for (const RelayEntry& r : m.relays) {
            array(3);
            str(r.url);
            boolean(r.removed);
            sint(r.changed_ns);
        }
    }

    void operator()(const IndexUpdate& m) {
        head(MessageType::index_update, 4);
        str(m.folder);
        uint(m.index_id);
        sint(m.last_sequence.value);
        array(m.records.size());
        for (const WireRecord& r : m.records) record(r);
    }

    void operator()(const Request& m) {
        head(MessageType::request, 4);
        uint(m.id);
        str(m.folder);
        bin(m.hash.bytes);
        uint(m.size);
    }

    void operator()(const Response& m) {
        head(MessageType::response, 4);
        uint(m.id);
        uint(static_cast<std::uint8_t>(m.code));
        boolean(m.compressed);
        bin(m.data);
    }

    void operator()(const Ping&) { head(MessageType::ping, 0); }

    void operator()(const Close& m) {
        head(MessageType::close, 1);
        str(m.reason);
    }

    void operator()(const JoinRequest& m) {
        head(MessageType::join_request, 1);
        str(m.device_name);
    }

    void operator()(const JoinAccept& m) {
        head(MessageType::join_accept, 5);
        bin(m.user_seed);
        bin(m.certificate);
        devices(m.devices);
        bins(m.revocations);
        strs(m.folders);
    }

    void operator()(const ResendRequest& m) {
        head(MessageType::resend_request, 2);
        str(m.folder);
        strs(m.paths);
    }

    void operator()(const RelayHello& m) {
        head(MessageType::relay_hello, 2);
        str(m.token);
        bins(m.revocations);
    }

    void operator()(const RelayWelcome& m) {
        head(MessageType::relay_welcome, 3);
        str(m.account);
        uint(m.used_bytes);
        uint(m.quota_bytes);
    }

    void operator()(const ChunkPut& m) {
        head(MessageType::chunk_put, 2);
        uint(m.id);
        array(m.chunks.size());
        for (const SealedChunk& c : m.chunks) {
            array(2);
            bin(c.chunk);
            bin(c.data);
        }
    }

    void operator()(const ChunkHave& m) {
        head(MessageType::chunk_have, 2);
        uint(m.id);
        bins(m.chunks);
    }

    void operator()(const ChunkGet& m) {
        head(MessageType::chunk_get, 2);
        uint(m.id);
        bins(m.chunks);
    }

    void operator()(const MailboxPost& m) {
        head(MessageType::mailbox_post, 6);
        uint(m.id);
        bin(m.message_id);
        bins(m.recipients);
        bin(m.payload);
        bins(m.chunks);
        uint(m.ttl_seconds);
    }

    void operator()(const MailboxFetch& m) {
        head(MessageType::mailbox_fetch, 3);
        uint(m.id);
        uint(m.max_messages);
        uint(m.max_bytes);
    }

    void operator()(const MailboxAck& m) {
        head(MessageType::mailbox_ack, 2);
        uint(m.id);
        bins(m.message_ids);
    }

    void operator()(const RelayReply& m) {
        head(MessageType::relay_reply, 5);
        uint(m.id);
        uint(static_cast<std::uint8_t>(m.code));
        str(m.message);
        uint(m.used_bytes);
        uint(m.quota_bytes);
    }

    void operator()(const ChunkHaveReply& m) {
        head(MessageType::chunk_have_reply, 2);
        uint(m.id);
        array(m.present.size());
        for (const bool p : m.present) boolean(p);
    }

    void operator()(const ChunkData& m) {
        head(MessageType::chunk_data, 3);
        uint(m.id);
        uint(static_cast<std::uint8_t>(m.code));
        array(m.chunks.size());
        for (const std::string& data : m.chunks) bin(data);
    }

    void operator()(const MailboxBatch& m) {
        head(MessageType::mailbox_batch, 3);
        uint(m.id);
        array(m.entries.size());
        for (const MailboxEntry& e : m.entries) {
            array(5);
            bin(e.message_id);
            bin(e.peer);
            sint(e.posted_ns);
            boolean(e.expired);
            bin(e.payload);
        }
        boolean(m.more);
    }

    void operator()(const MailboxNotify&) { head(MessageType::mailbox_notify, 0); }

    void operator()(const ForwardRequest& m) {
        head(MessageType::forward_request, 2);
        uint(m.id);
        bin(m.target);
    }

    void operator()(const ForwardReply& m) {
        head(MessageType::forward_reply, 4);
        uint(m.id);
        uint(static_cast<std::uint8_t>(m.code));
        str(m.message);
        bin(m.session);
    }

    void operator()(const ForwardOffer& m) {
        head(MessageType::forward_offer, 2);
        bin(m.session);
        bin(m.from);
    }

private:
    ByteSink m_sink;
    msgpack::packer<ByteSink> m_pk{m_sink};
};

}  // namespace

// The variant's alternatives are in MessageType order, from 1.
static_assert(std::variant_size_v<Message> == static_cast<std::size_t>(MessageType::forward_offer));
static_assert(std::is_same_v<std::variant_alternative_t<24, Message>, ForwardOffer>);

MessageType message_type(const Message& message) {
    return static_cast<MessageType>(message.index() + 1);
}

const char* message_type_name(MessageType type) {
    switch (type) {
        case MessageType::cluster_config: return "ClusterConfig";
        case MessageType::index_update: return "IndexUpdate";
        case MessageType::request: return "Request";
        case MessageType::response: return "Response";
        case MessageType::ping: return "Ping";
        case MessageType::close: return "Close";
        case MessageType::join_request: return "JoinRequest";
        case MessageType::join_accept: return "JoinAccept";
        case MessageType::resend_request: return "ResendRequest";
        case MessageType::relay_hello: return "RelayHello";
        case MessageType::relay_welcome: return "RelayWelcome";
        case MessageType::chunk_put: return "ChunkPut";
        case MessageType::chunk_have: return "ChunkHave";
        case MessageType::chunk_get: return "ChunkGet";
        case MessageType::mailbox_post: return "MailboxPost";
        case MessageType::mailbox_fetch: return "MailboxFetch";
        case MessageType::mailbox_ack: return "MailboxAck";
        case MessageType::relay_reply: return "RelayReply";
        case MessageType::chunk_have_reply: return "ChunkHaveReply";
        case MessageType::chunk_data: return "ChunkData";
        case MessageType::mailbox_batch: return "MailboxBatch";
        case MessageType::mailbox_notify: return "MailboxNotify";
        case MessageType::forward_request: return "ForwardRequest";
        case MessageType::forward_reply: return "ForwardReply";
        case MessageType::forward_offer: return "ForwardOffer";
    }
    return "unknown";
}

std::vector<std::uint8_t> encode(const Message& message) {
    return encode(message, 0, 0);
}

std::vector<std::uint8_t> encode(const Message& message, std::size_t head, std::size_t tail) {
    Encoder encoder;
    encoder.bytes().resize(head);
    std::visit(encoder, message);
    std::vector<std::uint8_t>& bytes = encoder.bytes();
    bytes.resize(bytes.size() + tail);
    return std::move(bytes);
}

}  // namespace ferry::wire
