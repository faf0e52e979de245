// RelayServer::Impl, part two: a new socket is a forwarded connection (the
// "FERRYFWD" preamble and a session) or a device, and two forwarded sockets
// of one session are joined byte for byte (relay/relay_server.hh, Forwarding).
#include <string_view>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "crypto/random.hh"
#include "net/tcp_socket.hh"
#include "relay/relay_server_impl.hh"

// GCC 12 takes Asio's coroutine frames for a mismatched new/delete when it
// inlines them (as in net/peer_manager.cc).
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace ferry::relay {

using namespace server_detail;

namespace {

constexpr std::string_view kForwardMagic = "FERRYFWD";
constexpr std::size_t kPreambleBytes = 8 + 32;
constexpr std::size_t kPumpBuffer = 64 * 1024;

}  // namespace

std::shared_ptr<void> RelayServer::Impl::count_forward(const std::shared_ptr<Session>& session) {
    ++session->forwards_pending;
    std::weak_ptr<Session> weak = session;
    return std::shared_ptr<void>(nullptr, [weak](void*) {
        if (auto s = weak.lock()) --s->forwards_pending;
    });
}

asio::awaitable<void> RelayServer::Impl::serve_socket(std::shared_ptr<Impl> self, OpenSocket open,
                                                      std::string source) {
    bool released = false;
    const auto release = [&] {
        if (!released) self->release_unauthenticated(source);
        released = true;
    };
    // The deadline closes the socket unless the reads below are over
    // (`settled`): a handler already queued when cancel() runs would
    // otherwise close a socket this frame no longer holds.
    struct Deadline {
        Deadline(asio::io_context& io, MonotonicClock::duration wait) : timer(io, wait) {}
        Timer timer;
        bool settled = false;
        bool fired = false;
    };
    auto deadline = std::make_shared<Deadline>(self->io, self->options.hello_timeout);
    const auto settle = [&deadline] {
        deadline->settled = true;
        deadline->timer.cancel();
    };
    tcp::socket* const socket = &open.socket;
    deadline->timer.async_wait([socket, deadline](std::error_code error) {
        if (error || deadline->settled) return;
        deadline->fired = true;
        std::error_code ignored;
        socket->close(ignored);
    });
    std::vector<std::uint8_t> head(4);
    std::error_code ec;
    co_await asio::async_read(open.socket, asio::buffer(head),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && std::string_view(reinterpret_cast<const char*>(head.data()), 4) ==
                   kForwardMagic.substr(0, 4)) {
        head.resize(kPreambleBytes);
        co_await asio::async_read(open.socket, asio::buffer(head.data() + 4, head.size() - 4),
                                  asio::redirect_error(asio::use_awaitable, ec));
        settle();
        release();
        if (ec || self->stopped ||
            std::string_view(reinterpret_cast<const char*>(head.data()), 8) != kForwardMagic) {
            ++self->counters.refused;
            co_return;
        }
        wire::ForwardSession session{};
        std::copy(head.begin() + 8, head.end(), session.begin());
        self->forward_arrived(session, std::move(open));
        co_return;
    }
    settle();
    if (ec || self->stopped) {
        release();
        if (deadline->fired) ++self->counters.refused;  // silent past hello_timeout
        co_return;
    }
    // The handshake has its own timeout; the hello gets what is left.
    const auto hello_by = MonotonicClock::now() + self->options.hello_timeout;
    std::unique_ptr<ByteStream> stream = make_tcp_stream(std::move(open.socket), std::move(head));
    std::shared_ptr<void> counted = std::move(open.counted);
    co_await serve_device(self, std::move(stream), std::move(counted), source, hello_by);
}

void RelayServer::Impl::start_forward(const std::shared_ptr<Session>& from,
                                      const wire::ForwardRequest& request) {
    wire::ForwardReply reply;
    reply.id = request.id;
    std::shared_ptr<Session> target;
    auto range = sessions.equal_range(request.target);
    for (auto it = range.first; it != range.second; ++it)
        if (it->second->device.account == from->device.account) target = it->second;
    if (request.target == from->device.device_key) {
        reply.code = wire::RelayCode::refused;
        reply.message = "a device cannot forward to itself";
    } else if (!target) {
        reply.code = wire::RelayCode::not_found;
        reply.message = "device " + DeviceId::from_public_key(request.target).to_string() +
                        " is not connected to this relay";
    } else if (from->forwards_pending >= options.max_pending_forwards) {
        reply.code = wire::RelayCode::refused;
        reply.message = "too many forwarding sessions pending (at most " +
                        std::to_string(options.max_pending_forwards) + " per connection)";
    } else {
        wire::ForwardSession id{};
        random_bytes(id);
        PendingForward pending;
        pending.account = from->device.account;
        pending.counted = count_forward(from);
        pending.expiry = std::make_shared<Timer>(io, options.forward_wait);
        std::weak_ptr<Impl> weak = weak_from_this();
        pending.expiry->async_wait([weak, id](std::error_code error) {
            auto self = weak.lock();
            if (error || !self) return;
            self->forwards.erase(id);  // closes a parked side
        });
        forwards.emplace(id, std::move(pending));
        reply.session = id;
        asio::co_spawn(
            io,
            send_or_close(target->connection, wire::ForwardOffer{id, from->device.device_key},
                          options.reply_timeout),
            asio::detached);
    }
    asio::co_spawn(io, send_or_close(from->connection, std::move(reply), options.reply_timeout),
                   asio::detached);
}

void RelayServer::Impl::forward_arrived(const wire::ForwardSession& id, OpenSocket open) {
    auto it = forwards.find(id);
    if (it == forwards.end()) {
        ++counters.refused;
        return;  // unknown or expired: the socket closes
    }
    if (!it->second.parked) {
        it->second.parked = std::move(open);
        return;
    }
    auto splice = std::make_shared<Splice>(Splice{std::move(*it->second.parked), std::move(open)});
    it->second.expiry->cancel();
    forwards.erase(it);
    std::erase_if(splices, [](const auto& weak) { return weak.expired(); });
    splices.push_back(splice);
    ++counters.forwarding;
    auto self = shared_from_this();
    asio::co_spawn(io, pump(self, splice, splice->a.socket, splice->b.socket), asio::detached);
    asio::co_spawn(io, pump(self, splice, splice->b.socket, splice->a.socket), asio::detached);
}

asio::awaitable<void> RelayServer::Impl::pump(std::shared_ptr<Impl> self,
                                              std::shared_ptr<Splice> splice, tcp::socket& from,
                                              tcp::socket& to) {
    std::vector<std::uint8_t> buffer(kPumpBuffer);
    for (;;) {
        std::error_code ec;
        const std::size_t n = co_await from.async_read_some(
            asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        co_await asio::async_write(to, asio::buffer(buffer.data(), n),
                                   asio::redirect_error(asio::use_awaitable, ec));
        if (ec) break;
        self->counters.forwarded_bytes += n;
    }
    const bool first_out = splice->a.socket.is_open() && splice->b.socket.is_open();
    splice->close();
    if (first_out) --self->counters.forwarding;
}

}  // namespace ferry::relay
