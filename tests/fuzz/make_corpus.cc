// Writes the seed corpora of the fuzz targets (corpus/README.md):
//   make_corpus DIR      writes DIR/NAME/SEED for every target NAME
// Every seed comes from ferry's own encoders (or, for a target whose input
// is its own layout, from that target's *_fuzz_input.hh), so it stays valid
// when a format changes and the corpus is regenerated. Seeds that must
// decode are decoded here first: the program fails (status 1, naming the
// seed) rather than write an invalid one. Exceptions are for bugs only.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../crypto/relay_seal_util.hh"
#include "cli/config.hh"
#include "cli/config_edit.hh"
#include "core/compression.hh"
#include "core/file_record.hh"
#include "core/version_vector.hh"
#include "crypto/certificate.hh"
#include "crypto/device_id.hh"
#include "crypto/handshake.hh"
#include "crypto/handshake_payload.hh"
#include "crypto/invite_code.hh"
#include "crypto/secure_channel.hh"
#include "frame_fuzz_input.hh"
#include "fuzz_keys.hh"
#include "net/messages.hh"
#include "relay_seal_fuzz_input.hh"

namespace {

using namespace ferry;
using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

Bytes bytes(std::string_view text) { return {text.begin(), text.end()}; }

Bytes joined(std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& part : parts) out.insert(out.end(), part.begin(), part.end());
    return out;
}

