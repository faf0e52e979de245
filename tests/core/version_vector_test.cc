#include "core/version_vector.hh"

#include <random>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/leb128.hh"

using namespace ferry;

namespace {

VersionVector make(std::initializer_list<std::pair<std::uint64_t, int>> counts) {
    VersionVector v;
    for (const auto& [id, n] : counts) {
        for (int i = 0; i < n; ++i) v.increment(ShortId{id});
    }
    return v;
}

std::vector<std::uint8_t> bytes_of(const std::string& s) {
    return {s.begin(), s.end()};
}

Result<VersionVector> decode_str(const std::string& s) {
    const auto b = bytes_of(s);
    return VersionVector::decode(b);
}

// Hand-built encoding, so tests can state counters no sequence of
// increments reaches and inputs encode() would never produce.
std::string encoded(std::initializer_list<std::pair<std::uint64_t, std::uint64_t>> entries) {
    std::string out;
    append_leb128(out, entries.size());
    for (const auto& [id, counter] : entries) {
        for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(id >> shift));
        append_leb128(out, counter);
    }
    return out;
}

// The definition compare() must agree with: a >= b iff every counter of a
// is at least b's.
bool dominates(const VersionVector& a, const VersionVector& b) {
    for (const auto& e : b.entries()) {
        if (a.counter(e.id) < e.counter) return false;
    }
    return true;
}

Ordering reference_compare(const VersionVector& a, const VersionVector& b) {
    const bool ge = dominates(a, b);
    const bool le = dominates(b, a);
    if (ge && le) return Ordering::equal;
    if (ge) return Ordering::newer;
    if (le) return Ordering::older;
    return Ordering::concurrent;
}

bool at_least(const VersionVector& a, const VersionVector& b) {
    const Ordering o = a.compare(b);
    return o == Ordering::newer || o == Ordering::equal;
}

Ordering mirrored(Ordering o) {
    switch (o) {
        case Ordering::newer: return Ordering::older;
        case Ordering::older: return Ordering::newer;
        default: return o;
    }
}

// Random vectors over a small id pool, so that equal, ordered and
// concurrent pairs all occur often.
struct Gen {
    std::mt19937_64 rng{20261125};

    VersionVector vector(int max_ids = 5, int max_count = 3) {
        VersionVector v;
        const int ids = static_cast<int>(rng() % static_cast<std::uint64_t>(max_ids + 1));
        for (int i = 0; i < ids; ++i) bump(v, 1 + static_cast<int>(rng() % max_count));
        return v;
    }
    void bump(VersionVector& v, int times) {
        const ShortId id{rng() % 7 * 0x1111111111111111ull};
        for (int i = 0; i < times; ++i) v.increment(id);
    }
    VersionVector above(VersionVector v) {
        const int steps = static_cast<int>(rng() % 3);
        for (int i = 0; i < steps; ++i) bump(v, 1);
        return v;
    }
};

}  // namespace

TEST_CASE("version vector: empty vector", "[version_vector]") {
    const VersionVector v;
    CHECK(v.empty());
    CHECK(v.counter(ShortId{1}) == 0);
    CHECK(v.compare(VersionVector{}) == Ordering::equal);
    CHECK(v.to_string().empty());
    CHECK(v.encode() == std::string(1, '\0'));
}

TEST_CASE("version vector: increment keeps entries sorted and counts", "[version_vector]") {
    VersionVector v;
    v.increment(ShortId{30});
    v.increment(ShortId{10});
    v.increment(ShortId{20});
    v.increment(ShortId{10});
    REQUIRE(v.entries().size() == 3);
    CHECK(v.entries()[0] == VersionVector::Entry{ShortId{10}, 2});
    CHECK(v.entries()[1] == VersionVector::Entry{ShortId{20}, 1});
    CHECK(v.entries()[2] == VersionVector::Entry{ShortId{30}, 1});
    CHECK(v.counter(ShortId{10}) == 2);
    CHECK(v.counter(ShortId{15}) == 0);
    CHECK(v.counter(ShortId{31}) == 0);
}

TEST_CASE("version vector: compare table", "[version_vector]") {
    struct Case {
        VersionVector a, b;
        Ordering expected;
    };
    const std::vector<Case> cases = {
        {make({}), make({}), Ordering::equal},
        {make({{1, 1}}), make({}), Ordering::newer},
        {make({}), make({{1, 1}}), Ordering::older},
        {make({{1, 2}}), make({{1, 1}}), Ordering::newer},
        {make({{1, 1}, {2, 1}}), make({{1, 1}, {2, 1}}), Ordering::equal},
        {make({{1, 1}, {2, 1}}), make({{1, 1}}), Ordering::newer},
        {make({{1, 1}}), make({{2, 1}}), Ordering::concurrent},
        {make({{1, 2}, {2, 1}}), make({{1, 1}, {2, 2}}), Ordering::concurrent},
        {make({{1, 2}, {3, 1}}), make({{1, 1}, {2, 1}}), Ordering::concurrent},
        {make({{1, 1}, {2, 1}, {3, 1}}), make({{2, 1}}), Ordering::newer},
        {make({{2, 1}}), make({{1, 1}, {2, 1}, {3, 1}}), Ordering::older},
        {make({{5, 3}}), make({{1, 1}, {5, 3}}), Ordering::older},
    };
    for (std::size_t i = 0; i < cases.size(); ++i) {
        INFO("case " << i << ": " << cases[i].a.to_string() << " vs " << cases[i].b.to_string());
        CHECK(cases[i].a.compare(cases[i].b) == cases[i].expected);
    }
}

