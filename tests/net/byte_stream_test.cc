// Byte streams: the in-memory pipe the tests use, TCP on 127.0.0.1, and
// address parsing (src/net/byte_stream.cc).
#include "net/byte_stream.hh"

#include <asio/ip/tcp.hpp>

#include "net/net_test_support.hh"

using namespace ferry;
using namespace ferry::net_test;

TEST_CASE("a memory pipe carries bytes both ways through a buffer smaller than the data",
          "[byte_stream]") {
    asio::io_context io;
    auto [a, b] = make_memory_pipe(io.get_executor(), 7);
    std::vector<std::uint8_t> data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 31);
    std::optional<Result<void>> forth, back_again;
    asio::co_spawn(
        io,
        [&, &a = a, &b = b]() -> asio::awaitable<void> {
            forth = co_await a->write_all(data);
            back_again = co_await b->write_all(std::span(data).first(3));
        },
        asio::detached);
    std::vector<std::uint8_t> received(1000);
    REQUIRE(run_bounded(io, b->read_exact(received)));
    CHECK(received == data);
    std::array<std::uint8_t, 3> back{};
    REQUIRE(run_bounded(io, a->read_exact(back)));
    CHECK(std::equal(back.begin(), back.end(), data.begin()));
    REQUIRE(forth);
    CHECK(*forth);
    REQUIRE(back_again);
    CHECK(*back_again);
}

TEST_CASE("a memory pipe: close wakes a waiting reader; the peer drains, then sees the end",
          "[byte_stream]") {
    asio::io_context io;
    auto [a, b] = make_memory_pipe(io.get_executor(), 64);
    std::optional<Result<void>> pending;
    std::array<std::uint8_t, 8> buffer{};
    asio::co_spawn(
        io, [&, &a = a]() -> asio::awaitable<void> { pending = co_await a->read_exact(buffer); },
        asio::detached);
    io.poll();
    CHECK_FALSE(pending.has_value());
    const std::array<std::uint8_t, 5> five{1, 2, 3, 4, 5};
    REQUIRE(run_bounded(io, a->write_all(five)));  // a writes while its read waits
    a->close();
    REQUIRE(run_bounded(io, eventually([&] { return pending.has_value(); })));
    REQUIRE_FALSE(*pending);
    CHECK(pending->error().code == Errc::io);

    std::array<std::uint8_t, 5> got{};
    REQUIRE(run_bounded(io, b->read_exact(got)));  // what was written before close arrives
    CHECK(got == five);
    const auto end = run_bounded(io, b->read_exact(got));
    REQUIRE_FALSE(end);
    CHECK(end.error().message.find("closed by peer") != std::string::npos);
    const auto write = run_bounded(io, b->write_all(five));
    REQUIRE_FALSE(write);
    CHECK(write.error().code == Errc::io);
}

TEST_CASE("a TCP stream names its peer in errors and reports the end of stream",
          "[byte_stream]") {
    asio::io_context io;
    asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    asio::ip::tcp::socket client(io);
    client.connect(acceptor.local_endpoint());
    auto server = make_tcp_stream(acceptor.accept());
    auto client_stream = make_tcp_stream(std::move(client));
    CHECK(server->peer_address().starts_with("127.0.0.1:"));
    CHECK(client_stream->peer_address() == address_text(acceptor.local_endpoint()));

    const std::array<std::uint8_t, 3> hello{'h', 'i', '!'};
    REQUIRE(run_bounded(io, client_stream->write_all(hello)));
    std::array<std::uint8_t, 3> got{};
    REQUIRE(run_bounded(io, server->read_exact(got)));
    CHECK(got == hello);

    client_stream->close();
    const auto end = run_bounded(io, server->read_exact(got));
    REQUIRE_FALSE(end);
    CHECK(end.error().code == Errc::io);
    CHECK(end.error().message == server->peer_address() + ": closed by peer");
}

TEST_CASE("addresses are split as HOST:PORT and [IPv6]:PORT", "[byte_stream]") {
    const auto v4 = split_address("127.0.0.1:22000");
    REQUIRE(v4);
    CHECK(v4->host == "127.0.0.1");
    CHECK(v4->port == 22000);
    const auto v6 = split_address("[::1]:0");
    REQUIRE(v6);
    CHECK(v6->host == "::1");
    CHECK(v6->port == 0);
    const auto name = split_address("nas.local:1");
    REQUIRE(name);
    CHECK(name->host == "nas.local");
    for (const char* bad : {"127.0.0.1", "::1:22000", "[::1:22000", "host:", "host:65536",
                            "host:-1", "host:12a", "[]:5"}) {
        INFO(bad);
        const auto r = split_address(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == Errc::invalid_argument);
        CHECK(r.error().message.find(bad) != std::string::npos);
    }
    CHECK(address_text({asio::ip::make_address("::1"), 80}) == "[::1]:80");
}
