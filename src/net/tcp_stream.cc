// A ByteStream over a connected TCP socket. Asio's error codes become
// Errc::io values naming the peer here, at the edge; nothing throws.
#include <algorithm>

#include <asio/buffer.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "net/byte_stream.hh"

namespace ferry {
namespace {

class TcpStream final : public ByteStream {
public:
    TcpStream(asio::ip::tcp::socket socket, std::vector<std::uint8_t> already_read)
        : m_socket(std::move(socket)), m_already_read(std::move(already_read)) {
        std::error_code ec;
        const auto remote = m_socket.remote_endpoint(ec);
        m_peer_address = ec ? "unconnected socket" : address_text(remote);
        // Messages are written whole; Nagle would only delay small requests.
        m_socket.set_option(asio::ip::tcp::no_delay(true), ec);
    }
    ~TcpStream() override { close(); }

    asio::awaitable<Result<void>> read_exact(std::span<std::uint8_t> buffer) override {
        if (m_closed) co_return fail(Errc::io, m_peer_address + ": connection closed");
        if (m_taken < m_already_read.size()) {
            const std::size_t count = std::min(buffer.size(), m_already_read.size() - m_taken);
            std::copy_n(m_already_read.begin() + static_cast<std::ptrdiff_t>(m_taken), count,
                        buffer.begin());
            m_taken += count;
            buffer = buffer.subspan(count);
            if (buffer.empty()) co_return Result<void>{};
        }
        std::error_code ec;
        co_await asio::async_read(m_socket, asio::buffer(buffer.data(), buffer.size()),
                                  asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return failure(ec, "reading");
        co_return Result<void>{};
    }

    asio::awaitable<Result<void>> write_all(std::span<const std::uint8_t> data) override {
        if (m_closed) co_return fail(Errc::io, m_peer_address + ": connection closed");
        std::error_code ec;
        co_await asio::async_write(m_socket, asio::buffer(data.data(), data.size()),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return failure(ec, "writing");
        co_return Result<void>{};
    }

    void close() override {
        if (m_closed) return;
        m_closed = true;
        std::error_code ignored;
        m_socket.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
        m_socket.close(ignored);
    }

    std::string peer_address() const override { return m_peer_address; }

private:
    tl::unexpected<Error> failure(const std::error_code& ec, const char* operation) const {
        if (ec == asio::error::eof) return fail(Errc::io, m_peer_address + ": closed by peer");
        if (ec == asio::error::operation_aborted || m_closed)
            return fail(Errc::io, m_peer_address + ": connection closed");
        return fail(Errc::io, m_peer_address + ": " + operation + ": " + ec.message());
    }

    asio::ip::tcp::socket m_socket;
    std::string m_peer_address;
    bool m_closed = false;
    std::vector<std::uint8_t> m_already_read;
    std::size_t m_taken = 0;  // of m_already_read, returned by read_exact() so far
};

}  // namespace

std::string address_text(const asio::ip::tcp::endpoint& endpoint) {
    const asio::ip::address address = endpoint.address();
    const std::string host =
        address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    return host + ":" + std::to_string(endpoint.port());
}

Result<HostPort> split_address(const std::string& address) {
    const auto malformed = [&](const char* why) {
        return fail(Errc::invalid_argument, "address \"" + address + "\": " + why +
                                                " (expected HOST:PORT or [IPv6]:PORT)");
    };
    const std::size_t colon = address.rfind(':');
    if (colon == std::string::npos) return malformed("no port");
    std::string host = address.substr(0, colon);
    const std::string port = address.substr(colon + 1);
    if (host.starts_with('[')) {
        if (!host.ends_with(']') || host.size() < 3) return malformed("unbalanced brackets");
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        return malformed("an IPv6 host needs brackets");
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos) {
        return malformed("bad port");
    }
    const unsigned long number = std::stoul(port);
    if (number > 65535) return malformed("port over 65535");
    return HostPort{std::move(host), static_cast<std::uint16_t>(number)};
}

std::unique_ptr<ByteStream> make_tcp_stream(asio::ip::tcp::socket socket,
                                            std::vector<std::uint8_t> already_read) {
    return std::make_unique<TcpStream>(std::move(socket), std::move(already_read));
}

}  // namespace ferry
