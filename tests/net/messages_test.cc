// The message codec (net/messages.hh): golden vectors of proto/messages.md
// both ways, round trips, and every way a hostile peer's bytes can be wrong.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <msgpack.hpp>
#include <new>
#include <random>

#include "net/messages.hh"

using namespace ferry;
using namespace ferry::wire;

// Counts the bytes this thread allocates while `g_counting` is set, so that
// a test can show a hostile length is refused before anything is allocated.
// Not under AddressSanitizer: it owns operator new, and memory allocated by
// its operator new inside libstdc++ would come back to this free().
namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocated = 0;
#ifdef __SANITIZE_ADDRESS__
constexpr bool kCountsAllocations = false;
#else
constexpr bool kCountsAllocations = true;
#endif
}  // namespace

#ifndef __SANITIZE_ADDRESS__
// GCC 12 warns that free() meets memory from operator new; here both are ours.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    if (g_counting) g_allocated += size;
    if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop
#endif

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes from_hex(std::string_view hex) {
    Bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    }
    return out;
}

std::string to_hex(const Bytes& bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (std::uint8_t b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 15];
    }
    return out;
}

ChunkHash filled_hash(std::uint8_t byte) {
    ChunkHash h;
    h.bytes.fill(byte);
    return h;
}

VersionVector version(std::initializer_list<std::pair<std::uint64_t, int>> entries) {
    VersionVector v;
    for (const auto& [id, count] : entries) {
        for (int i = 0; i < count; ++i) v.increment(ShortId{id});
    }
    return v;
}

constexpr std::uint64_t kA = 0x1122334455667788;
constexpr std::uint64_t kB = 0x99aabbccddeeff00;

FileRecord make_record(std::string path, FileKind kind, std::uint64_t size, std::int64_t mtime,
                       std::uint32_t mode, bool deleted, VersionVector v, std::int64_t sequence,
                       std::uint64_t by) {
    FileRecord r;
    r.path = std::move(path);
    r.kind = kind;
    r.size = size;
    r.mtime_ns = mtime;
    r.mode = mode;
    r.deleted = deleted;
    r.version = std::move(v);
    r.sequence = Sequence{sequence};
    r.modified_by = ShortId{by};
    return r;
}

DeviceInfo laptop_device() { return DeviceInfo{"\x01\x02\x03", {"192.0.2.1:22000"}}; }

struct Golden {
    const char* name;
    Message message;
    const char* hex;
};

