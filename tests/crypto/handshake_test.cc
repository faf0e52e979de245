#include "crypto/handshake.hh"

#include <catch2/catch.hpp>

#include "crypto/handshake_payload.hh"
#include "crypto/secure_channel.hh"
#include "crypto_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr std::int64_t kResponderIssued = 1764000000000000000;
constexpr std::int64_t kInitiatorIssued = 1764000001000000000;

// The fixed inputs of proto/handshake.md's vectors.
struct Fixture {
    KeyPair user = key_from(0x00);
    KeyPair responder_key = key_from(0x20);
    KeyPair initiator_key = key_from(0x40);
    DeviceCertificate responder_cert =
        DeviceCertificate::issue(user, public_of(responder_key), "laptop", kResponderIssued);
    DeviceCertificate initiator_cert =
        DeviceCertificate::issue(user, public_of(initiator_key), "desktop", kInitiatorIssued);
    InviteCredential invite() const {
        InviteCredential invite;
        const auto id = counting(0xa0);
        std::copy_n(id.begin(), invite.invite_id.size(), invite.invite_id.begin());
        invite.secret = counting(0xb0);
        return invite;
    }
};

EphemeralKey fixed_ephemeral(std::uint8_t start) {
    EphemeralKey key;
    key.secret_key = counting(start);
    return key;
}

// Both sides of one handshake and the messages that passed between them.
struct Run {
    Handshake initiator;
    Handshake responder;
    std::vector<std::uint8_t> m1, m2, m3;
    std::optional<PeerIdentity> initiator_saw, responder_saw;
};

Run make_run(const Fixture& f, Credential credential, bool fixed) {
    return Run{Handshake::initiator(f.initiator_key, std::move(credential),
                                    fixed ? std::optional(fixed_ephemeral(0x60)) : std::nullopt),
               Handshake::responder(f.responder_key, f.responder_cert,
                                    fixed ? std::optional(fixed_ephemeral(0x80)) : std::nullopt),
               {},
               {},
               {},
               {},
               {}};
}

// Runs the three messages; REQUIREs success.
void complete(Run& run) {
    run.m1 = run.initiator.write_hello();
    REQUIRE(run.responder.read_hello(run.m1));
    auto m2 = run.responder.write_reply();
    REQUIRE(m2);
    run.m2 = *m2;
    auto seen = run.initiator.read_reply(run.m2);
    REQUIRE(seen);
    run.initiator_saw = *seen;
    auto m3 = run.initiator.write_finish();
    REQUIRE(m3);
    run.m3 = *m3;
    auto finished = run.responder.read_finish(run.m3);
    REQUIRE(finished);
    run.responder_saw = *finished;
}

// Whether the handshake completes when `tamper` may change each message on
// its way (index 1, 2, 3), both sides agreeing on the keys.
template <class Tamper>
bool completes(const Fixture& f, Credential credential, Tamper tamper) {
    Run run = make_run(f, std::move(credential), true);
    auto m1 = run.initiator.write_hello();
    tamper(1, m1);
    if (!run.responder.read_hello(m1)) return false;
    auto m2 = run.responder.write_reply();
    if (!m2) return false;
    tamper(2, *m2);
    if (!run.initiator.read_reply(*m2)) return false;
    auto m3 = run.initiator.write_finish();
    if (!m3) return false;
    tamper(3, *m3);
    if (!run.responder.read_finish(*m3)) return false;
    auto a = run.initiator.keys();
    auto b = run.responder.keys();
    return a && b && a->send == b->receive && a->receive == b->send;
}

