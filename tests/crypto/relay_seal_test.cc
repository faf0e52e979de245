// Chunks sealed for the relay (crypto/relay_seal.hh): proto/relay_sealing.md's
// vectors, round trips at every size class, the padding buckets, and sealed
// chunks a relay or a broken device could hand back.
#include "crypto/relay_seal.hh"

#include <bit>
#include <random>
#include <set>
#include <stdexcept>

#include <catch2/catch.hpp>
#include <zstd.h>

#include "core/chunk_hash.hh"
#include "crypto_test_util.hh"
#include "relay_seal_util.hh"

using namespace ferry;
using namespace ferry::test;
using crypto_detail::padme_size;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes text_like(std::size_t size, std::uint64_t seed) {
    static constexpr std::string_view words[] = {"chunk ", "relay ", "folder ",   "sealed ",
                                                 "the ",   "of ",    "padding\n", "a "};
    std::mt19937_64 rng(seed);
    Bytes out;
    while (out.size() < size) {
        const auto w = words[rng() % std::size(words)];
        out.insert(out.end(), w.begin(), w.end());
    }
    out.resize(size);
    return out;
}

Bytes random_bytes(std::size_t size, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    Bytes out(size);
    for (auto& b : out) b = static_cast<std::uint8_t>(rng());
    return out;
}

FolderRelayKeys keys_for(std::string_view folder) {
    const KeyPair user = key_from(0x00);
    const auto folder_key = derive_folder_key(user, folder);
    return FolderRelayKeys(folder_key);
}

// A sealed chunk of `plaintext` (proto's P) under the folder's keys, made by hand.
std::string hand_sealed(const FolderRelayKeys& keys, const ChunkHash& hash,
                        const std::string& plaintext) {
    return seal_by_hand(keys.seal_key(), keys.chunk_id(hash), bytes_of(plaintext));
}