// proto/messages.md, "Golden vectors": computed independently of this codec
// (Python's msgpack 1.0.3, packb(..., use_bin_type=True), with the version
// vector and chunk list bytes built by hand from their definitions).
std::vector<Golden> golden_vectors() {
    std::vector<Golden> out;
    out.push_back({"ClusterConfig",
                   ClusterConfig{"laptop",
                                 {laptop_device()},
                                 {"\xaa\xbb"},
                                 {FolderState{"docs", 0x0123456789abcdef, 42, Sequence{300}}}},
                   "9501a66c6170746f709192c40301020391af3139322e302e322e313a323230303091c402aabb91"
                   "94a4646f6373cf0123456789abcdef2acd012c"});

    IndexUpdate whole{"docs", 7, Sequence{12}, {}};
    FileRecord ab = make_record("a/b.txt", FileKind::file, 70000, 1700000000123456789, 0644, false,
                                version({{kA, 3}}), 11, kA);
    ab.chunks = {{filled_hash(0x11), 65536}, {filled_hash(0x22), 4464}};
    whole.records.push_back({ab, std::nullopt});
    whole.records.push_back({make_record("old", FileKind::file, 0, 1600000000000000000, 0600, true,
                                         version({{kA, 2}, {kB, 1}}), 12, kB),
                             std::nullopt});
    out.push_back({"IndexUpdate (whole list, tombstone)", whole,
                   "9502a4646f6373070c929ca7612f622e74787400ce00011170cf17979cfe3d85cd15cd01a4c2c4"
                   "0a01112233445566778803c445111111111111111111111111111111111111111111111111111111"
                   "11111111118080042222222222222222222222222222222222222222222222222222222222222222"
                   "f022c0a00bcf11223344556677889ca36f6c640000cf16345785d8a00000cd0180c3c41302112233"
                   "445566778802"
                   "99aabbccddeeff0001c400c0a00ccf99aabbccddeeff00"});

    IndexUpdate delta{"docs", 7, Sequence{15}, {}};
    ChunkDelta d;
    d.base.bytes.fill(0x33);
    d.runs = {DeltaRun{0, 2, {{filled_hash(0x44), 1024}}}, DeltaRun{3, 1, {}}};
    delta.records.push_back({make_record("big.bin", FileKind::file, 197632, -1000000000, 0755, false,
                                         version({{kA, 4}, {kB, 1}}), 13, kA),
                             d});
    FileRecord link = make_record("link", FileKind::symlink, 7, 1700000000000000000, 0777, false,
                                  version({{kB, 1}}), 14, kB);
    link.symlink_target = "a/b.txt";
    delta.records.push_back({link, std::nullopt});
    delta.records.push_back({make_record("dir", FileKind::directory, 0, 1700000000000000000, 0755,
                                         false, version({{kB, 2}}), 15, kB),
                             std::nullopt});
    out.push_back({"IndexUpdate (delta, symlink, directory)", delta,
                   "9502a4646f6373070f939ca76269672e62696e00ce00030400d2c4653600cd01edc2c41302112233"
                   "4455667788"
                   "0499aabbccddeeff0001c092c4103333333333333333333333333333333392930002c42244444444"
                   "444444444444444444444444444444444444444444444444444444448008930301c400a00dcf1122"
                   "3344556677889ca46c696e6b0207cf17979cfe362a0000cd01ffc2c40a0199aabbccddeeff0001c4"
                   "00c0a7612f622e7478740ecf99aabbccddeeff009ca36469720100cf17979cfe362a0000cd01edc2"
                   "c40a0199aabbccddeeff0002c400c0a00fcf99aabbccddeeff00"});

    out.push_back({"Request", Request{1, "docs", filled_hash(0x11), 65536},
                   "950301a4646f6373c4201111111111111111111111111111111111111111111111111111111111"
                   "111111ce00010000"});
    out.push_back({"Response (ok)", Response{1, ResponseCode::ok, false, "hello"},
                   "95040100c2c40568656c6c6f"});
    out.push_back({"Response (not found)", Response{2, ResponseCode::not_found, false, ""},
                   "95040201c2c400"});
    out.push_back({"Ping", Ping{}, "9105"});
    out.push_back({"Close", Close{"shutting down"}, "9206ad7368757474696e6720646f776e"});
    out.push_back({"JoinRequest", JoinRequest{"phone"}, "9207a570686f6e65"});

    JoinAccept accept;
    for (std::size_t i = 0; i < accept.user_seed.size(); ++i) {
        accept.user_seed[i] = static_cast<std::uint8_t>(i);
    }
    accept.certificate = "\x04\x05";
    accept.devices = {DeviceInfo{"\x01\x02\x03", {"192.0.2.1:22000", "[2001:db8::1]:22000"}}};
    accept.folders = {"docs", "photos"};
    out.push_back({"JoinAccept", accept,
                   "9608c420000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1fc40204"
                   "059192c40301020392af3139322e302e322e313a3232303030b35b323030313a6462383a3a315d"
                   "3a32323030309092a4646f6373a670686f746f73"});
    out.push_back({"ResendRequest", ResendRequest{"docs", {"a/b.txt", "big.bin"}},
                   "9309a4646f637392a7612f622e747874a76269672e62696e"});
    return out;
}

// Decodes `bytes` and returns the error message (empty when it decoded).
std::string decode_error(const Bytes& bytes, const Limits& limits = kLimits) {
    auto decoded = decode(bytes, limits);
    if (decoded) return "";
    CHECK(decoded.error().code == Errc::corrupt);
    return decoded.error().message;
}

// Hostile messages written field by field.
class Builder {
public:
    Builder& array(std::uint32_t n) { return (m_pk.pack_array(n), *this); }
    Builder& uint(std::uint64_t v) { return (m_pk.pack_uint64(v), *this); }
    Builder& sint(std::int64_t v) { return (m_pk.pack_int64(v), *this); }
    Builder& str(std::string_view s) {
        m_pk.pack_str(static_cast<std::uint32_t>(s.size()));
        m_pk.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return *this;
    }
    Builder& bin(std::string_view s) {
        m_pk.pack_bin(static_cast<std::uint32_t>(s.size()));
        m_pk.pack_bin_body(s.data(), static_cast<std::uint32_t>(s.size()));
        return *this;
    }
    Builder& boolean(bool b) { return (b ? m_pk.pack_true() : m_pk.pack_false(), *this); }
    Builder& nil() { return (m_pk.pack_nil(), *this); }
    Builder& raw(std::initializer_list<std::uint8_t> bytes) {
        for (std::uint8_t b : bytes) m_buf.write(reinterpret_cast<const char*>(&b), 1);
        return *this;
    }
    Bytes bytes() const { return Bytes(m_buf.data(), m_buf.data() + m_buf.size()); }

private:
    msgpack::sbuffer m_buf;
    msgpack::packer<msgpack::sbuffer> m_pk{m_buf};
};

// The fields of a file record as the wire has them, so that a test can
// change one and keep the rest valid.
struct RawRecord {
    std::string path = "f";
    std::uint64_t kind = 0;
    std::uint64_t size = 5;
    std::int64_t mtime = 1;
    std::uint64_t mode = 0644;
    bool deleted = false;
    std::string version = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01\x01", 10);
    std::optional<std::string> chunks =
        std::string(32, '\x11') + "\x05";  // one chunk of 5 bytes
    std::optional<std::pair<std::string, std::uint64_t>> delta;  // base, copy_count of one run
    std::string target;
    std::int64_t sequence = 1;
};

