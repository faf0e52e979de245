// The message codec (net/messages.hh) against its limits: each limit is
// enforced, and a hostile length is refused before anything is allocated.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <new>

#include "messages_test_util.hh"
#include "net/messages.hh"

using namespace ferry;
using namespace ferry::message_test;
using namespace ferry::wire;

// Counts the bytes this thread allocates while `g_counting` is set, so that
// a test can show a hostile length is refused before anything is allocated.
// Not under AddressSanitizer: it owns operator new, and memory allocated by
// its operator new inside libstdc++ would come back to this free().
// This replaces operator new for the whole test_net executable, so it is
// defined here and nowhere else.
// GCC says __SANITIZE_ADDRESS__, clang __has_feature(address_sanitizer).
#if defined(__SANITIZE_ADDRESS__)
#define FERRY_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FERRY_TEST_ASAN 1
#endif
#endif

namespace {
thread_local bool g_counting = false;
thread_local std::size_t g_allocated = 0;
#ifdef FERRY_TEST_ASAN
constexpr bool kCountsAllocations = false;
#else
constexpr bool kCountsAllocations = true;
#endif
}  // namespace

#ifndef FERRY_TEST_ASAN
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
        {"array16 of 4,096 chunk ids in ChunkHave with 3 bytes", {0x93, 0x0d, 0x01, 0xdc, 0x10, 0x00, 0xc4, 0x20, 0x5a},
         "chunks: declares 4096 elements but only 3 bytes follow"},
        {"array16 of 4,096 present flags with 1 byte", {0x93, 0x13, 0x01, 0xdc, 0x10, 0x00, 0xc3},
         "present: declares 4096 elements but only 1 bytes follow"},
        {"array32 of 100,000 mailbox entries", {0x94, 0x15, 0x01, 0xdd, 0x00, 0x01, 0x86, 0xa0, 0xc3},
         "entries: declares 100000 elements but only 1 bytes follow"},
        {"bin32 of 16 MiB as a mailbox payload with nothing after it",
         Builder().array(7).uint(15).uint(1).bin(std::string(16, 'i')).array(1).bin(std::string(32, 'k'))
             .raw({0xc6, 0x01, 0x00, 0x00, 0x00}).bytes(),
         "payload: truncated"},
        {"bin32 of 4 GiB as sealed chunk data",
         Builder().array(3).uint(12).uint(1).array(1).array(2).bin(std::string(32, 'c'))
             .raw({0xc6, 0xff, 0xff, 0xff, 0xff}).bytes(),
         "chunks[0].data: binary of 4294967295 bytes, above the limit of 266240"},
        {"array16 of 64 chunks to put with 3 bytes", {0x93, 0x0c, 0x01, 0xdc, 0x00, 0x40, 0x92, 0xc4, 0x20},
         "chunks: declares 64 elements but only 3 bytes follow"},
        {"array16 of 16 entries of ChunkData with 2 bytes", {0x94, 0x14, 0x01, 0x00, 0xdc, 0x00, 0x10, 0xc4, 0x00},
         "chunks: declares 16 elements but only 2 bytes follow"},
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
