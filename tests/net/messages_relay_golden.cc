// The golden vectors of proto/relay.md (see messages_test_util.hh).
#include "messages_test_util.hh"

namespace ferry::message_test {

using namespace ferry::wire;

namespace {

template <std::size_t N>
std::array<std::uint8_t, N> filled(std::uint8_t byte) {
    std::array<std::uint8_t, N> out;
    out.fill(byte);
    return out;
}

// first, first + 1, ...: message ids and sessions that differ in every byte.
template <std::size_t N>
std::array<std::uint8_t, N> counting(std::uint8_t first) {
    std::array<std::uint8_t, N> out;
    for (std::size_t i = 0; i < N; ++i) out[i] = static_cast<std::uint8_t>(first + i);
    return out;
}

}  // namespace

// proto/relay.md, "Golden vectors": computed independently of this codec
// (Python's msgpack 1.0.3, packb(..., use_bin_type=True)).
std::vector<Golden> relay_golden_vectors() {
    std::vector<Golden> out;
    out.push_back({"RelayHello", RelayHello{"KX7Q-M2PD-93TA", {"\xaa\xbb"}},
                   "930aae4b5837512d4d3250442d3933544191c402aabb"});
    out.push_back({"RelayWelcome", RelayWelcome{"alice", 1048576, 10737418240},
                   "940ba5616c696365ce00100000cf0000000280000000"});
    out.push_back({"ChunkPut", ChunkPut{3, {{filled<32>(0x5a), "\x01\x02\x03\x04"}, {filled<32>(0x5b), "\x05"}}},
                   "930c039292c4205a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5ac4"
                   "040102030492c4205b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b"
                   "c40105"});
    out.push_back({"ChunkHave", ChunkHave{4, {filled<32>(0x5a), filled<32>(0x5b)}},
                   "930d0492c4205a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5ac420"
                   "5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b"});
    out.push_back({"ChunkGet", ChunkGet{5, {filled<32>(0x5a), filled<32>(0x5b)}},
                   "930e0592c4205a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5ac420"
                   "5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b"});
    out.push_back({"MailboxPost", MailboxPost{6, counting<16>(0x00), {filled<32>(0xd1), filled<32>(0xd2)}, "\xc0\xff\xee", {filled<32>(0x5a)}, 86400},
                   "970f06c410000102030405060708090a0b0c0d0e0f92c420d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
                   "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1c420d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2"
                   "d2d2d2d2d2d2d2d2d2d2c403c0ffee91c4205a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"
                   "5a5a5a5a5a5a5a5a5a5ace00015180"});
    out.push_back({"MailboxFetch", MailboxFetch{7, 100, 4194304},
                   "94100764ce00400000"});
    out.push_back({"MailboxAck", MailboxAck{8, {counting<16>(0x00), counting<16>(0x10)}},
                   "93110892c410000102030405060708090a0b0c0d0e0fc410101112131415161718191a1b1c1d1e1f"});
    out.push_back({"RelayReply (ok)", RelayReply{6, RelayCode::ok, "", 1048580, 10737418240},
                   "96120600a0ce00100004cf0000000280000000"});
    out.push_back({"RelayReply (quota)", RelayReply{3, RelayCode::quota_exceeded, "relay full", 10737418000, 10737418240},
                   "96120302aa72656c61792066756c6ccf000000027fffff10cf0000000280000000"});
    out.push_back({"ChunkHaveReply", ChunkHaveReply{4, {true, false}},
                   "93130492c3c2"});
    out.push_back({"ChunkData (ok)", ChunkData{5, RelayCode::ok, {"\x01\x02\x03\x04", ""}},
                   "9414050092c40401020304c400"});
    out.push_back({"ChunkData (not ok)", ChunkData{9, RelayCode::error, {}},
                   "9414090690"});
    MailboxBatch batch{7, {}, true};
    batch.entries.push_back(
        MailboxEntry{counting<16>(0x10), filled<32>(0xd1), 1700000000123456789, false, "\xbe\xef"});
    batch.entries.push_back(
        MailboxEntry{counting<16>(0x20), filled<32>(0xd2), 1702592000000000000, true, ""});
    out.push_back({"MailboxBatch", batch,
                   "9415079295c410101112131415161718191a1b1c1d1e1fc420d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"
                   "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1cf17979cfe3d85cd15c2c402beef95c410202122232425"
                   "262728292a2b2c2d2e2fc420d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2"
                   "d2d2d2d2cf17a0d2673d6c0000c3c400c3"});
    out.push_back({"MailboxNotify", MailboxNotify{},
                   "9116"});
    out.push_back({"ForwardRequest", ForwardRequest{10, filled<32>(0xd2)},
                   "93170ac420d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2d2"});
    out.push_back({"ForwardReply", ForwardReply{10, RelayCode::ok, "", counting<32>(0x40)},
                   "95180a00a0c420404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"});
    out.push_back({"ForwardOffer", ForwardOffer{counting<32>(0x40), filled<32>(0xd1)},
                   "9319c420404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5fc420d1d1"
                   "d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1d1"});
    return out;
}

}  // namespace ferry::message_test