Bytes index_update_with(const RawRecord& r) {
    Builder b;
    b.array(5).uint(2).str("docs").uint(7).sint(1).array(1).array(12);
    b.str(r.path).uint(r.kind).uint(r.size).sint(r.mtime).uint(r.mode).boolean(r.deleted);
    b.bin(r.version);
    r.chunks ? b.bin(*r.chunks) : b.nil();
    if (r.delta) {
        b.array(2).bin(r.delta->first).array(1).array(3).uint(0).uint(r.delta->second).bin("");
    } else {
        b.nil();
    }
    b.str(r.target).sint(r.sequence).uint(9);
    return b.bytes();
}

}  // namespace

TEST_CASE("every message encodes to its golden bytes and decodes back", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        const Bytes expected = from_hex(g.hex);
        CHECK(to_hex(encode(g.message)) == g.hex);
        auto decoded = decode(expected);
        REQUIRE(decoded);
        CHECK(*decoded == g.message);
    }
}

TEST_CASE("the golden vectors cover every message type", "[messages]") {
    std::vector<bool> seen(10, false);
    for (const Golden& g : golden_vectors()) {
        seen[static_cast<std::size_t>(message_type(g.message))] = true;
    }
    for (int t = 1; t <= 9; ++t) {
        INFO(message_type_name(static_cast<MessageType>(t)));
        CHECK(seen[static_cast<std::size_t>(t)]);
    }
}

TEST_CASE("message_type follows the tag and names it", "[messages]") {
    CHECK(message_type(Message{Ping{}}) == MessageType::ping);
    CHECK(message_type(Message{ResendRequest{}}) == MessageType::resend_request);
    CHECK(message_type(Message{ClusterConfig{}}) == MessageType::cluster_config);
    CHECK(std::string(message_type_name(MessageType::join_accept)) == "JoinAccept");
}

namespace {

ChunkRef random_chunk(std::mt19937_64& rng) {
    ChunkRef c;
    for (auto& b : c.hash.bytes) b = static_cast<std::uint8_t>(rng());
    c.size = static_cast<std::uint32_t>(1 + rng() % kMaxChunkSize);
    return c;
}

std::string random_text(std::mt19937_64& rng, std::size_t max) {
    // Lengths around msgpack's str form boundaries (31/32, 255/256, 65535).
    static constexpr std::size_t lengths[] = {0, 1, 31, 32, 255, 256, 300, 65535};
    std::size_t n = lengths[rng() % std::size(lengths)];
    n = std::min(n, max);
    std::string s(n, 'x');
    for (auto& c : s) c = static_cast<char>('a' + rng() % 26);
    return s;
}

WireRecord random_record(std::mt19937_64& rng) {
    WireRecord w;
    FileRecord& r = w.record;
    r.path = random_text(rng, 300) + "/p";
    r.kind = static_cast<FileKind>(rng() % 3);
    r.deleted = rng() % 4 == 0;
    r.mtime_ns = static_cast<std::int64_t>(rng());
    r.mode = static_cast<std::uint32_t>(rng() % 010000);
    const int entries = static_cast<int>(rng() % 4);
    for (int i = 0; i < entries; ++i) r.version.increment(ShortId{rng()});
    r.sequence = Sequence{static_cast<std::int64_t>(rng() >> (rng() % 63 + 1))};
    r.modified_by = ShortId{rng()};
    if (r.kind == FileKind::symlink && !r.deleted) {
        r.symlink_target = random_text(rng, 1000) + "t";
        r.size = r.symlink_target.size();
    }
    if (r.kind == FileKind::file && !r.deleted) {
        if (rng() % 3 == 0) {
            ChunkDelta d;
            for (auto& b : d.base.bytes) b = static_cast<std::uint8_t>(rng());
            const int runs = static_cast<int>(rng() % 5);
            for (int i = 0; i < runs; ++i) {
                DeltaRun run{static_cast<std::uint32_t>(rng() % 100000),
                             static_cast<std::uint32_t>(rng() % 1000), {}};
                const int inserts = static_cast<int>(rng() % 3);
                for (int k = 0; k < inserts; ++k) run.insert.push_back(random_chunk(rng));
                d.runs.push_back(std::move(run));
            }
            w.delta = std::move(d);
            r.size = rng();
        } else {
            const int chunks = static_cast<int>(rng() % 6);
            for (int i = 0; i < chunks; ++i) {
                r.chunks.push_back(random_chunk(rng));
                r.size += r.chunks.back().size;
            }
        }
    }
    return w;
}

}  // namespace

TEST_CASE("random index updates round-trip exactly", "[messages]") {
    std::mt19937_64 rng(4);
    for (int round = 0; round < 200; ++round) {
        IndexUpdate update{random_text(rng, 64), rng(), Sequence{static_cast<std::int64_t>(rng() >> 1)}, {}};
        const int records = static_cast<int>(rng() % 20);
        for (int i = 0; i < records; ++i) update.records.push_back(random_record(rng));
        const Bytes bytes = encode(update);
        auto decoded = decode(bytes);
        REQUIRE(decoded);
        REQUIRE(std::holds_alternative<IndexUpdate>(*decoded));
        CHECK(std::get<IndexUpdate>(*decoded) == update);
        CHECK(encode(*decoded) == bytes);
    }
}