void check_vector(Run& run, const char* m3, const char* transcript, const char* i2r,
                  const char* r2i) {
    CHECK(hex(run.m1) ==
          "66657272792d68730001675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f");
    CHECK(
        hex(run.m2) ==
        "493e82fc74464a59268817623d2053c5eb8e2cc4a988b4fee179ec6b010d531d792692b1c2fee52fe954913ff0"
        "79ef55e757b0d041130e3bdae7bf14507ca4baa0a7dafb93ac21a104d9918fbe4918d7900894e3ea5718e8d48e"
        "921345e7689f065f31513039bd233b0ee4942fa7756056835f82f50ad6c9b5384beb83bdbe2216b3063f49f973"
        "79f58f1b1efe958f65964f57a667c55f09da0b57756bfc1c1583f09e4fa1f794e3e19502cd5aa3033fbb618266"
        "761cafb77b57bae106cf444f2f85c9bd325dae53fa1407db9dec40c1dfabfd1f9f2be575a39d29af510fe1027d"
        "1aefd612b89a0938b0cf96003486cd9c92a0e4a10a3c9d00dd07a24390657341ad45");
    CHECK(hex(run.m3) == m3);
    const auto a = run.initiator.keys();
    const auto b = run.responder.keys();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(hex(a->transcript_hash) == transcript);
    CHECK(hex(b->transcript_hash) == transcript);
    CHECK(hex(a->send) == i2r);
    CHECK(hex(b->receive) == i2r);
    CHECK(hex(a->receive) == r2i);
    CHECK(hex(b->send) == r2i);
}

}  // namespace

// The vectors were computed by an independent implementation of
// proto/handshake.md (Python: cryptography's X25519, Ed25519 and
// ChaCha20Poly1305, HChaCha20 by hand, hashlib.blake2b).
TEST_CASE("handshake with certificates matches the test vector", "[handshake]") {
    const Fixture f;
    Run run = make_run(f, f.initiator_cert, true);
    complete(run);
    check_vector(
        run,
        "106e9fe33a09e81e5da19db10f0a527a60ac1a18b4637db567fc7a43fb34ceee01be3ac0b21014cda2"
        "e3eca68265838ced746b7e09e7e5f2d426f55b915eb467bfeb0160d5c44f8d1cdd76b7b3dc33e1515d28"
        "dd92a80f75e2c21962a33407f9d47910dc49c5dc463ec940b928d410f3be914de16e43be9d4daf6fab51"
        "0ad4e7a510b21450f527870e3de4fa50c9c9099ae81fb502aa89e786cbe6dc22368c8e489c9c891500e4"
        "385508c9e0643d96d3c851fe331dd8b0f230f5a9f9243c5f4be876e51e0f908848056f6b534355f7382f"
        "5ae2c37c9ab2948ad2c44cba925ebf1c799256",
        "d17a92154b4d553b475645c7c7a88512f92c92dd427803db925f8cc2946779b6",
        "cbb4e9e297ef59361bb7ba7ad84e34c34444a0e97638330d3b2afa08dbd79156",
        "0ab8132ffa802b5b2cde0c34a97fecd3b9e4c9f3e950e36842ceec3f4597f2d5");
    REQUIRE(run.initiator_saw->certificate);
    CHECK(*run.initiator_saw->certificate == f.responder_cert);
    CHECK(run.initiator_saw->device_id() == f.responder_key.device_id());
    CHECK_FALSE(run.initiator_saw->invite_id);
    REQUIRE(run.responder_saw->certificate);
    CHECK(*run.responder_saw->certificate == f.initiator_cert);
    CHECK(run.responder_saw->device_id() == f.initiator_key.device_id());
    CHECK_FALSE(run.responder.invite_proof_matches(f.invite().secret));
}

TEST_CASE("handshake with an invite matches the test vector", "[handshake]") {
    const Fixture f;
    Run run = make_run(f, f.invite(), true);
    complete(run);
    check_vector(
        run,
        "13ceaf40bceef4970b00610ae3cc2357a652347d08a411416fc3cd3e3813f485b184593810a86baff06d"
        "b2f99979f7c197e7c8d4df1c013a8b9412ee8d229cdd031f43592a0f297d913237444694c28065c49e30"
        "a8a6ce6f9af8e9fb1cd10c6f6d8e7fd89cf573df59705a9da39647798163f162f971343def2d516ed90f"
        "2f19c5592f368299642214451e821e3fda8f3185bc9757548fe09ca68412c01beb62af",
        "c7ae8cf36965da40fedb853cafa223d92fdfc734d9a95285821a844fe491df3a",
        "5fa12c98bfbf72f10e00f8a188a764e936855c9b387b8d8da52230f2a5aacd17",
        "855c55567b57387e71ec171d0eeb1eb399287e0d6f1289381f24d6120233ea41");
    const PeerIdentity& joiner = *run.responder_saw;
    CHECK_FALSE(joiner.certificate);
    REQUIRE(joiner.invite_id);
    CHECK(*joiner.invite_id == f.invite().invite_id);
    CHECK(joiner.device_id() == f.initiator_key.device_id());
    CHECK(run.responder.invite_proof_matches(f.invite().secret));
    InviteSecret wrong = f.invite().secret;
    wrong[31] ^= 1;
    CHECK_FALSE(run.responder.invite_proof_matches(wrong));
    CHECK_FALSE(run.initiator.invite_proof_matches(f.invite().secret));
}

