// decode(), and the Decoder's walk over the messages between devices and
// its shared field readers (net/messages_decoder.hh).
#include <string_view>

#include "core/utf8.hh"
#include "net/messages_decoder.hh"

namespace ferry::wire {

namespace {

constexpr std::size_t kHashBytes = sizeof(ChunkHash::bytes);
// A chunk-list entry is a hash and a LEB128 size of at most 4 bytes (2^24).
constexpr std::size_t kMaxChunkEntryBytes = kHashBytes + 4;

// Elements of a message array: the tag and the fields (proto/messages.md).
std::size_t field_count(MessageType type) {
    switch (type) {
        case MessageType::cluster_config: return 6;
        case MessageType::index_update: return 5;
        case MessageType::request: return 5;
        case MessageType::response: return 5;
        case MessageType::ping: return 1;
        case MessageType::close: return 2;
        case MessageType::join_request: return 2;
        case MessageType::join_accept: return 6;
        case MessageType::resend_request: return 3;
        case MessageType::relay_hello: return 3;
        case MessageType::relay_welcome: return 4;
        case MessageType::chunk_put: return 3;
        case MessageType::chunk_have: return 3;
        case MessageType::chunk_get: return 3;
        case MessageType::mailbox_post: return 7;
        case MessageType::mailbox_fetch: return 4;
        case MessageType::mailbox_ack: return 3;
        case MessageType::relay_reply: return 6;
        case MessageType::chunk_have_reply: return 3;
        case MessageType::chunk_data: return 4;
        case MessageType::mailbox_batch: return 4;
        case MessageType::mailbox_notify: return 1;
        case MessageType::forward_request: return 3;
        case MessageType::forward_reply: return 5;
        case MessageType::forward_offer: return 3;
    }
    return 0;
}

bool valid_utf8(std::string_view text) {
    for (std::size_t pos = 0; pos < text.size();) {
        const std::size_t length = utf8_decode(text, pos).length;
        if (length == 0) return false;
        pos += length;
    }
    return true;
}

}  // namespace

ClusterConfig Decoder::cluster_config() {
    ClusterConfig out;
    out.device_name = text("device_name");
    out.devices = devices("devices");
    out.revocations = blobs("revocations");
    const std::size_t n = m_r.enter("folders", m_limits.max_array, 5);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 4);
        FolderState folder;
        folder.id = text("id");
        folder.index_id = m_r.read_uint("index_id", kU64Max);
        folder.peer_index_id = m_r.read_uint("peer_index_id", kU64Max);
        folder.peer_max_sequence = sequence("peer_max_sequence");
        m_r.leave();
        out.folders.push_back(std::move(folder));
    }
    m_r.leave();
    out.relays = relays("relays");
    return out;
}

IndexUpdate Decoder::index_update() {
    IndexUpdate out;
    out.folder = text("folder");
    out.index_id = m_r.read_uint("index_id", kU64Max);
    out.last_sequence = sequence("last_sequence");
    // A record takes at least 16 bytes: its array header and 12 fields,
    // three of them bin (two header bytes and at least one of version).
    const std::size_t n =
        m_r.enter("records", std::min(m_limits.max_records, m_limits.max_array), 16);
    out.records.reserve(n);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        out.records.push_back(wire_record());
    }
    m_r.leave();
    return out;
}

Request Decoder::request() {
    Request out;
    out.id = static_cast<std::uint32_t>(m_r.read_uint("id", kU32Max));
    out.folder = text("folder");
    fixed("hash", out.hash.bytes);
    out.size = static_cast<std::uint32_t>(m_r.read_uint("size", kMaxChunkSize));
    if (m_r.ok() && out.size == 0)
        m_r.fail("size", "0 is outside 1.." + std::to_string(kMaxChunkSize));
    return out;
}