TEST_CASE("other messages round-trip with values at their limits", "[messages]") {
    const std::string long_text(kLimits.max_string, 'n');
    std::vector<Message> messages;
    messages.push_back(Request{0xffffffff, long_text, filled_hash(0xee), kMaxChunkSize});
    messages.push_back(Request{0, "", filled_hash(0), 1});
    messages.push_back(Response{7, ResponseCode::ok, true, std::string(kMaxChunkSize, 'z')});
    messages.push_back(Response{8, ResponseCode::error, false, ""});
    messages.push_back(ClusterConfig{long_text, {}, {}, {FolderState{"f", ~0ull, ~0ull, Sequence{INT64_MAX}}}});
    messages.push_back(Close{""});
    messages.push_back(Close{"caf\xc3\xa9"});
    messages.push_back(ResendRequest{"f", std::vector<std::string>(1000, "p")});
    for (const Message& m : messages) {
        INFO(message_type_name(message_type(m)));
        const Bytes bytes = encode(m);
        auto decoded = decode(bytes);
        REQUIRE(decoded);
        CHECK(*decoded == m);
    }
}

TEST_CASE("every truncation of a valid message is refused", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        const Bytes full = from_hex(g.hex);
        for (std::size_t n = 0; n < full.size(); ++n) {
            INFO("first " << n << " bytes");
            CHECK(!decode(std::span(full.data(), n)));
        }
    }
}

TEST_CASE("trailing bytes are refused", "[messages]") {
    for (const Golden& g : golden_vectors()) {
        INFO(g.name);
        Bytes bytes = from_hex(g.hex);
        bytes.push_back(0xc0);
        CHECK_THAT(decode_error(bytes), Catch::Contains("1 trailing bytes"));
        bytes.push_back(0x00);
        CHECK_THAT(decode_error(bytes), Catch::Contains("2 trailing bytes"));
    }
}

TEST_CASE("a message that is not a tagged array of the right length is refused", "[messages]") {
    CHECK_THAT(decode_error({}), Catch::Contains("truncated"));
    CHECK_THAT(decode_error({0x90}), Catch::Contains("no type tag"));
    CHECK_THAT(decode_error({0x81, 0x01, 0x02}), Catch::Contains("expected an array, found a map"));
    CHECK_THAT(decode_error({0x05}), Catch::Contains("expected an array"));
    CHECK_THAT(decode_error({0x91, 0x00}), Catch::Contains("unknown message type 0"));
    CHECK_THAT(decode_error({0x91, 0x0a}), Catch::Contains("unknown message type 10"));
    CHECK_THAT(decode_error({0x91, 0xa1, 0x05}), Catch::Contains("type: expected a non-negative integer, found a str"));
    CHECK_THAT(decode_error({0x92, 0x05, 0xc0}), Catch::Contains("Ping message: has 2 elements, expected 1"));
    CHECK_THAT(decode_error({0x91, 0x06}), Catch::Contains("Close message: has 1 elements, expected 2"));
    CHECK_THAT(decode_error({0x93, 0x06, 0xa0, 0xa0}), Catch::Contains("Close message: has 3 elements"));
}

TEST_CASE("wrong msgpack types are refused with the message and field named", "[messages]") {
    // Request with a str id.
    CHECK_THAT(decode_error(Builder().array(5).uint(3).str("1").str("docs").bin(std::string(32, 'h')).uint(5).bytes()),
               Catch::Contains("malformed Request message: id: expected a non-negative integer, found a str"));
    // Request with a str hash.
    CHECK_THAT(decode_error(Builder().array(5).uint(3).uint(1).str("docs").str(std::string(32, 'h')).uint(5).bytes()),
               Catch::Contains("Request message: hash: expected a bin, found a str"));
    // Response with an integer for `compressed`.
    CHECK_THAT(decode_error(Builder().array(5).uint(4).uint(1).uint(0).uint(0).bin("x").bytes()),
               Catch::Contains("Response message: compressed: expected a bool"));
    // Close with a bin reason.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).bin("bye").bytes()),
               Catch::Contains("Close message: reason: expected a str, found a bin"));
    // A float where an integer goes.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xcb, 0, 0, 0, 0, 0, 0, 0, 0}).bytes()),
               Catch::Contains("found a float"));
    // An ext and the never-used byte.
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xd4, 1, 1}).bytes()), Catch::Contains("found an ext"));
    CHECK_THAT(decode_error(Builder().array(2).uint(6).raw({0xc1}).bytes()), Catch::Contains("never-used byte"));
    // ClusterConfig whose folders are maps.
    CHECK_THAT(decode_error(Builder().array(5).uint(1).str("n").array(0).array(0).array(1).raw({0x80, 0xc0, 0xc0, 0xc0, 0xc0}).bytes()),
               Catch::Contains("ClusterConfig message: folders[0]: expected an array, found a map"));
    // A record path given as bin.
    RawRecord r;
    Bytes bytes = index_update_with(r);
    REQUIRE(decode_error(bytes).empty());
    REQUIRE(bytes[11] == 0xa1);  // the path "f"
    bytes[11] = 0xc4;           // becomes a bin8 of length 'f'
    CHECK_THAT(decode_error(bytes), Catch::Contains("IndexUpdate message: records[0].path: expected a str, found a bin"));
}