TEST_CASE("both sides agree on distinct keys per direction and per session", "[handshake]") {
    const Fixture f;
    Run first = make_run(f, f.initiator_cert, false);
    complete(first);
    Run second = make_run(f, f.initiator_cert, false);
    complete(second);
    const auto a = first.initiator.keys();
    const auto b = first.responder.keys();
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->send == b->receive);
    CHECK(a->receive == b->send);
    CHECK(a->send != a->receive);
    CHECK(a->transcript_hash == b->transcript_hash);
    // Fresh ephemerals: the same two devices get unrelated keys next time,
    // so no long-term key opens a recorded session.
    const auto c = second.initiator.keys();
    REQUIRE(c);
    CHECK(c->send != a->send);
    CHECK(c->receive != a->receive);
    CHECK(c->transcript_hash != a->transcript_hash);
    CHECK(first.m1 != second.m1);

    // The keys drive the secure channel both ways.
    FrameSealer to_responder(a->send);
    FrameOpener at_responder(b->receive);
    const std::vector<std::uint8_t> hello = {'h', 'i'};
    const auto frame = to_responder.seal(hello);
    const auto opened = at_responder.open(std::span(frame).subspan(4));
    REQUIRE(opened);
    CHECK(*opened == hello);
}

TEST_CASE("every flipped byte of every handshake message makes it fail", "[handshake]") {
    const Fixture f;
    for (const Credential& credential : {Credential(f.initiator_cert), Credential(f.invite())}) {
        REQUIRE(completes(f, credential, [](int, std::vector<std::uint8_t>&) {}));
        Run sizes = make_run(f, credential, true);
        complete(sizes);
        const std::size_t lengths[] = {sizes.m1.size(), sizes.m2.size(), sizes.m3.size()};
        for (int message = 1; message <= 3; ++message) {
            for (std::size_t i = 0; i < lengths[message - 1]; ++i) {
                INFO("message " << message << " byte " << i);
                CHECK_FALSE(completes(f, credential, [&](int which, std::vector<std::uint8_t>& m) {
                    if (which == message) m[i] ^= 0x80;
                }));
            }
            INFO("message " << message << " truncated or extended");
            CHECK_FALSE(completes(f, credential, [&](int which, std::vector<std::uint8_t>& m) {
                if (which == message) m.pop_back();
            }));
            CHECK_FALSE(completes(f, credential, [&](int which, std::vector<std::uint8_t>& m) {
                if (which == message) m.push_back(0);
            }));
        }
    }
}

TEST_CASE("a certificate of another user is visible to the caller, who refuses it", "[handshake]") {
    // The handshake proves possession of the device key; trust (the user
    // key) is the caller's decision from peer(): here the responder is a
    // device of someone else.
    const Fixture f;
    const KeyPair stranger_user = KeyPair::generate();
    const KeyPair stranger = KeyPair::generate();
    const auto stranger_cert =
        DeviceCertificate::issue(stranger_user, public_of(stranger), "not yours", 1);
    Handshake initiator = Handshake::initiator(f.initiator_key, f.initiator_cert);
    Handshake responder = Handshake::responder(stranger, stranger_cert);
    REQUIRE(responder.read_hello(initiator.write_hello()));
    auto m2 = responder.write_reply();
    REQUIRE(m2);
    const auto seen = initiator.read_reply(*m2);
    REQUIRE(seen);
    REQUIRE(seen->certificate);
    const auto trusted = seen->certificate->verify(public_of(f.user));
    REQUIRE_FALSE(trusted);
    CHECK(trusted.error().code == Errc::permission_denied);
}