Response Decoder::response() {
    Response out;
    out.id = static_cast<std::uint32_t>(m_r.read_uint("id", kU32Max));
    out.code = static_cast<ResponseCode>(m_r.read_uint("code", 2));
    out.compressed = m_r.read_bool("compressed");
    const auto data = m_r.read_bin("data", kMaxChunkSize);
    out.data.assign(data.begin(), data.end());
    if (!m_r.ok()) return out;
    if (out.code == ResponseCode::ok && out.data.empty()) {
        m_r.fail("data", "empty in an ok response (a chunk has at least 1 byte)");
    } else if (out.code != ResponseCode::ok && (!out.data.empty() || out.compressed)) {
        m_r.fail("data", "present in a response that is not ok");
    }
    return out;
}

Close Decoder::close() {
    return Close{text("reason")};
}

JoinRequest Decoder::join_request() {
    return JoinRequest{text("device_name")};
}

JoinAccept Decoder::join_accept() {
    JoinAccept out;
    fixed("user_seed", out.user_seed);
    out.certificate = blob("certificate");
    out.devices = devices("devices");
    out.revocations = blobs("revocations");
    const std::size_t n = m_r.enter("folders", m_limits.max_array, 1);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        out.folders.push_back(text(nullptr));
    }
    m_r.leave();
    return out;
}

ResendRequest Decoder::resend_request() {
    ResendRequest out;
    out.folder = text("folder");
    const std::size_t n = m_r.enter("paths", m_limits.max_array, 1);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        // Paths, like record paths, are the engine's to check.
        out.paths.emplace_back(m_r.read_str(nullptr, m_limits.max_string));
    }
    m_r.leave();
    return out;
}

std::string Decoder::text(const char* field, std::size_t max) {
    const std::string_view s = m_r.read_str(field, std::min(max, m_limits.max_string));
    if (m_r.ok() && !valid_utf8(s)) m_r.fail(field, "not valid UTF-8");
    return std::string(s);
}

std::string Decoder::blob(const char* field) {
    const auto b = m_r.read_bin(field, m_limits.max_string);
    return std::string(b.begin(), b.end());
}

void Decoder::fixed(const char* field, std::span<std::uint8_t> out) {
    const auto b = m_r.read_bin(field, out.size());
    if (m_r.ok() && b.size() != out.size()) {
        m_r.fail(field,
                 std::to_string(b.size()) + " bytes, expected " + std::to_string(out.size()));
    }
    std::copy(b.begin(), b.end(), out.begin());
}

Sequence Decoder::sequence(const char* field) {
    return Sequence{m_r.read_int(field, 0, kI64Max)};
}

std::vector<std::string> Decoder::blobs(const char* field) {
    std::vector<std::string> out;
    const std::size_t n = m_r.enter(field, m_limits.max_array, 2);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        out.push_back(blob(nullptr));
    }
    m_r.leave();
    return out;
}

std::vector<DeviceInfo> Decoder::devices(const char* field) {
    std::vector<DeviceInfo> out;
    const std::size_t n = m_r.enter(field, m_limits.max_array, 4);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 2);
        DeviceInfo device;
        device.certificate = blob("certificate");
        const std::size_t addresses = m_r.enter("addresses", m_limits.max_array, 1);
        for (std::size_t a = 0; a < addresses && m_r.ok(); ++a) {
            m_r.at_element(a);
            device.addresses.push_back(text(nullptr));
        }
        m_r.leave();
        m_r.leave();
        out.push_back(std::move(device));
    }
    m_r.leave();
    return out;
}

std::vector<RelayEntry> Decoder::relays(const char* field) {
    std::vector<RelayEntry> out;
    // An entry is at least [fixstr, bool, fixint]: 4 bytes.
    const std::size_t n = m_r.enter(field, m_limits.max_array, 4);
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 3);
        RelayEntry relay;
        relay.url = text("url", kMaxRelayUrl);
        relay.removed = m_r.read_bool("removed");
        relay.changed_ns = m_r.read_int("changed_ns", kI64Min, kI64Max);
        m_r.leave();
        out.push_back(std::move(relay));
    }
    m_r.leave();
    return out;
}