TEST_CASE("values outside their ranges are refused", "[messages]") {
    const auto request = [](std::uint64_t size, std::size_t hash_bytes) {
        return Builder().array(5).uint(3).uint(1).str("docs").bin(std::string(hash_bytes, 'h')).uint(size).bytes();
    };
    CHECK(decode_error(request(1, 32)).empty());
    CHECK(decode_error(request(kMaxChunkSize, 32)).empty());
    CHECK_THAT(decode_error(request(0, 32)), Catch::Contains("Request message: size: 0 is outside 1..16777216"));
    CHECK_THAT(decode_error(request(kMaxChunkSize + 1, 32)), Catch::Contains("Request message: size: 16777217 is above"));
    CHECK_THAT(decode_error(request(1, 31)), Catch::Contains("hash: 31 bytes, expected 32"));
    CHECK_THAT(decode_error(request(1, 33)), Catch::Contains("hash: binary of 33 bytes, above the limit of 32"));
    CHECK_THAT(decode_error(Builder().array(5).uint(3).uint(1ull << 32).str("d").bin(std::string(32, 'h')).uint(1).bytes()),
               Catch::Contains("id: 4294967296 is above the limit of 4294967295"));

    const auto response = [](std::uint64_t code, bool compressed, std::string_view data) {
        return Builder().array(5).uint(4).uint(1).uint(code).boolean(compressed).bin(data).bytes();
    };
    CHECK(decode_error(response(2, false, "")).empty());
    CHECK_THAT(decode_error(response(3, false, "")), Catch::Contains("Response message: code: 3 is above the limit of 2"));
    CHECK_THAT(decode_error(response(0, false, "")), Catch::Contains("data: empty in an ok response"));
    CHECK_THAT(decode_error(response(1, false, "x")), Catch::Contains("data: present in a response that is not ok"));
    CHECK_THAT(decode_error(response(2, true, "")), Catch::Contains("data: present in a response that is not ok"));
    const std::string too_big(kMaxChunkSize + 1, 'z');
    CHECK_THAT(decode_error(response(0, false, too_big)), Catch::Contains("data: binary of 16777217 bytes"));

    CHECK_THAT(decode_error(Builder().array(5).uint(1).str("n").array(0).array(0).array(1)
                                .array(4).str("f").uint(1).uint(0).sint(-1).bytes()),
               Catch::Contains("folders[0].peer_max_sequence: -1 is outside 0.."));
    CHECK_THAT(decode_error(Builder().array(6).uint(8).bin(std::string(31, 's')).bin("c").array(0).array(0).array(0).bytes()),
               Catch::Contains("JoinAccept message: user_seed: 31 bytes, expected 32"));
}

TEST_CASE("user-visible strings must be UTF-8; paths are left to the engine", "[messages]") {
    CHECK_THAT(decode_error(Builder().array(2).uint(7).str("ph\xffne").bytes()),
               Catch::Contains("JoinRequest message: device_name: not valid UTF-8"));
    CHECK_THAT(decode_error(Builder().array(2).uint(6).str("\xc0\xaf").bytes()),
               Catch::Contains("Close message: reason: not valid UTF-8"));
    CHECK_THAT(decode_error(Builder().array(5).uint(1).str("n").array(1).array(2).bin("c").array(1).str("\xed\xa0\x80").array(0).array(0).bytes()),
               Catch::Contains("devices[0].addresses[0]: not valid UTF-8"));
    RawRecord r;
    r.path = "bad\xff";
    CHECK(decode_error(index_update_with(r)).empty());
    CHECK(decode_error(Builder().array(3).uint(9).str("docs").array(1).str("../\xfe").bytes()).empty());
}

