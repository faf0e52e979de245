// open_chunk() and open_envelope() on what a relay could hand back: the
// input as sealed bytes; the input sealed by hand under the right key as the
// plaintext (so the checks behind the AEAD are reached: header, padding,
// flags, zstd, signature); and valid sealed values with bytes set by the
// input. Never a crash; every failure is corrupt or (a signature)
// permission_denied; what opens has the expected size, and a valid value
// with a byte changed never opens. (A chunk's contents are checked against
// its hash by the puller, not by open_chunk: a key holder can seal anything.)
#include <algorithm>
#include <span>
#include <string>

#include "../crypto/relay_seal_util.hh"
#include "fuzz_target.hh"
#include "relay_seal_fuzz_input.hh"

namespace {

using ferry::Errc;

using ferry::fuzz_relay_seal::bytes_of;
using ferry::fuzz_relay_seal::Fixture;

void open_chunk(const Fixture& f, std::span<const std::uint8_t> sealed, std::size_t expected,
                bool may_open, bool only_the_chunk = false) {
    const auto out = f.keys.open_chunk(f.hash, sealed, expected);
    if (out) {
        FUZZ_CHECK(may_open && out->size() == expected);
        FUZZ_CHECK(!only_the_chunk || *out == f.chunk);
    } else {
        FUZZ_CHECK(out.error().code == Errc::corrupt);
    }
}

void open_envelope(const Fixture& f, std::span<const std::uint8_t> sealed, bool may_open) {
    const auto out = ferry::open_envelope(f.user, f.id, f.recipient, sealed);
    if (out) {
        FUZZ_CHECK(may_open);
        FUZZ_CHECK(out->payload.size() + ferry::kEnvelopeOverhead <= sealed.size());
    } else {
        FUZZ_CHECK(out.error().code == Errc::corrupt ||
                   out.error().code == Errc::permission_denied);
    }
}

// `base` with the input read as (position, value) pairs written over it.
std::string overlay(std::string base, std::span<const std::uint8_t> input) {
    for (std::size_t i = 0; i + 2 < input.size(); i += 3) {
        const std::size_t at = (std::size_t{input[i]} << 8 | input[i + 1]) % base.size();
        base[at] = static_cast<char>(input[i + 2]);
    }
    return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Fixture f;
    if (size < 3) return 0;
    const std::size_t expected = (std::size_t{data[0]} << 10 | std::size_t{data[1]} << 2) + 1;
    const std::span<const std::uint8_t> rest(data + 2, size - 2);

    open_chunk(f, rest, expected, false);
    open_envelope(f, rest, false);

    // The input as the plaintext: it opens only if well formed.
    const std::string chunk_plain =
        ferry::test::seal_by_hand(f.keys.seal_key(), f.keys.chunk_id(f.hash), rest, data[0]);
    open_chunk(f, bytes_of(chunk_plain), expected, true);
    const std::string envelope_plain =
        ferry::test::seal_by_hand(ferry::derive_mailbox_key(f.user), f.envelope_ad(), rest, data[0]);
    open_envelope(f, bytes_of(envelope_plain), true);

    // Valid values with bytes changed: they open only when nothing changed.
    const std::string chunk = overlay(f.sealed_chunk, rest);
    open_chunk(f, bytes_of(chunk), f.chunk.size(), chunk == f.sealed_chunk, true);
    const std::string envelope = overlay(f.sealed_envelope, rest);
    open_envelope(f, bytes_of(envelope), envelope == f.sealed_envelope);
    return 0;
}