// A chunk list in its compact form, at most max_chunks_per_file long;
// the length is bounded before decode_chunk_list allocates.
std::vector<ChunkRef> Decoder::chunk_list(const char* field) {
    const auto bytes = m_r.read_bin(field, m_limits.max_chunks_per_file * kMaxChunkEntryBytes);
    if (!m_r.ok()) return {};
    auto chunks = decode_chunk_list(bytes);
    if (!chunks) {
        m_r.fail(field, chunks.error().message);
        return {};
    }
    if (chunks->size() > m_limits.max_chunks_per_file) {
        m_r.fail(field, std::to_string(chunks->size()) + " chunks, above the limit of " +
                            std::to_string(m_limits.max_chunks_per_file));
        return {};
    }
    return std::move(*chunks);
}

ChunkDelta Decoder::delta() {
    ChunkDelta out;
    m_r.enter_tuple("delta", 2);
    fixed("base", out.base.bytes);
    // A run is at least [copy_from, copy_count, bin8 of 0]: 5 bytes.
    const std::size_t n = m_r.enter("runs", m_limits.max_array, 5);
    std::uint64_t result_chunks = 0;
    for (std::size_t i = 0; i < n && m_r.ok(); ++i) {
        m_r.at_element(i);
        m_r.enter_tuple(nullptr, 3);
        DeltaRun run;
        run.copy_from = static_cast<std::uint32_t>(m_r.read_uint("copy_from", kU32Max));
        run.copy_count = static_cast<std::uint32_t>(m_r.read_uint("copy_count", kU32Max));
        run.insert = chunk_list("insert");
        result_chunks += run.copy_count + run.insert.size();
        if (m_r.ok() && result_chunks > m_limits.max_chunks_per_file) {
            m_r.fail(nullptr, "the result has more than " +
                                  std::to_string(m_limits.max_chunks_per_file) + " chunks");
        }
        m_r.leave();
        out.runs.push_back(std::move(run));
    }
    m_r.leave();
    m_r.leave();
    return out;
}

WireRecord Decoder::wire_record() {
    WireRecord out;
    FileRecord& rec = out.record;
    m_r.enter_tuple(nullptr, 12);
    rec.path = std::string(m_r.read_str("path", m_limits.max_string));
    rec.kind = static_cast<FileKind>(m_r.read_uint("kind", 2));
    rec.size = m_r.read_uint("size", kU64Max);
    rec.mtime_ns = m_r.read_int("mtime_ns", kI64Min, kI64Max);
    rec.mode = static_cast<std::uint32_t>(m_r.read_uint("mode", 07777));
    rec.deleted = m_r.read_bool("deleted");
    const auto version_bytes = m_r.read_bin("version", kU32Max);
    if (m_r.ok()) {
        auto version = VersionVector::decode(version_bytes);
        if (version) {
            rec.version = std::move(*version);
        } else {
            m_r.fail("version", version.error().message);
        }
    }
    const bool whole = !m_r.read_nil();
    if (whole) rec.chunks = chunk_list("chunks");
    if (!m_r.read_nil() && m_r.ok()) out.delta = delta();
    rec.symlink_target = std::string(m_r.read_str("symlink_target", m_limits.max_string));
    rec.sequence = sequence("sequence");
    rec.modified_by = ShortId{m_r.read_uint("modified_by", kU64Max)};
    if (m_r.ok()) check_record(out, whole);
    m_r.leave();
    return out;
}