class Writer {
public:
    explicit Writer(fs::path root) : m_root(std::move(root)) {}
    void operator()(const std::string& target, const std::string& name, const Bytes& data) {
        const fs::path folder = m_root / target;
        fs::create_directories(folder);
        std::ofstream out(folder / name, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
        if (!out) throw std::runtime_error("cannot write " + (folder / name).string());
        ++m_count;
    }
    int count() const { return m_count; }

private:
    fs::path m_root;
    int m_count = 0;
};

// Fails the run when a seed meant to be valid is not.
void require(bool valid, const std::string& seed) {
    if (!valid) throw std::runtime_error("seed " + seed + " does not decode");
}

ChunkHash hash_of(std::uint8_t fill) {
    ChunkHash hash;
    hash.bytes.fill(fill);
    return hash;
}

VersionVector version(std::initializer_list<std::pair<std::uint64_t, int>> counts) {
    VersionVector v;
    for (const auto& [id, count] : counts) {
        for (int i = 0; i < count; ++i) v.increment(ShortId{id});
    }
    return v;
}

void core_seeds(Writer& write) {
    write("version_vector", "empty", bytes(VersionVector().encode()));
    write("version_vector", "one", bytes(version({{7, 1}}).encode()));
    write("version_vector", "three", bytes(version({{1, 3}, {0x8000000000000001, 200}, {42, 1}}).encode()));

    const std::vector<ChunkRef> chunks{{hash_of(1), 1}, {hash_of(2), 65536}, {hash_of(3), kMaxChunkSize}};
    write("chunk_list", "empty", bytes(encode_chunk_list({})));
    write("chunk_list", "one", bytes(encode_chunk_list(std::span(chunks).first(1))));
    write("chunk_list", "three", bytes(encode_chunk_list(chunks)));

    for (const auto& [name, path] : std::vector<std::pair<std::string, std::string>>{
             {"plain", "docs/report 2024.txt"},
             {"nfc", "Caf\xc3\xa9/na\xc3\xafve.txt"},
             {"nfd", "Cafe\xcc\x81/x"},
             {"windows-reserved", "photos/CON.txt"},
             {"trailing-dot", "notes/draft. "},
             {"dot-dot", "a/../b"},
             {"deep", "a/b/c/d/e/f/g/h/i/j/k"}}) {
        write("path_rules", name, bytes(path));
    }

    write("ignore", "typical", bytes("# build output\n*.o\n/build/\n!keep.o\n**/node_modules\n.cache/\n"));
    write("ignore", "classes", bytes("[a-c]?.tmp\n\\#literal\n*.[!o]\nfoo/**/bar\n"));
    write("ignore", "negations", bytes("*\n!*/\n!*.txt\n/dir/sub/*.log\n"));

    const std::string text(2000, 'a');
    const auto packed = compress_if_smaller(bytes(text));
    require(packed.has_value(), "compression/zstd-frame");
    write("compression", "zstd-frame", joined({{0x00, 0x07, 0xd0}, bytes(*packed)}));
    write("compression", "incompressible", joined({{0x00, 0x00, 0x10}, bytes("abcdefghijklmnop")}));

    // chunk_delta_fuzz.cc's reader: base count, an id per chunk, max_chunks,
    // then runs of copy_from, copy_count, insert count, (id, size) inserts.
    write("chunk_delta", "copy-and-insert", {4, 1, 2, 1, 3, 16, 0, 2, 1, 9, 40, 3, 1, 0});
    write("chunk_delta", "limits", {2, 1, 2, 4, 0xff, 0, 0xfe, 200, 0, 0, 0});
}

void crypto_seeds(Writer& write) {
    const KeyPair user = fuzz::key_pair(10);
    const KeyPair device = fuzz::key_pair(11);
    const DeviceCertificate cert = DeviceCertificate::issue(user, fuzz::public_of(device), "laptop", 1);
    const std::string pretty = DeviceId::from_public_key(device.public_key()).to_string();
    std::string compact;
    for (char c : pretty) {
        if (c != '-') compact += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    write("device_id", "canonical", bytes(pretty));
    write("device_id", "compact-lower", bytes(compact));

    write("certificate", "certificate", bytes(cert.encode()));
    write("certificate", "long-name",
          bytes(DeviceCertificate::issue(user, fuzz::public_of(device),
                                         std::string(DeviceCertificate::kMaxNameBytes, 'n'), 9)
                    .encode()));
    write("certificate", "revocation", bytes(Revocation::issue(user, fuzz::public_of(device), 2).encode()));

    InviteCode invite;
    invite.inviter = DeviceId::from_public_key(device.public_key());
    invite.addresses = {"192.0.2.1:22400", "[2001:db8::1]:22400", "laptop.local:1"};
    invite.invite_id.fill(3);
    invite.secret.fill(4);
    invite.expires_ns = 1'700'000'000'000'000'000;
    write("invite_code", "three-addresses", bytes(invite.encode()));
    invite.addresses.clear();
    write("invite_code", "no-address", bytes(invite.encode()));

    // handshake_fuzz.cc: the first byte picks the step (0 hello, 1 reply,
    // 2 finish, 3 credential); these come from another session, so only
    // the hello is accepted there.
    const KeyPair other = fuzz::key_pair(12);
    Handshake initiator = Handshake::initiator(device, cert);
    Handshake responder =
        Handshake::responder(other, DeviceCertificate::issue(user, fuzz::public_of(other), "desktop", 2));
    const Bytes hello = initiator.write_hello();
    require(responder.read_hello(hello).has_value(), "handshake/hello");
    const auto reply = responder.write_reply();
    require(reply && initiator.read_reply(*reply), "handshake/reply");
    const auto finish = initiator.write_finish();
    require(finish.has_value(), "handshake/finish");
    write("handshake", "hello", joined({{0}, hello}));
    write("handshake", "reply", joined({{1}, *reply}));
    write("handshake", "finish", joined({{2}, *finish}));
    const Bytes signature(64, 0x5a);
    write("handshake", "certificate-credential",
          joined({{3}, crypto_detail::encode_certificate_credential(cert), signature}));
    InviteId invite_id{};
    invite_id.fill(6);
    std::array<std::uint8_t, 32> proof{};
    proof.fill(7);
    write("handshake", "invite-credential",
          joined({{3}, crypto_detail::encode_invite_credential(invite_id, fuzz::public_of(device), proof),
                  signature}));

    // relay_seal_fuzz.cc: the plaintexts inside the fixture's sealed chunk
    // and envelope (sealed again by hand there, they open), and a chunk
    // sealed under another folder's key (never opens).
    const fuzz_relay_seal::Fixture f;
    const auto size = fuzz_relay_seal::expected_bytes(f.chunk.size());
    const std::string chunk_plain = test::open_by_hand(
        f.keys.seal_key(), f.keys.chunk_id(f.hash), fuzz_relay_seal::bytes_of(f.sealed_chunk));
    const std::string envelope_plain =
        test::open_by_hand(derive_mailbox_key(f.user), f.envelope_ad(),
                           fuzz_relay_seal::bytes_of(f.sealed_envelope));
    require(!chunk_plain.empty() && !envelope_plain.empty(), "relay_seal/plaintexts");
    write("relay_seal", "chunk-plaintext", joined({{size[0], size[1]}, bytes(chunk_plain)}));
    write("relay_seal", "envelope-plaintext", joined({{size[0], size[1]}, bytes(envelope_plain)}));
    const FolderRelayKeys other_keys(derive_folder_key(f.user, "another folder"));
    write("relay_seal", "other-folder",
          joined({{size[0], size[1]},
                  bytes(other_keys.seal_chunk(f.hash, fuzz_relay_seal::bytes_of(f.chunk)))}));

    const std::string relay_id = DeviceId::from_public_key(other.public_key()).to_string();
    write("relay_text", "url", bytes("relay://relay.example.org:22500#" + relay_id));
    write("relay_text", "url-ipv6", bytes("relay://[2001:db8::7]:443#" + relay_id));
    write("relay_text", "token", bytes(std::string(64, 'a')));
    write("relay_text", "account-name", bytes("alice-home_2"));
    write("relay_text", "size", bytes("1.5GiB"));
}

FileRecord record(std::string path) {
    FileRecord r;
    r.path = std::move(path);
    r.size = 70000;
    r.mtime_ns = 1'700'000'000'123'456'789;
    r.mode = 0644;
    r.version = version({{0x1122334455667788, 2}});
    r.chunks = {{hash_of(1), 65536}, {hash_of(2), 4464}};
    r.sequence = Sequence{12};
    r.modified_by = ShortId{0x1122334455667788};
    return r;
}

std::vector<wire::Message> one_of_each() {
    wire::DeviceInfo device_info{std::string(40, 'c'), {"192.0.2.1:22400"}};
    wire::ClusterConfig config;
    config.device_name = "laptop";
    config.devices = {device_info};
    config.folders = {wire::FolderState{"photos", 1, 2, Sequence{3}}};
    config.relays = {wire::RelayEntry{"relay://r.example:1#ID", false, 5}};
    wire::IndexUpdate update;
    update.folder = "photos";
    update.index_id = 9;
    update.last_sequence = Sequence{12};
    update.records = {wire::WireRecord{record("a/b.txt"), std::nullopt}};
    FileRecord removed = record("gone");
    removed.deleted = true;
    removed.size = 0;
    removed.chunks.clear();
    update.records.push_back(wire::WireRecord{removed, std::nullopt});
    wire::Request request{7, "photos", hash_of(1), 65536};
    wire::Response response{7, wire::ResponseCode::ok, false, "chunk bytes"};
    wire::JoinAccept accept;
    accept.user_seed.fill(1);
    accept.certificate = std::string(40, 'c');
    accept.devices = {device_info};
    accept.folders = {"photos"};
    wire::RelayChunkId chunk{};
    chunk.fill(8);
    wire::RelayChunkId other_chunk{};
    other_chunk.fill(12);
    wire::MailboxMessageId message_id{};
    message_id.fill(9);
    wire::DeviceKey device_key{};
    device_key.fill(10);
    wire::MailboxPost post{3, message_id, {device_key}, "sealed", {chunk}, 3600};
    wire::MailboxEntry entry{message_id, device_key, 1'700'000'000'000'000'000, false, "sealed"};
    wire::ForwardSession session{};
    session.fill(11);
    return {config,
            update,
            request,
            response,
            wire::Ping{},
            wire::Close{"going to sleep"},
            wire::JoinRequest{"new phone"},
            accept,
            wire::ResendRequest{"photos", {"a/b.txt"}},
            wire::RelayHello{std::string(64, 'a'), {}},
            wire::RelayWelcome{"alice", 100, 1000},
            wire::ChunkPut{1, {{chunk, "sealed chunk"}, {other_chunk, "another"}}},
            wire::ChunkHave{2, {chunk, chunk}},
            wire::ChunkGet{3, {chunk, other_chunk}},
            post,
            wire::MailboxFetch{4, 10, 1 << 20},
            wire::MailboxAck{5, {message_id}},
            wire::RelayReply{6, wire::RelayCode::quota_exceeded, "relay full", 10, 20},
            wire::ChunkHaveReply{7, {true, false}},
            wire::ChunkData{8, wire::RelayCode::ok, {"sealed chunk", ""}},  // the second not held
            wire::MailboxBatch{9, {entry}, true},
            wire::MailboxNotify{},
            wire::ForwardRequest{10, device_key},
            wire::ForwardReply{11, wire::RelayCode::ok, "", session},
            wire::ForwardOffer{session, device_key}};
}

void net_seeds(Writer& write) {
    for (const wire::Message& message : one_of_each()) {
        const std::string name = wire::message_type_name(wire::message_type(message));
        const Bytes encoded = wire::encode(message);
        require(wire::decode(encoded).has_value(), "messages/" + name);
        write("messages", name, encoded);
    }

    // frame_fuzz.cc's scripts (frame_fuzz_input.hh).
    using fuzz_frame::FrameOp;
    using fuzz_frame::setup_byte;
    auto op = [](FrameOp o) { return static_cast<std::uint8_t>(o); };
    const std::uint8_t session = setup_byte(fuzz_frame::kSession, 0);
    const auto table = fuzz_frame::script_messages();
    write("frame", "messages",
          {session, op(FrameOp::message), 2, op(FrameOp::message), 0, op(FrameOp::message), 3,
           op(FrameOp::message), 4, op(FrameOp::message), 1});
    const Bytes request = wire::encode(table[2]);
    write("frame", "plaintext",
          joined({{session, op(FrameOp::plaintext), static_cast<std::uint8_t>(request.size())},
                  request, {op(FrameOp::message), 4}}));
    write("frame", "over-limit", {setup_byte(fuzz_frame::kSession, 1), op(FrameOp::message), 2,
                                  op(FrameOp::message), 3});
    write("frame", "raw-length", {session, op(FrameOp::message), 2, op(FrameOp::raw), 0, 40, 1, 2, 3});
    write("frame", "flipped-length", {session, op(FrameOp::flipped), 2, 3, 0x10});
    write("frame", "flipped-tag", {session, op(FrameOp::flipped), 2, 0xff, 0x01});
    write("frame", "cut", {session, op(FrameOp::message), 4, op(FrameOp::cut), 3, 30});
    const KeyPair user = fuzz::key_pair(20);
    const KeyPair device = fuzz::key_pair(21);
    Handshake initiator =
        Handshake::initiator(device, DeviceCertificate::issue(user, fuzz::public_of(device), "a", 1));
    const Bytes hello = initiator.write_hello();
    const auto length = static_cast<std::uint32_t>(hello.size());
    const Bytes prefix{static_cast<std::uint8_t>(length >> 24), static_cast<std::uint8_t>(length >> 16),
                       static_cast<std::uint8_t>(length >> 8), static_cast<std::uint8_t>(length)};
    write("frame", "raw-hello", joined({{fuzz_frame::kRawToResponder}, prefix, hello}));
    write("frame", "raw-reply-truncated",
          joined({{fuzz_frame::kRawToInitiator}, prefix, Bytes(hello.begin(), hello.begin() + 10)}));
}

void cli_seeds(Writer& write) {
    using cli::FolderConfig;
    const std::map<std::string, FolderConfig> folders{
        {"photos", {"/home/a/Photos", FolderMode::send_receive}},
        {"music.2024", {"/srv/music", FolderMode::receive_only}}};
    const std::string initial = cli::initial_config_text(folders);
    require(cli::parse_config(initial, "ferry.toml").has_value(), "config/initial");
    write("config", "initial", bytes(initial));

    std::string every_key = initial;
    for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
             {"listen", "[\"[::1]:22400\", \"0.0.0.0:0\"]"},
             {"watcher", "\"poll\""},
             {"rescan_interval", "3600"},
             {"version_retention", "0"},
             {"max_send_rate", "1024"},
             {"log_level", "\"debug\""},
             {"relay_retry_seconds", "86400"},
             {"folders.photos.mode", "\"send-only\""}}) {
        auto edited = cli::set_config_key(every_key, "ferry.toml", key, value);
        require(edited.has_value(), "config/every-key " + key);
        every_key = edited->text;
    }
    write("config", "every-key", bytes(every_key));
    write("config", "hand-written",
          bytes("listen = [ # where\n  \"127.0.0.1:22400\",\n]\nmax_recv_rate = 0x10 # hex\n\n"
                "[folders]\n[folders.\"a.b\"]\npath = '/data/a b/'\nmode = \"send-receive\"\n"
                "[folders.c]\npath = \"\"\"/data/c\"\"\"\n"));
    write("config", "empty", {});
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: make_corpus DIR (tests/fuzz/corpus)\n");
        return 2;
    }
    try {
        Writer write{fs::path(argv[1])};
        core_seeds(write);
        crypto_seeds(write);
        net_seeds(write);
        cli_seeds(write);
        std::printf("wrote %d seeds under %s\n", write.count(), argv[1]);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "make_corpus: %s\n", e.what());
        return 1;
    }
    return 0;
}
