// The golden vectors of proto/messages.md (see messages_test_util.hh).
#include "messages_test_util.hh"

namespace ferry::message_test {

using namespace ferry::wire;

namespace {

DeviceInfo laptop_device() { return DeviceInfo{"\x01\x02\x03", {"192.0.2.1:22000"}}; }

// An illustrative relay URL (its id is not a valid device id: the codec
// does not check URL syntax).
constexpr const char* kRelayUrl =
    "relay://relay.example.org:22067#MFRGGZD-EMFRGGZ-DSMFRGG-ZDEMFRA-GGZDEMF-RGGZDEM-FRGGZDE-MFRGGZA";

}  // namespace

// proto/messages.md, "Golden vectors": computed independently of this codec
// (Python's msgpack 1.0.3, packb(..., use_bin_type=True), with the version
// vector and chunk list bytes built by hand from their definitions).
std::vector<Golden> golden_vectors() {
    std::vector<Golden> out;
    out.push_back(
        {"ClusterConfig",
         ClusterConfig{"laptop",
                       {laptop_device()},
                       {"\xaa\xbb"},
                       {FolderState{"docs", 0x0123456789abcdef, 42, Sequence{300}}},
                       {RelayEntry{kRelayUrl, false, 1700000000000000000},
                        RelayEntry{"relay://192.0.2.7:22067#OLD", true, 1700000100000000000}}},
         "9601a66c6170746f709192c40301020391af3139322e302e322e313a323230303091c402aabb9194a464"
         "6f6373cf0123456789abcdef2acd012c9293d95f72656c61793a2f2f72656c61792e6578616d706c652e"
         "6f72673a3232303637234d465247475a442d454d465247475a2d44534d465247472d5a44454d4652412d"
         "47475a44454d462d5247475a44454d2d465247475a44452d4d465247475a41c2cf17979cfe362a000093"
         "bb72656c61793a2f2f3139322e302e322e373a3232303637234f4c44c3cf17979d157ea0e800"});

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
    for (Golden& g : relay_golden_vectors()) out.push_back(std::move(g));
    return out;
}

}  // namespace ferry::message_test