// The record's fields agree with each other (proto/messages.md, FileRecord).
void Decoder::check_record(const WireRecord& wire, bool whole) {
    const FileRecord& rec = wire.record;
    const bool live_file = rec.kind == FileKind::file && !rec.deleted;
    if (whole == wire.delta.has_value()) {
        m_r.fail("chunks", whole ? "given together with a delta" : "nil without a delta");
    } else if (wire.delta && !live_file) {
        m_r.fail("delta", "only a file that is not deleted has a chunk-list delta");
    } else if (!rec.chunks.empty() && !live_file) {
        m_r.fail("chunks", rec.deleted
                               ? "a deleted record has no chunks"
                               : std::string("a ") + file_kind_name(rec.kind) + " has no chunks");
    } else if (rec.size != 0 && (rec.deleted || rec.kind == FileKind::directory)) {
        m_r.fail("size", std::to_string(rec.size) + " for a " +
                             (rec.deleted ? "deleted record" : "directory") + " (must be 0)");
    } else if (!rec.symlink_target.empty() && (rec.kind != FileKind::symlink || rec.deleted)) {
        m_r.fail("symlink_target", "set on a record that is not a live symlink");
    } else if (live_file && whole) {
        std::uint64_t total = 0;
        for (const ChunkRef& c : rec.chunks) total += c.size;
        if (total != rec.size) {
            m_r.fail("size", std::to_string(rec.size) + " differs from the chunks' total of " +
                                 std::to_string(total));
        }
    }
}

Result<Message> decode(std::span<const std::uint8_t> bytes, const Limits& limits) {
    if (bytes.size() > limits.max_frame) {
        return fail(Errc::corrupt, "malformed message: " + std::to_string(bytes.size()) +
                                       " bytes, above the frame limit of " +
                                       std::to_string(limits.max_frame));
    }
    Decoder d(bytes, limits);
    MsgpackReader& r = d.reader();
    const std::size_t count = r.enter(nullptr, 16, 1);
    if (r.ok() && count == 0) r.fail(nullptr, "an empty array has no type tag");
    const std::uint64_t tag = r.read_uint("type", 255);
    const auto type = static_cast<MessageType>(tag);
    const bool known = tag >= 1 && tag <= static_cast<std::uint64_t>(MessageType::forward_offer);
    if (r.ok() && !known) r.fail("type", "unknown message type " + std::to_string(tag));
    if (r.ok() && count != field_count(type)) {
        r.fail(nullptr, "has " + std::to_string(count) + " elements, expected " +
                            std::to_string(field_count(type)));
    }
    Message out;
    if (r.ok()) {
        switch (type) {
            case MessageType::cluster_config: out = d.cluster_config(); break;
            case MessageType::index_update: out = d.index_update(); break;
            case MessageType::request: out = d.request(); break;
            case MessageType::response: out = d.response(); break;
            case MessageType::ping: out = Ping{}; break;
            case MessageType::close: out = d.close(); break;
            case MessageType::join_request: out = d.join_request(); break;
            case MessageType::join_accept: out = d.join_accept(); break;
            case MessageType::resend_request: out = d.resend_request(); break;
            case MessageType::relay_hello: out = d.relay_hello(); break;
            case MessageType::relay_welcome: out = d.relay_welcome(); break;
            case MessageType::chunk_put: out = d.chunk_put(); break;
            case MessageType::chunk_have: out = d.chunk_have(); break;
            case MessageType::chunk_get: out = d.chunk_get(); break;
            case MessageType::mailbox_post: out = d.mailbox_post(); break;
            case MessageType::mailbox_fetch: out = d.mailbox_fetch(); break;
            case MessageType::mailbox_ack: out = d.mailbox_ack(); break;
            case MessageType::relay_reply: out = d.relay_reply(); break;
            case MessageType::chunk_have_reply: out = d.chunk_have_reply(); break;
            case MessageType::chunk_data: out = d.chunk_data(); break;
            case MessageType::mailbox_batch: out = d.mailbox_batch(); break;
            case MessageType::mailbox_notify: out = MailboxNotify{}; break;
            case MessageType::forward_request: out = d.forward_request(); break;
            case MessageType::forward_reply: out = d.forward_reply(); break;
            case MessageType::forward_offer: out = d.forward_offer(); break;
        }
    }
    r.leave();
    r.expect_end();
    if (!r.ok()) {
        return fail(Errc::corrupt, std::string("malformed ") +
                                       (known ? message_type_name(type) : "") + (known ? " " : "") +
                                       "message: " + r.error());
    }
    return out;
}

}  // namespace ferry::wire