TEST_CASE("file records must be consistent", "[messages]") {
    const auto error_of = [](auto change) {
        RawRecord r;
        change(r);
        return decode_error(index_update_with(r));
    };
    CHECK(error_of([](RawRecord&) {}).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 3; }), Catch::Contains("records[0].kind: 3 is above the limit of 2"));
    CHECK_THAT(error_of([](RawRecord& r) { r.mode = 010000; }), Catch::Contains("records[0].mode: 4096 is above the limit of 4095"));
    CHECK_THAT(error_of([](RawRecord& r) { r.sequence = -5; }), Catch::Contains("records[0].sequence: -5 is outside"));
    CHECK_THAT(error_of([](RawRecord& r) { r.deleted = true; }), Catch::Contains("records[0].chunks: a deleted record has no chunks"));
    CHECK_THAT(error_of([](RawRecord& r) { r.deleted = true; r.chunks = ""; }), Catch::Contains("records[0].size: 5 for a deleted record"));
    CHECK(error_of([](RawRecord& r) { r.deleted = true; r.chunks = ""; r.size = 0; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 1; }), Catch::Contains("records[0].chunks: a directory has no chunks"));
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 1; r.chunks = ""; }), Catch::Contains("records[0].size: 5 for a directory"));
    CHECK_THAT(error_of([](RawRecord& r) { r.kind = 2; }), Catch::Contains("records[0].chunks: a symlink has no chunks"));
    CHECK(error_of([](RawRecord& r) { r.kind = 2; r.chunks = ""; r.target = "x"; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.target = "x"; }), Catch::Contains("records[0].symlink_target: set on a record that is not a live symlink"));
    CHECK_THAT(error_of([](RawRecord& r) { r.size = 6; }), Catch::Contains("records[0].size: 6 differs from the chunks' total of 5"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); }), Catch::Contains("records[0].chunks: nil without a delta"));
    CHECK_THAT(error_of([](RawRecord& r) { r.delta = {std::string(16, 'b'), 1}; }), Catch::Contains("records[0].chunks: given together with a delta"));
    CHECK(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(16, 'b'), 1}; }).empty());
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(15, 'b'), 1}; }),
               Catch::Contains("records[0].delta.base: 15 bytes, expected 16"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks.reset(); r.delta = {std::string(16, 'b'), 1}; r.kind = 1; r.size = 0; }),
               Catch::Contains("records[0].delta: only a file that is not deleted has a chunk-list delta"));
    CHECK_THAT(error_of([](RawRecord& r) { r.version = std::string("\x01\x00\x00\x00\x00\x00\x00\x00\x01\x00", 10); }),
               Catch::Contains("records[0].version: version vector"));
    CHECK_THAT(error_of([](RawRecord& r) { r.version = ""; }), Catch::Contains("records[0].version:"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks = std::string(32, 'h') + '\0'; }), Catch::Contains("records[0].chunks: chunk list: chunk 0"));
    CHECK_THAT(error_of([](RawRecord& r) { r.chunks = std::string(31, 'h'); }), Catch::Contains("records[0].chunks: chunk list"));
}

TEST_CASE("non-shortest msgpack forms are refused", "[messages]") {
    // Close{"bye"} with the reason as str8, and JoinRequest's tag as uint8.
    CHECK(decode_error({0x92, 0x06, 0xa3, 'b', 'y', 'e'}).empty());
    CHECK_THAT(decode_error({0x92, 0x06, 0xd9, 0x03, 'b', 'y', 'e'}), Catch::Contains("reason: not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0x92, 0xcc, 0x06, 0xa0}), Catch::Contains("type: not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0xdc, 0x00, 0x02, 0x06, 0xa0}), Catch::Contains("not in msgpack's shortest form"));
    CHECK_THAT(decode_error({0xdd, 0x00, 0x00, 0x00, 0x01, 0x05}), Catch::Contains("not in msgpack's shortest form"));
    // Response data as bin16 of 3 bytes.
    CHECK_THAT(decode_error({0x95, 0x04, 0x01, 0x00, 0xc2, 0xc5, 0x00, 0x03, 'a', 'b', 'c'}),
               Catch::Contains("data: not in msgpack's shortest form"));
    // Request id 200 as uint16, 70000 as uint64.
    const auto request_id = [](std::initializer_list<std::uint8_t> id) {
        return Builder().array(5).uint(3).raw(id).str("d").bin(std::string(32, 'h')).uint(1).bytes();
    };
    CHECK(decode_error(request_id({0xcc, 200})).empty());
    CHECK_THAT(decode_error(request_id({0xcd, 0, 200})), Catch::Contains("id: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(request_id({0xcf, 0, 0, 0, 0, 0, 1, 0x11, 0x70})), Catch::Contains("id: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(request_id({0xd0, 5})), Catch::Contains("id: expected a non-negative integer"));
    // Signed fields: -1 as int8, -100 as int16, 5 as int8 (use the uint forms).
    const auto folder_seq = [](std::initializer_list<std::uint8_t> seq) {
        return Builder().array(5).uint(2).str("d").uint(1).raw(seq).array(0).bytes();
    };
    CHECK_THAT(decode_error(folder_seq({0xd3, 0, 0, 0, 0, 0, 0, 0, 0})), Catch::Contains("last_sequence: not in msgpack's shortest form"));
    CHECK_THAT(decode_error(folder_seq({0xd0, 5})), Catch::Contains("last_sequence: not in msgpack's shortest form"));
    RawRecord r;
    r.mtime = -100;
    Bytes ok = index_update_with(r);
    REQUIRE(decode_error(ok).empty());
    // mtime -100 is int8 0xd0 0x9c; the same value as int16 is not shortest.
    const Bytes needle{0xd0, 0x9c};
    const auto at = std::search(ok.begin(), ok.end(), needle.begin(), needle.end());
    REQUIRE(at != ok.end());
    Bytes wide(ok.begin(), at);
    wide.insert(wide.end(), {0xd1, 0xff, 0x9c});
    wide.insert(wide.end(), at + 2, ok.end());
    CHECK_THAT(decode_error(wide), Catch::Contains("records[0].mtime_ns: not in msgpack's shortest form"));
}