TEST_CASE("the initiator learns who answered before it reveals itself", "[handshake]") {
    // Another device of the same user answering where the expected one
    // should: the id differs, so the caller aborts before message 3 and
    // there are no keys.
    const Fixture f;
    const KeyPair other = KeyPair::generate();
    const auto other_cert = DeviceCertificate::issue(f.user, public_of(other), "other", 1);
    Handshake initiator = Handshake::initiator(f.initiator_key, f.initiator_cert);
    Handshake responder = Handshake::responder(other, other_cert);
    REQUIRE(responder.read_hello(initiator.write_hello()));
    auto m2 = responder.write_reply();
    REQUIRE(m2);
    const auto seen = initiator.read_reply(*m2);
    REQUIRE(seen);
    CHECK(seen->device_id() == other.device_id());
    CHECK(seen->device_id() != f.responder_key.device_id());
    CHECK_FALSE(initiator.keys());
    CHECK_FALSE(responder.keys());
}

TEST_CASE("a device cannot present a certificate for a key it does not hold", "[handshake]") {
    const Fixture f;
    Handshake responder = Handshake::responder(f.initiator_key, f.responder_cert);
    Handshake initiator = Handshake::initiator(f.responder_key, f.initiator_cert);
    REQUIRE(responder.read_hello(initiator.write_hello()));
    const auto m2 = responder.write_reply();
    REQUIRE_FALSE(m2);
    CHECK(m2.error().code == Errc::invalid_argument);
}

TEST_CASE("messages replayed from another session fail", "[handshake]") {
    const Fixture f;
    Run recorded = make_run(f, f.initiator_cert, false);
    complete(recorded);

    SECTION("hello and finish replayed to a responder") {
        Handshake responder = Handshake::responder(f.responder_key, f.responder_cert);
        REQUIRE(responder.read_hello(recorded.m1));  // a hello proves nothing by itself
        REQUIRE(responder.write_reply());
        const auto finish = responder.read_finish(recorded.m3);
        REQUIRE_FALSE(finish);
        CHECK(finish.error().code == Errc::corrupt);
        CHECK_FALSE(responder.keys());
    }
    SECTION("reply replayed to an initiator") {
        Handshake initiator = Handshake::initiator(f.initiator_key, f.initiator_cert);
        initiator.write_hello();
        const auto reply = initiator.read_reply(recorded.m2);
        REQUIRE_FALSE(reply);
        CHECK(reply.error().code == Errc::corrupt);
    }
    SECTION("finish of another session with the same hello") {
        // Same m1 (fixed ephemeral), but the responder's fresh ephemeral
        // changes everything after it.
        Run a = make_run(f, f.initiator_cert, true);
        complete(a);
        Handshake responder = Handshake::responder(f.responder_key, f.responder_cert);
        REQUIRE(responder.read_hello(a.m1));
        REQUIRE(responder.write_reply());
        CHECK_FALSE(responder.read_finish(a.m3));
    }
}

TEST_CASE("hello checks magic, version and length", "[handshake]") {
    const Fixture f;
    const auto hello = Handshake::initiator(f.initiator_key, f.initiator_cert).write_hello();
    REQUIRE(hello.size() == 42);
    const auto message_for = [&](std::vector<std::uint8_t> m) {
        Handshake responder = Handshake::responder(f.responder_key, f.responder_cert);
        const auto result = responder.read_hello(m);
        REQUIRE_FALSE(result);
        CHECK(result.error().code == Errc::corrupt);
        return result.error().message;
    };
    auto bad_magic = hello;
    bad_magic[0] = 'F';
    CHECK(message_for(bad_magic).find("magic") != std::string::npos);
    auto newer = hello;
    newer[9] = 2;
    CHECK(message_for(newer).find("version 2") != std::string::npos);
    CHECK(message_for({hello.begin(), hello.begin() + 9}).find("magic") != std::string::npos);
    CHECK(message_for({hello.begin(), hello.end() - 1}).find("41 bytes") != std::string::npos);
    auto zero_key = hello;
    std::fill(zero_key.begin() + 10, zero_key.end(), 0);  // a low-order point
    CHECK(message_for(zero_key).find("ephemeral") != std::string::npos);
}