Bytes to_bytes(const std::string& s) {
    return Bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("relay keys and chunk ids match proto/relay_sealing.md's vectors", "[relay_seal]") {
    // Computed independently: Python hashlib.blake2b and a BLAKE3 written from
    // the specification (checked against BLAKE3's official vectors).
    const auto keys = keys_for("photos");
    CHECK(hex(keys.id_key()) == "add666b62b9f283cdfaea45272f0f693f44ce62a0a0215ca83866957c8f2f30c");
    CHECK(hex(keys.seal_key()) ==
          "4e419c62949de906a0644501a5062196a98194d7fc09443ec5712df16d88ac8b");
    const std::string abc = "abc";
    const ChunkHash hash = hash_chunk(bytes_of(abc));
    CHECK(hex(keys.chunk_id(hash)) ==
          "890b58229c3416cf610c5af0c4e6cb4459907d71f33e7a9d95c9f9fb266f61d1");
}

TEST_CASE("chunk ids are stable per folder and unrelated across folders", "[relay_seal]") {
    const auto photos = keys_for("photos");
    const auto photos_again = keys_for("photos");
    const auto music = keys_for("music");
    const ChunkHash a = hash_chunk(random_bytes(100, 1));
    const ChunkHash b = hash_chunk(random_bytes(100, 2));
    CHECK(photos.chunk_id(a) == photos_again.chunk_id(a));
    CHECK(photos.chunk_id(a) != photos.chunk_id(b));
    CHECK(photos.chunk_id(a) != music.chunk_id(a));
    CHECK(photos.chunk_id(a) != a.bytes);
}

TEST_CASE("Padme sizes: the table, the overhead bound and few sizes per power of two",
          "[relay_seal]") {
    const std::vector<std::pair<std::size_t, std::size_t>> table = {
        {0, 0},           {1, 1},           {2, 2},          {9, 10},        {100, 104},
        {129, 144},       {1000, 1024},     {4097, 4352},    {65536, 65536}, {65537, 67584},
        {100000, 100352}, {262143, 262144}, {262144, 262144}};
    for (const auto& [n, padded] : table) {
        INFO(n);
        CHECK(padme_size(n) == padded);
    }
    std::size_t previous = 0;
    std::set<std::size_t> sizes_in_power;
    std::size_t power = 2;
    for (std::size_t n = 2; n <= (std::size_t{1} << 20); ++n) {
        const std::size_t p = padme_size(n);
        REQUIRE(p >= n);
        REQUIRE(p >= previous);                   // monotonic
        REQUIRE(padme_size(p) == p);              // a padded size is its own bucket
        REQUIRE((p - n) * 129 <= 15 * n);         // at most 15/129 = 11.6 %
        if (n >= 256) REQUIRE((p - n) * 16 < n);  // below 1/16 from 256 bytes on
        previous = p;
        if (n == 2 * power) {
            // 2^S sizes at most in [2^E, 2^(E+1)), S = floor(log2 E) + 1 (the
            // top of the range also pads to 2^(E+1), the next range's first).
            const int e = std::bit_width(power) - 1;
            REQUIRE(sizes_in_power.size() <= (std::size_t{1} << std::bit_width(unsigned(e))));
            sizes_in_power.clear();
            power = n;
        }
        if (p < 2 * power) sizes_in_power.insert(p);
    }
    // The cap: a body never pads past it (Padmé's next size here is 16 MiB).
    constexpr std::size_t cap = (16u << 20) - 45;
    constexpr std::size_t below = (16u << 20) - (256u << 10);  // the bucket below 16 MiB
    CHECK(crypto_detail::padded_body_size(below + 1, cap) == cap);
    CHECK(crypto_detail::padded_body_size(below, cap) == below);
    CHECK(crypto_detail::padded_body_size(cap, cap) == cap);
    CHECK(crypto_detail::padded_body_size(1000, 1 << 20) == 1024);
}

TEST_CASE("chunks of 1 B to 256 KiB come back unchanged, padded to their bucket", "[relay_seal]") {
    const auto keys = keys_for("photos");
    for (std::size_t size :
         {std::size_t{1}, std::size_t{2}, std::size_t{17}, std::size_t{100}, std::size_t{4095},
          std::size_t{4096}, std::size_t{16384}, std::size_t{65536}, std::size_t{100000},
          std::size_t{262143}, kMaxRelayChunk}) {
        for (const bool compressible : {false, true}) {
            INFO("size " << size << (compressible ? " compressible" : " random"));
            const Bytes data = compressible ? text_like(size, size) : random_bytes(size, size);
            const ChunkHash hash = hash_chunk(data);
            const std::string sealed = keys.seal_chunk(hash, data);
            CHECK(sealed.size() <= kMaxSealedChunkSize);
            CHECK(sealed.size() <= wire::kMaxSealedChunk);

            // The documented layout, opened by hand.
            const std::string plain =
                open_by_hand(keys.seal_key(), keys.chunk_id(hash), bytes_of(sealed));
            REQUIRE(plain.size() == sealed.size() - 40);
            const auto* p = reinterpret_cast<const std::uint8_t*>(plain.data());
            const std::size_t length = (std::size_t{p[1]} << 24) | (std::size_t{p[2]} << 16) |
                                       (std::size_t{p[3]} << 8) | p[4];
            CHECK(plain.size() == 5 + padme_size(length));
            CHECK(plain.find_first_not_of('\0', 5 + length) == std::string::npos);
            if (p[0] == 1) {
                CHECK(length < size);
                CHECK(compressible);  // random bytes never shrink
            } else {
                CHECK(p[0] == 0);
                CHECK(length == size);
                CHECK(sealed.size() == 45 + padme_size(size));
            }
            if (compressible && size >= 4096) CHECK(p[0] == 1);

            const auto opened = keys.open_chunk(hash, bytes_of(sealed), size);
            REQUIRE(opened);
            CHECK(to_bytes(*opened) == data);
        }
    }
}

TEST_CASE("each sealing of a chunk has a fresh nonce, and a chunk sealed by hand opens",
          "[relay_seal]") {
    const auto keys = keys_for("photos");
    const Bytes data = random_bytes(3000, 9);
    const ChunkHash hash = hash_chunk(data);
    const std::string a = keys.seal_chunk(hash, data);
    const std::string b = keys.seal_chunk(hash, data);
    CHECK(a != b);
    CHECK(a.substr(0, 24) != b.substr(0, 24));
    CHECK(keys.open_chunk(hash, bytes_of(b), data.size()));

    const std::string by_hand =
        hand_sealed(keys, hash, padded_plaintext(0, data, padme_size(3000) - 3000));
    const auto opened = keys.open_chunk(hash, bytes_of(by_hand), data.size());
    REQUIRE(opened);
    CHECK(to_bytes(*opened) == data);
}

TEST_CASE("any changed, missing or added byte of a sealed chunk is refused", "[relay_seal]") {
    const auto keys = keys_for("photos");
    for (const Bytes& data : {random_bytes(200, 3), text_like(20000, 4)}) {
        const ChunkHash hash = hash_chunk(data);
        const std::string sealed = keys.seal_chunk(hash, data);
        for (std::size_t i = 0; i < sealed.size(); i += (sealed.size() < 1000 ? 1 : 97)) {
            for (const std::uint8_t bit : {0x01, 0x80}) {
                std::string bad = sealed;
                bad[i] = static_cast<char>(bad[i] ^ bit);
                const auto r = keys.open_chunk(hash, bytes_of(bad), data.size());
                REQUIRE(!r);
                REQUIRE(r.error().code == Errc::corrupt);
            }
        }
        for (const std::size_t keep : {std::size_t{0}, std::size_t{44}, sealed.size() - 1}) {
            CHECK(!keys.open_chunk(hash, bytes_of(sealed.substr(0, keep)), data.size()));
        }
        CHECK(!keys.open_chunk(hash, bytes_of(sealed + '\0'), data.size()));
    }
}

TEST_CASE("a sealed chunk opens only under its own hash, folder and size", "[relay_seal]") {
    const auto photos = keys_for("photos");
    const Bytes data = text_like(50000, 5);
    const ChunkHash hash = hash_chunk(data);
    const std::string sealed = photos.seal_chunk(hash, data);

    const ChunkHash other = hash_chunk(random_bytes(10, 6));
    const auto wrong_hash = photos.open_chunk(other, bytes_of(sealed), data.size());
    REQUIRE(!wrong_hash);
    CHECK(wrong_hash.error().code == Errc::corrupt);
    CHECK_THAT(wrong_hash.error().message,
               Catch::Contains("relay chunk " + other.hex()) && Catch::Contains("authenticate"));

    const auto other_folder = keys_for("music").open_chunk(hash, bytes_of(sealed), data.size());
    REQUIRE(!other_folder);
    CHECK(other_folder.error().code == Errc::corrupt);

    const KeyPair stranger = key_from(0x40);
    const FolderRelayKeys strangers(derive_folder_key(stranger, "photos"));
    CHECK(!strangers.open_chunk(hash, bytes_of(sealed), data.size()));

    // Compressed: zstd refuses another declared size. Stored: the length.
    CHECK_THAT(photos.open_chunk(hash, bytes_of(sealed), data.size() - 1).error().message,
               Catch::Contains("expected 49999"));
    const Bytes raw = random_bytes(5000, 7);
    const ChunkHash raw_hash = hash_chunk(raw);
    const std::string stored = photos.seal_chunk(raw_hash, raw);
    CHECK_THAT(photos.open_chunk(raw_hash, bytes_of(stored), 5001).error().message,
               Catch::Contains("holds 5000 bytes, expected 5001"));
    CHECK_THAT(photos.open_chunk(raw_hash, bytes_of(stored), 0).error().message,
               Catch::Contains("outside 1..262144"));
    CHECK_THAT(photos.open_chunk(raw_hash, bytes_of(stored), kMaxRelayChunk + 1).error().message,
               Catch::Contains("outside 1..262144"));
}

TEST_CASE("what a device with the folder key could seal wrongly is refused", "[relay_seal]") {
    const auto keys = keys_for("photos");
    const Bytes data = random_bytes(1000, 8);
    const ChunkHash hash = hash_chunk(data);
    const std::size_t pad = padme_size(1000) - 1000;
    const auto refused = [&](const std::string& plaintext, std::size_t expected,
                             const std::string& why) {
        const auto r =
            keys.open_chunk(hash, bytes_of(hand_sealed(keys, hash, plaintext)), expected);
        REQUIRE(!r);
        CHECK(r.error().code == Errc::corrupt);
        CHECK_THAT(r.error().message, Catch::Contains(why));
    };
    SECTION("contents that are not the hash's open: the puller refuses them") {
        // Hashing is the caller's (hostile_peer_test: "wrong data" from any source).
        Bytes other = data;
        other[500] ^= 1;
        const auto opened = keys.open_chunk(
            hash, bytes_of(hand_sealed(keys, hash, padded_plaintext(0, other, pad))), 1000);
        REQUIRE(opened);
        CHECK(Bytes(opened->begin(), opened->end()) == other);
    }
    SECTION("padding that is not zero, too short or too long") {
        refused(padded_plaintext(0, data, pad, 1), 1000, "not zero");
        refused(padded_plaintext(0, data, pad - 1), 1000, "do not pad to");
        refused(padded_plaintext(0, data, pad + 1), 1000, "do not pad to");
        refused(padded_plaintext(0, data, 0), 1000, "do not pad to");
    }
    SECTION("unknown flags") {
        refused(padded_plaintext(2, data, pad), 1000, "unknown flags 2");
        refused(padded_plaintext(0x81, data, pad), 1000, "unknown flags 129");
    }
    SECTION("a header longer than the plaintext") {
        std::string plaintext = padded_plaintext(0, data, pad);
        plaintext[1] = 0x7f;
        refused(plaintext, 1000, "do not pad to");
    }
    SECTION("a decompression bomb: more than the expected size") {
        // 256 KiB of zeros in a frame that declares its size, opened as a 1000-byte chunk.
        const Bytes zeros(kMaxRelayChunk, 0);
        std::string frame(ZSTD_compressBound(zeros.size()), '\0');
        frame.resize(ZSTD_compress(frame.data(), frame.size(), zeros.data(), zeros.size(), 1));
        const auto body = bytes_of(frame);
        refused(padded_plaintext(1, body, padme_size(body.size()) - body.size()), 1000,
                "declares 262144 bytes, expected 1000");
    }
    SECTION("a zstd frame that does not declare its size") {
        ZSTD_CCtx* ctx = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(ctx, ZSTD_c_contentSizeFlag, 0);
        const Bytes text = text_like(1000, 10);
        std::string frame(ZSTD_compressBound(text.size()), '\0');
        frame.resize(ZSTD_compress2(ctx, frame.data(), frame.size(), text.data(), text.size()));
        ZSTD_freeCCtx(ctx);
        const auto body = bytes_of(frame);
        const ChunkHash text_hash = hash_chunk(text);
        const auto r = keys.open_chunk(
            text_hash,
            bytes_of(hand_sealed(keys, text_hash,
                                 padded_plaintext(1, body, padme_size(body.size()) - body.size()))),
            1000);
        REQUIRE(!r);
        CHECK_THAT(r.error().message, Catch::Contains("does not declare its size"));
    }
}

TEST_CASE("a sealed chunk over the largest size is refused before it is opened", "[relay_seal]") {
    const auto keys = keys_for("photos");
    const ChunkHash hash = hash_chunk(random_bytes(10, 11));
    const std::string huge(kMaxSealedChunkSize + 1, 'x');
    const auto r = keys.open_chunk(hash, bytes_of(huge), 10);
    REQUIRE(!r);
    CHECK_THAT(r.error().message, Catch::Contains("262190 sealed bytes, outside 45..262189"));
}

TEST_CASE("sealing an empty or oversized chunk is a caller's bug", "[relay_seal]") {
    const auto keys = keys_for("photos");
    CHECK_THROWS_AS(keys.seal_chunk(ChunkHash{}, Bytes{}), std::invalid_argument);
    CHECK_THROWS_AS(keys.seal_chunk(ChunkHash{}, Bytes(kMaxRelayChunk + 1, 1)),
                    std::invalid_argument);
}

TEST_CASE("moved-from relay keys are wiped", "[relay_seal]") {
    auto keys = keys_for("photos");
    const std::string id_key = hex(keys.id_key());
    FolderRelayKeys moved(std::move(keys));
    CHECK(hex(moved.id_key()) == id_key);
    CHECK(hex(keys.id_key()) == std::string(64, '0'));    // NOLINT(bugprone-use-after-move)
    CHECK(hex(keys.seal_key()) == std::string(64, '0'));  // NOLINT(bugprone-use-after-move)
}