TEST_CASE("version vector: merged is the element-wise maximum", "[version_vector]") {
    const auto m = make({{1, 3}, {2, 1}}).merged(make({{2, 4}, {3, 1}}));
    CHECK(m == make({{1, 3}, {2, 4}, {3, 1}}));
    CHECK(make({}).merged(make({{9, 2}})) == make({{9, 2}}));
}

TEST_CASE("version vector: to_string is hex id and counter", "[version_vector]") {
    const auto v = make({{0xa1b2c3d4e5f60718ull, 3}, {0xff, 12}});
    CHECK(v.to_string() == "00000000000000ff:12,a1b2c3d4e5f60718:3");
}

TEST_CASE("version vector: encoding is compact and exact", "[version_vector]") {
    const auto v = make({{0x0102030405060708ull, 1}, {0xffffffffffffffffull, 200}});
    const std::string expected =
        encoded({{0x0102030405060708ull, 1}, {0xffffffffffffffffull, 200}});
    CHECK(v.encode() == expected);
    CHECK(expected == std::string("\x02\x01\x02\x03\x04\x05\x06\x07\x08\x01"
                                  "\xff\xff\xff\xff\xff\xff\xff\xff\xc8\x01",
                                  20));
    const auto back = decode_str(expected);
    REQUIRE(back);
    CHECK(*back == v);
}

TEST_CASE("version vector: large counters round-trip", "[version_vector]") {
    const std::string bytes = encoded({{1, VersionVector::kMaxCounter}, {2, 127}, {3, 128}});
    const auto v = decode_str(bytes);
    REQUIRE(v);
    CHECK(v->counter(ShortId{1}) == VersionVector::kMaxCounter);
    CHECK(v->counter(ShortId{3}) == 128);
    CHECK(v->encode() == bytes);
    VersionVector bumped = *v;
    bumped.increment(ShortId{1});
    CHECK(bumped.counter(ShortId{1}) == VersionVector::kMaxCounter + 1);
    CHECK(bumped.compare(*v) == Ordering::newer);
}

TEST_CASE("version vector: decode refuses malformed input", "[version_vector]") {
    std::string too_many;
    append_leb128(too_many, VersionVector::kMaxEntries + 1);
    std::string huge_count;
    append_leb128(huge_count, UINT64_MAX);
    const std::string ok = encoded({{1, 1}, {2, 300}});
    struct Case {
        const char* name;
        std::string bytes;
        const char* message_part;
    };
    const std::vector<Case> cases = {
        {"nothing", "", "truncated"},
        {"count only", std::string(1, '\x01'), "truncated"},
        {"truncated id", ok.substr(0, 5), "truncated"},
        {"truncated counter", ok.substr(0, ok.size() - 1), "truncated"},
        {"trailing byte", ok + '\0', "trailing"},
        {"unsorted ids", encoded({{2, 1}, {1, 1}}), "unsorted"},
        {"duplicate ids", encoded({{2, 1}, {2, 3}}), "duplicate"},
        {"zero counter", encoded({{1, 0}}), "outside"},
        {"counter over the cap", encoded({{1, VersionVector::kMaxCounter + 1}}), "outside"},
        {"overlong count", std::string("\x80\x00", 2), "overlong"},
        {"overlong counter", encoded({{1, 1}}).substr(0, 9) + std::string("\x81\x00", 2),
         "overlong"},
        {"counter over 64 bits", encoded({{1, 1}}).substr(0, 9) + std::string(9, '\xff') + '\x02',
         "64 bits"},
        {"too many entries", too_many + std::string(9 * (VersionVector::kMaxEntries + 1), '\x01'),
         "limit"},
        {"huge count", huge_count, "limit"},
        {"count beyond the bytes", std::string("\x05", 1) + encoded({{1, 1}}).substr(1),
         "truncated"},
    };
    for (const auto& c : cases) {
        INFO(c.name);
        const auto r = decode_str(c.bytes);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::corrupt);
        CHECK(r.error().message.find("version vector") != std::string::npos);
        CHECK(r.error().message.find(c.message_part) != std::string::npos);
    }
}