TEST_CASE("oversized or undersized replies and finishes are refused", "[handshake]") {
    const Fixture f;
    Handshake initiator = Handshake::initiator(f.initiator_key, f.initiator_cert);
    initiator.write_hello();
    CHECK_FALSE(initiator.read_reply(std::vector<std::uint8_t>(Handshake::kMaxMessageBytes + 1)));
    Handshake short_reply = Handshake::initiator(f.initiator_key, f.initiator_cert);
    short_reply.write_hello();
    CHECK_FALSE(short_reply.read_reply(std::vector<std::uint8_t>(40, 1)));

    Run run = make_run(f, f.initiator_cert, false);
    run.m1 = run.initiator.write_hello();
    REQUIRE(run.responder.read_hello(run.m1));
    REQUIRE(run.responder.write_reply());
    CHECK_FALSE(
        run.responder.read_finish(std::vector<std::uint8_t>(Handshake::kMaxMessageBytes + 1)));
}

TEST_CASE("calls out of order fail, and a failed handshake stays failed", "[handshake]") {
    const Fixture f;
    Handshake responder = Handshake::responder(f.responder_key, f.responder_cert);
    const auto early = responder.write_reply();
    REQUIRE_FALSE(early);
    CHECK(early.error().code == Errc::invalid_argument);
    CHECK_THROWS_AS(responder.write_hello(), std::logic_error);

    Handshake initiator = Handshake::initiator(f.initiator_key, f.initiator_cert);
    CHECK_FALSE(initiator.write_finish());
    CHECK_FALSE(initiator.read_hello(std::vector<std::uint8_t>(42)));

    // After one bad reply the initiator will not accept the genuine one.
    Run run = make_run(f, f.initiator_cert, false);
    run.m1 = run.initiator.write_hello();
    REQUIRE(run.responder.read_hello(run.m1));
    auto m2 = run.responder.write_reply();
    REQUIRE(m2);
    auto bad = *m2;
    bad.back() ^= 1;
    CHECK_FALSE(run.initiator.read_reply(bad));
    CHECK_FALSE(run.initiator.read_reply(*m2));
    CHECK_FALSE(run.initiator.keys());
}

TEST_CASE("the credential inside messages 2 and 3 is decoded strictly", "[handshake]") {
    using namespace ferry::crypto_detail;
    const Fixture f;
    Signature signature{};
    signature.fill(0x5a);
    const auto with_signature = [&](std::vector<std::uint8_t> credential) {
        credential.insert(credential.end(), signature.begin(), signature.end());
        return credential;
    };

    const auto cert_payload = with_signature(encode_certificate_credential(f.responder_cert));
    const auto cert = decode_signed_credential(cert_payload);
    REQUIRE(cert);
    REQUIRE(cert->identity.certificate);
    CHECK(*cert->identity.certificate == f.responder_cert);
    CHECK(cert->identity.device_key == f.responder_cert.device_key);
    CHECK(cert->credential.size() == cert_payload.size() - 64);
    CHECK(cert->signature == signature);

    const auto invite = f.invite();
    std::array<std::uint8_t, 32> proof{};
    proof.fill(7);
    const auto invite_payload = with_signature(
        encode_invite_credential(invite.invite_id, public_of(f.initiator_key), proof));
    CHECK(invite_payload.size() == 1 + 16 + 32 + 32 + 64);
    const auto joiner = decode_signed_credential(invite_payload);
    REQUIRE(joiner);
    CHECK(joiner->identity.invite_id == invite.invite_id);
    CHECK(joiner->identity.device_key == public_of(f.initiator_key));
    CHECK(joiner->invite_proof == proof);
    CHECK_FALSE(joiner->identity.certificate);

    for (const auto& good : {cert_payload, invite_payload}) {
        for (std::size_t n = 0; n < good.size(); ++n) {
            CHECK_FALSE(decode_signed_credential(std::span(good).first(n)));
        }
        auto longer = good;
        longer.push_back(0);
        CHECK_FALSE(decode_signed_credential(longer));
        auto unknown = good;
        unknown[0] = 3;
        const auto result = decode_signed_credential(unknown);
        REQUIRE_FALSE(result);
        CHECK(result.error().message.find("unknown kind 3") != std::string::npos);
    }
}
