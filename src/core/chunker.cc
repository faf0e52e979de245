#include "core/chunker.hh"

#include <algorithm>
#include <bit>
#include <stdexcept>

namespace ferry {
namespace {

// proto/chunking.md, "Gear table": entry i is the (i+1)-th output of
// splitmix64 seeded with the ASCII bytes "ferrycdc" read big-endian.
constexpr std::uint64_t kGearSeed = 0x6665727279636463ULL;

constexpr std::array<std::uint64_t, 256> make_gear() {
    std::array<std::uint64_t, 256> table{};
    std::uint64_t state = kGearSeed;
    for (auto& entry : table) {
        state += 0x9E3779B97F4A7C15ULL;
        std::uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        entry = z ^ (z >> 31);
    }
    return table;
}

constexpr std::array<std::uint64_t, 256> shifted_left(const std::array<std::uint64_t, 256>& in) {
    std::array<std::uint64_t, 256> out{};
    for (std::size_t i = 0; i < in.size(); ++i) out[i] = in[i] << 1;
    return out;
}

constexpr std::array<std::uint64_t, 256> kGear = make_gear();
// For the two-bytes-a-step loop: (fp << 2) + (G[a] << 1) == ((fp << 1) + G[a]) << 1.
constexpr std::array<std::uint64_t, 256> kGearShifted = shifted_left(kGear);

// `bits` ones ending at bit 62. Bit k of the gear fingerprint depends on the
// last k+1 bytes, so high bits see the widest window; bit 63 stays out so
// that the shifted test of the two-byte loop loses no mask bit.
constexpr std::uint64_t top_mask(unsigned bits) {
    return ((std::uint64_t{1} << bits) - 1) << (63 - bits);
}

struct Roll {
    std::size_t used;  // bytes consumed, including the cut byte when cut
    bool cut;
};

// Rolls the fingerprint over bytes p[0] and p[1]. Returns 0 when neither is
// a cut point, else 1 or 2: the cut is after that many bytes. The first
// byte's fingerprint is tested one bit to the left, with the mask shifted
// alike, which saves a shift per pair.
inline unsigned step2(std::uint64_t& fp, const std::uint8_t* p, std::uint64_t mask, std::uint64_t mask_shifted) {
    fp = (fp << 2) + kGearShifted[p[0]];
    if ((fp & mask_shifted) == 0) return 1;
    fp += kGear[p[1]];
    if ((fp & mask) == 0) return 2;
    return 0;
}

// Rolls the fingerprint over data[0, n) and stops after the first byte whose
// fingerprint has all `mask` bits zero. Four bytes per loop turn (two
// steps): the only branches per byte are the cut tests.
inline Roll roll(const std::uint8_t* data, std::size_t n, std::uint64_t mask, std::uint64_t& fp_io) {
    std::uint64_t fp = fp_io;
    const std::uint64_t mask_shifted = mask << 1;
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        if (const unsigned c = step2(fp, data + i, mask, mask_shifted)) return {i + c, true};
        if (const unsigned c = step2(fp, data + i + 2, mask, mask_shifted)) return {i + 2 + c, true};
    }
    for (; i < n; ++i) {
        fp = (fp << 1) + kGear[data[i]];
        if ((fp & mask) == 0) return {i + 1, true};
    }
    fp_io = fp;
    return {i, false};
}

}  // namespace

const std::array<std::uint64_t, 256>& gear_table() { return kGear; }

Chunker::Chunker(ChunkerParams params) : m_params(params) {
    if (params.min_size < 64 || !std::has_single_bit(params.avg_size) ||
        params.min_size >= params.avg_size || params.avg_size >= params.max_size ||
        params.max_size > 16 * 1024 * 1024) {
        throw std::invalid_argument("Chunker: parameters out of range (see chunker.hh)");
    }
    const auto avg_bits = static_cast<unsigned>(std::countr_zero(params.avg_size));
    if (avg_bits < 8) throw std::invalid_argument("Chunker: avg_size below 256");
    m_mask_small = top_mask(avg_bits + 2);
    m_mask_large = top_mask(avg_bits - 2);
}

void Chunker::reset() {
    m_fingerprint = 0;
    m_pending = 0;
}

Chunker::Scan Chunker::scan(std::span<const std::uint8_t> data) {
    const std::size_t n = data.size();
    std::size_t pos = 0;
    const auto end_chunk = [&](std::size_t consumed) {
        reset();
        return Scan{consumed, true};
    };

    // Bytes before min_size are never cut points: skip without hashing.
    if (m_pending < m_params.min_size) {
        const auto skip = static_cast<std::size_t>(
            std::min<std::uint64_t>(m_params.min_size - m_pending, n));
        m_pending += skip;
        pos = skip;
    }
    if (m_pending < m_params.avg_size && pos < n) {
        const auto len = static_cast<std::size_t>(
            std::min<std::uint64_t>(m_params.avg_size - m_pending, n - pos));
        const Roll r = roll(data.data() + pos, len, m_mask_small, m_fingerprint);
        pos += r.used;
        m_pending += r.used;
        if (r.cut) return end_chunk(pos);
    }
    if (m_pending >= m_params.avg_size && pos < n) {
        const auto len = static_cast<std::size_t>(
            std::min<std::uint64_t>(m_params.max_size - m_pending, n - pos));
        const Roll r = roll(data.data() + pos, len, m_mask_large, m_fingerprint);
        pos += r.used;
        m_pending += r.used;
        if (r.cut || m_pending == m_params.max_size) return end_chunk(pos);
    }
    return Scan{n, false};
}

std::vector<std::uint32_t> chunk_sizes(std::span<const std::uint8_t> data, ChunkerParams params) {
    Chunker chunker(params);
    std::vector<std::uint32_t> sizes;
    std::uint64_t chunk_start = 0;
    std::size_t pos = 0;
    while (pos < data.size()) {
        const Chunker::Scan s = chunker.scan(data.subspan(pos));
        pos += s.consumed;
        if (s.cut) {
            sizes.push_back(static_cast<std::uint32_t>(pos - chunk_start));
            chunk_start = pos;
        }
    }
    if (chunker.pending() > 0) sizes.push_back(static_cast<std::uint32_t>(chunker.pending()));
    return sizes;
}

}  // namespace ferry
