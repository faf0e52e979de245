#include "relay_server_util.hh"

#include <array>

#include "crypto/handshake.hh"
#include "crypto/random.hh"
#include "net/monotonic_time.hh"
#include "net/tcp_socket.hh"

namespace ferry::relay::test {

using net_test::frame_of;
using net_test::read_frame;

ServerOptions fast_options() {
    ServerOptions options;
    options.hello_timeout = 2s;
    options.forward_wait = 2s;
    options.maintain_interval = 200ms;
    return options;
}

RelayIdentity created_identity(const ferry::test::TempDir& dir) {
    auto created = create_identity(dir.path());
    REQUIRE(created);
    return std::move(*created);
}

ServerFixture::ServerFixture() = default;

ServerFixture::~ServerFixture() {
    if (server) server->stop();
    // Lets the closes run, then waits for work still on the pool (it posts
    // its completion to `io`, which is destroyed after the pool has joined).
    io.restart();
    io.run_for(100ms);
    workers.join();
}

void ServerFixture::start(ServerOptions options, RelayService* service) {
    server = std::make_unique<RelayServer>(
        io, workers.get_executor(), identity, service != nullptr ? *service : *relay.service, std::move(options));
    auto bound = server->listen("127.0.0.1:0");
    REQUIRE(bound);
    address = *bound;
}

RelayUrl ServerFixture::url() const {
    return RelayUrl{address, identity.id()};
}

std::unique_ptr<RelayClient> ServerFixture::client(const User& user, std::size_t index,
                                                   RelayClientHooks hooks,
                                                   std::function<wire::RelayHello()> hello) {
    RelayClientOptions options;
    options.backoff_min = 50ms;
    options.backoff_max = 200ms;
    options.request_timeout = 10s;
    options.hello = hello ? std::move(hello) : [token = user.token] {
        return wire::RelayHello{token, {}};
    };
    auto client = std::make_unique<RelayClient>(io, user.devices.at(index), user.certificate(index),
                                                url(), std::move(hooks), std::move(options));
    client->start();
    return client;
}

std::unique_ptr<RelayClient> ServerFixture::connected(const User& user, std::size_t index,
                                                      RelayClientHooks hooks) {
    auto made = client(user, index, std::move(hooks));
    RelayClient* const raw = made.get();
    if (!wait_for([raw] { return raw->status().connected; })) {
        FAIL("device " << index << " did not connect: " << raw->status().last_error);
    }
    return made;
}

bool ServerFixture::wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    return net_test::run_bounded(io, net_test::eventually(done, limit), limit + 5s);
}

asio::awaitable<std::unique_ptr<ByteStream>> dial(std::string address) {
    auto socket = co_await dial_tcp(address, 5s);
    REQUIRE(socket);
    co_return make_tcp_stream(std::move(*socket));
}

asio::awaitable<bool> closed_within(ByteStream& stream, std::chrono::milliseconds limit) {
    auto timed_out = std::make_shared<bool>(false);
    auto done = std::make_shared<bool>(false);
    Timer timer(co_await asio::this_coro::executor, limit);
    timer.async_wait([&stream, timed_out, done](std::error_code error) {
        if (error || *done) return;
        *timed_out = true;
        stream.close();  // ends the read below
    });
    std::array<std::uint8_t, 1> byte{};
    for (;;) {
        auto read = co_await stream.read_exact(byte);
        if (!read) break;
    }
    *done = true;
    timer.cancel();
    co_return !*timed_out;
}

asio::awaitable<Result<void>> RawDevice::handshake(const KeyPair& device,
                                                   DeviceCertificate certificate) {
    Handshake handshake = Handshake::initiator(device, std::move(certificate));
    const std::vector<std::uint8_t> hello = frame_of(handshake.write_hello());
    if (auto r = co_await stream->write_all(hello); !r) co_return tl::unexpected(r.error());
    auto reply = co_await read_frame(*stream);
    if (!reply) co_return tl::unexpected(reply.error());
    if (auto r = handshake.read_reply(*reply); !r) co_return tl::unexpected(r.error());
    auto finish = handshake.write_finish();
    if (!finish) co_return tl::unexpected(finish.error());
    const std::vector<std::uint8_t> finish_frame = frame_of(*finish);
    if (auto r = co_await stream->write_all(finish_frame); !r) co_return tl::unexpected(r.error());
    auto keys = handshake.keys();
    if (!keys) co_return tl::unexpected(keys.error());
    sealer = std::make_unique<FrameSealer>(keys->send);
    opener = std::make_unique<FrameOpener>(keys->receive);
    co_return Result<void>{};
}

asio::awaitable<Result<wire::RelayWelcome>> RawDevice::sign_in(const KeyPair& device,
                                                               DeviceCertificate certificate,
                                                               std::string token) {
    if (auto r = co_await handshake(device, std::move(certificate)); !r)
        co_return tl::unexpected(r.error());
    const wire::Message relay_hello = wire::RelayHello{std::move(token), {}};
    if (auto r = co_await send(relay_hello); !r) co_return tl::unexpected(r.error());
    auto welcome = co_await receive();
    if (!welcome) co_return tl::unexpected(welcome.error());
    if (const auto* w = std::get_if<wire::RelayWelcome>(&*welcome)) co_return *w;
    co_return fail(Errc::corrupt,
                   "expected RelayWelcome, got " +
                       std::string(wire::message_type_name(wire::message_type(*welcome))));
}

asio::awaitable<Result<void>> RawDevice::send(const wire::Message& message) {
    const std::vector<std::uint8_t> plaintext = wire::encode(message);
    co_return co_await send_sealed(plaintext);
}

asio::awaitable<Result<void>> RawDevice::send_sealed(std::span<const std::uint8_t> plaintext) {
    const std::vector<std::uint8_t> frame = sealer->seal(plaintext);
    co_return co_await stream->write_all(frame);
}

asio::awaitable<Result<wire::Message>> RawDevice::receive() {
    auto payload = co_await read_frame(*stream);
    if (!payload) co_return tl::unexpected(payload.error());
    auto plaintext = opener->open(*payload);
    if (!plaintext) co_return tl::unexpected(plaintext.error());
    co_return wire::decode(*plaintext);
}

asio::awaitable<RawDevice> raw_device(const ServerFixture& fixture, const User& user,
                                      std::size_t index) {
    RawDevice device;
    device.stream = co_await dial(fixture.address);
    auto welcome =
        co_await device.sign_in(user.devices.at(index), user.certificate(index), user.token);
    if (!welcome) FAIL("raw device " << index << " not welcomed: " << welcome.error().message);
    co_return device;
}

asio::awaitable<wire::Message> ask(RelayClient& client, wire::Message request) {
    auto reply = co_await client.request(std::move(request));
    if (!reply) FAIL("request failed: " << reply.error().message);
    co_return std::move(*reply);
}

asio::awaitable<bool> has_chunk(RelayClient& client, wire::RelayChunkId chunk) {
    wire::ChunkHave request;
    request.chunks.push_back(chunk);
    const wire::Message reply = co_await ask(client, std::move(request));
    const auto* have = std::get_if<wire::ChunkHaveReply>(&reply);
    REQUIRE(have != nullptr);
    REQUIRE(have->present.size() == 1);
    co_return have->present[0];
}

PublicKey random_key() {
    PublicKey key{};
    random_bytes(key);
    return key;
}

}  // namespace ferry::relay::test