TEST_CASE("every limit is enforced", "[messages]") {
    SECTION("frame size") {
        const Bytes bytes = encode(Close{std::string(100, 'x')});
        Limits limits;
        limits.max_frame = bytes.size();
        CHECK(decode_error(bytes, limits).empty());
        limits.max_frame = bytes.size() - 1;
        CHECK_THAT(decode_error(bytes, limits), Catch::Contains("above the frame limit"));
    }
    SECTION("nesting depth") {
        // A record with a delta nests 6 arrays deep: message, records,
        // record, delta, runs, run.
        RawRecord r;
        r.chunks.reset();
        r.delta = {std::string(16, 'b'), 1};
        const Bytes bytes = index_update_with(r);
        Limits limits;
        limits.max_depth = 6;
        CHECK(decode_error(bytes, limits).empty());
        limits.max_depth = 5;
        CHECK_THAT(decode_error(bytes, limits), Catch::Contains("records[0].delta.runs[0]: nesting deeper than the limit of 5"));
    }
    SECTION("string length") {
        Limits limits;
        limits.max_string = 10;
        CHECK(decode_error(encode(Close{std::string(10, 'x')}), limits).empty());
        CHECK_THAT(decode_error(encode(Close{std::string(11, 'x')}), limits),
                   Catch::Contains("reason: string of 11 bytes, above the limit of 10"));
        CHECK_THAT(decode_error(encode(JoinAccept{{}, std::string(11, 'c'), {}, {}, {}}), limits),
                   Catch::Contains("certificate: binary of 11 bytes, above the limit of 10"));
        CHECK_THAT(decode_error(encode(ResendRequest{"d", {"p", std::string(11, 'p')}}), limits),
                   Catch::Contains("paths[1]: string of 11 bytes"));
    }
    SECTION("array length") {
        Limits limits;
        limits.max_array = 3;
        CHECK(decode_error(encode(ResendRequest{"d", {"a", "b", "c"}}), limits).empty());
        CHECK_THAT(decode_error(encode(ResendRequest{"d", {"a", "b", "c", "d"}}), limits),
                   Catch::Contains("ResendRequest message: paths: 4 elements, above the limit of 3"));
        ClusterConfig config;
        config.revocations.assign(4, "r");
        CHECK_THAT(decode_error(encode(config), limits), Catch::Contains("revocations: 4 elements"));
        config.revocations.clear();
        config.devices.push_back(DeviceInfo{"c", {"a", "b", "c", "d"}});
        CHECK_THAT(decode_error(encode(config), limits), Catch::Contains("devices[0].addresses: 4 elements"));
    }
    SECTION("records per update") {
        IndexUpdate update{"d", 1, Sequence{3}, {}};
        for (int i = 0; i < 3; ++i) {
            update.records.push_back({make_record("p", FileKind::directory, 0, 0, 0755, false, version({{kA, 1}}), i, kA), std::nullopt});
        }
        Limits limits;
        limits.max_records = 3;
        CHECK(decode_error(encode(update), limits).empty());
        limits.max_records = 2;
        CHECK_THAT(decode_error(encode(update), limits), Catch::Contains("IndexUpdate message: records: 3 elements, above the limit of 2"));
        CHECK(kLimits.max_records >= 1000);  // the engine sends up to 1,000
    }
    SECTION("chunks per file") {
        WireRecord w{make_record("f", FileKind::file, 3, 0, 0644, false, version({{kA, 1}}), 1, kA), std::nullopt};
        w.record.chunks.assign(3, ChunkRef{filled_hash(1), 1});
        const IndexUpdate whole{"d", 1, Sequence{1}, {w}};
        Limits limits;
        limits.max_chunks_per_file = 3;
        CHECK(decode_error(encode(whole), limits).empty());
        limits.max_chunks_per_file = 2;
        CHECK_THAT(decode_error(encode(whole), limits), Catch::Contains("records[0].chunks: binary of"));
        // Within the byte bound (11 * 36 = 12 * 33 bytes) but over the count.
        w.record.chunks.assign(12, ChunkRef{filled_hash(1), 1});
        w.record.size = 12;
        limits.max_chunks_per_file = 11;
        CHECK_THAT(decode_error(encode(IndexUpdate{"d", 1, Sequence{1}, {w}}), limits),
                   Catch::Contains("records[0].chunks: 12 chunks, above the limit of 11"));
        limits.max_chunks_per_file = 12;
        CHECK(decode_error(encode(IndexUpdate{"d", 1, Sequence{1}, {w}}), limits).empty());

        WireRecord d{make_record("f", FileKind::file, 3, 0, 0644, false, version({{kA, 1}}), 1, kA), ChunkDelta{}};
        d.delta->runs = {DeltaRun{0, 2, {}}, DeltaRun{5, 0, {ChunkRef{filled_hash(1), 1}}}};
        const IndexUpdate with_delta{"d", 1, Sequence{1}, {d}};
        limits.max_chunks_per_file = 3;
        CHECK(decode_error(encode(with_delta), limits).empty());
        limits.max_chunks_per_file = 2;
        CHECK_THAT(decode_error(encode(with_delta), limits),
                   Catch::Contains("records[0].delta.runs[1]: the result has more than 2 chunks"));
        d.delta->runs = {DeltaRun{0, 0xffffffff, {}}, DeltaRun{0, 0xffffffff, {}}};
        CHECK_THAT(decode_error(encode(IndexUpdate{"d", 1, Sequence{1}, {d}})),
                   Catch::Contains("records[0].delta.runs[0]: the result has more than"));
    }
}