TEST_CASE("version vector: decode accepts the largest allowed entry count", "[version_vector]") {
    VersionVector v;
    for (std::uint64_t id = 0; id < VersionVector::kMaxEntries; ++id) v.increment(ShortId{id});
    const std::string bytes = v.encode();
    const auto back = decode_str(bytes);
    REQUIRE(back);
    CHECK(back->entries().size() == VersionVector::kMaxEntries);
}

TEST_CASE("version vector property: compare agrees with the counter-wise definition",
          "[version_vector][property]") {
    Gen gen;
    std::set<Ordering> seen;
    for (int i = 0; i < 5000; ++i) {
        const auto a = gen.vector();
        const auto b = gen.rng() % 4 == 0 ? gen.above(a) : gen.vector();
        const Ordering o = a.compare(b);
        INFO(a.to_string() << " vs " << b.to_string());
        CHECK(o == reference_compare(a, b));
        // Antisymmetry: the reverse comparison mirrors this one.
        CHECK(b.compare(a) == mirrored(o));
        CHECK((o == Ordering::equal) == (a == b));
        seen.insert(o);
    }
    CHECK(seen.size() == 4);  // the generator reaches every outcome
}

TEST_CASE("version vector property: newer is transitive", "[version_vector][property]") {
    Gen gen;
    int chains = 0;
    for (int i = 0; i < 5000; ++i) {
        const auto c = gen.vector();
        const auto b = gen.rng() % 2 ? gen.above(c) : gen.vector();
        const auto a = gen.rng() % 2 ? gen.above(b) : gen.vector();
        if (a.compare(b) == Ordering::newer && b.compare(c) == Ordering::newer) {
            ++chains;
            INFO(a.to_string() << " > " << b.to_string() << " > " << c.to_string());
            CHECK(a.compare(c) == Ordering::newer);
            CHECK(c.compare(a) == Ordering::older);
        }
    }
    CHECK(chains > 500);
}

TEST_CASE("version vector property: merged is the least upper bound",
          "[version_vector][property]") {
    Gen gen;
    int upper_bounds = 0;
    for (int i = 0; i < 5000; ++i) {
        const auto a = gen.vector();
        const auto b = gen.vector();
        const auto m = a.merged(b);
        INFO(a.to_string() << " merged " << b.to_string() << " = " << m.to_string());
        CHECK(at_least(m, a));
        CHECK(at_least(m, b));
        CHECK(m == b.merged(a));
        CHECK(m.merged(m) == m);
        for (std::size_t k = 1; k < m.entries().size(); ++k) {
            CHECK(m.entries()[k - 1].id < m.entries()[k].id);
        }
        // Any upper bound of a and b is at least m: try bounds built above
        // m and random vectors that happen to bound both.
        for (int j = 0; j < 4; ++j) {
            const auto c = j == 0 ? gen.above(m) : gen.vector(6, 4);
            if (at_least(c, a) && at_least(c, b)) {
                ++upper_bounds;
                CHECK(at_least(c, m));
            }
        }
    }
    CHECK(upper_bounds > 5000);
}

TEST_CASE("version vector property: increment makes newer", "[version_vector][property]") {
    Gen gen;
    for (int i = 0; i < 2000; ++i) {
        const auto a = gen.vector();
        auto b = a;
        gen.bump(b, 1);
        INFO(a.to_string() << " -> " << b.to_string());
        CHECK(b.compare(a) == Ordering::newer);
        CHECK(a.compare(b) == Ordering::older);
    }
}

TEST_CASE("version vector property: encode/decode round-trip", "[version_vector][property]") {
    Gen gen;
    for (int i = 0; i < 2000; ++i) {
        const auto a = gen.vector(20, 300);
        const auto back = decode_str(a.encode());
        REQUIRE(back);
        CHECK(*back == a);
    }
}

TEST_CASE("version vector property: decode survives random and mutated bytes",
          "[version_vector][property]") {
    Gen gen;
    int accepted = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string bytes;
        if (i % 2 == 0) {
            const std::size_t n = gen.rng() % 40;
            for (std::size_t k = 0; k < n; ++k) bytes.push_back(static_cast<char>(gen.rng()));
            // A small count makes random input decodable now and then.
            if (!bytes.empty()) bytes[0] = static_cast<char>(bytes[0] & 0x03);
        } else {
            bytes = gen.vector(4, 200).encode();
            const std::size_t flips = 1 + gen.rng() % 2;
            for (std::size_t k = 0; k < flips && !bytes.empty(); ++k) {
                bytes[gen.rng() % bytes.size()] ^= static_cast<char>(1u << (gen.rng() % 8));
            }
            if (gen.rng() % 4 == 0) bytes.resize(gen.rng() % (bytes.size() + 1));
        }
        const auto r = decode_str(bytes);
        if (r) {
            ++accepted;
            // The strict decoder admits one encoding per vector.
            CHECK(r->encode() == bytes);
        } else {
            CHECK(r.error().code == Errc::corrupt);
        }
    }
    CHECK(accepted > 100);
}