TEST_CASE("hostile lengths fail before anything is allocated", "[messages]") {
    struct Case {
        const char* what;
        Bytes bytes;
        const char* error;
    };
    const std::vector<Case> cases = {
        {"bin32 of 4 GiB in a Response", {0x95, 0x04, 0x01, 0x00, 0xc2, 0xc6, 0xff, 0xff, 0xff, 0xff},
         "data: binary of 4294967295 bytes, above the limit"},
        {"bin32 of 16 MiB with nothing after it", {0x95, 0x04, 0x01, 0x00, 0xc2, 0xc6, 0x01, 0x00, 0x00, 0x00},
         "data: truncated"},
        {"array32 of 4 Gi records", {0x95, 0x02, 0xa1, 'd', 0x01, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff},
         "records: 4294967295 elements, above the limit"},
        {"array16 of 9,999 records in 12 bytes", {0x95, 0x02, 0xa1, 'd', 0x01, 0x01, 0xdc, 0x27, 0x0f, 0x9c, 0xa1, 'p'},
         "records: declares 9999 elements but only 3 bytes follow"},
        {"array32 of 100,000 paths", {0x93, 0x09, 0xa1, 'd', 0xdd, 0x00, 0x01, 0x86, 0xa0},
         "paths: declares 100000 elements but only 0 bytes follow"},
        {"str32 of 4 GiB as a device name", {0x92, 0x07, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},
         "device_name: string of 4294967295 bytes"},
        {"str16 of 60,000 bytes with 1 present", {0x92, 0x07, 0xda, 0xea, 0x60, 'x'},
         "device_name: truncated"},
        {"array32 of 4 Gi elements at the top", {0xdd, 0xff, 0xff, 0xff, 0xff, 0x05},
         "4294967295 elements, above the limit of 16"},
    };
    for (const Case& c : cases) {
        INFO(c.what);
        g_allocated = 0;
        g_counting = true;
        auto decoded = decode(c.bytes);
        g_counting = false;
        REQUIRE(!decoded);
        CHECK_THAT(decoded.error().message, Catch::Contains(c.error));
        // The error message and the reader's small path stack only.
        if (kCountsAllocations) CHECK(g_allocated < 1024);
    }
}

TEST_CASE("the allocation counter sees what decoding allocates", "[messages]") {
    // The counter itself works: a valid message with a 1 MiB chunk allocates it.
    const Bytes bytes = encode(Response{1, ResponseCode::ok, false, std::string(1 << 20, 'x')});
    g_allocated = 0;
    g_counting = true;
    auto decoded = decode(bytes);
    g_counting = false;
    REQUIRE(decoded);
    if (kCountsAllocations) CHECK(g_allocated >= (1u << 20));
}

TEST_CASE("mutated messages never crash and accepted ones re-encode to the same bytes", "[messages]") {
    std::mt19937_64 rng(2026);
    const auto vectors = golden_vectors();
    for (int round = 0; round < 20000; ++round) {
        Bytes bytes = from_hex(vectors[rng() % vectors.size()].hex);
        const int edits = 1 + static_cast<int>(rng() % 3);
        for (int e = 0; e < edits; ++e) {
            const std::size_t at = rng() % bytes.size();
            switch (rng() % 4) {
                case 0: bytes[at] = static_cast<std::uint8_t>(rng()); break;
                case 1: bytes[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8)); break;
                case 2: bytes.erase(bytes.begin() + static_cast<std::ptrdiff_t>(at)); break;
                default: bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
            }
            if (bytes.empty()) bytes.push_back(0x90);
        }
        auto decoded = decode(bytes);
        if (decoded) {
            CHECK(encode(*decoded) == bytes);
        } else {
            CHECK(decoded.error().code == Errc::corrupt);
            CHECK_THAT(decoded.error().message, Catch::StartsWith("malformed "));
        }
    }
}
