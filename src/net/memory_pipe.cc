// Two in-memory ByteStreams joined back to back (tests and the simulated
// cluster). Each direction is a bounded ring; a reader waits while it is
// empty and a writer while it is full. Each end's reader and writer wait on
// Timers of that end, on its executor, set to never expire and cancelled by
// the other side (or by the end itself, on close): everything runs on one thread, so checking the
// ring and starting the wait cannot race with the other side's wake-up. An
// end reaches the other only through a weak pointer, so either may go away
// with its io_context (a crashed device in the simulation) while the other
// lives on and sees the stream closed.
#include <algorithm>
#include <cstring>
#include <vector>

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include "net/byte_stream.hh"
#include "net/monotonic_time.hh"

namespace ferry {
namespace {

class Ring {
public:
    explicit Ring(std::size_t capacity) : m_bytes(std::max<std::size_t>(capacity, 1)) {}

    std::size_t size() const { return m_size; }
    std::size_t space() const { return m_bytes.size() - m_size; }

    std::size_t push(std::span<const std::uint8_t> data) {
        const std::size_t count = std::min(data.size(), space());
        const std::size_t tail = (m_head + m_size) % m_bytes.size();
        const std::size_t first = std::min(count, m_bytes.size() - tail);
        std::memcpy(m_bytes.data() + tail, data.data(), first);
        std::memcpy(m_bytes.data(), data.data() + first, count - first);
        m_size += count;
        return count;
    }

    std::size_t pop(std::span<std::uint8_t> out) {
        const std::size_t count = std::min(out.size(), m_size);
        const std::size_t first = std::min(count, m_bytes.size() - m_head);
        std::memcpy(out.data(), m_bytes.data() + m_head, first);
        std::memcpy(out.data() + first, m_bytes.data(), count - first);
        m_head = (m_head + count) % m_bytes.size();
        m_size -= count;
        return count;
    }

    bool writer_closed = false;  // the reader drains what is left, then sees the end
    bool reader_closed = false;  // the writer fails at once, as on a reset socket

private:
    std::vector<std::uint8_t> m_bytes;
    std::size_t m_head = 0;
    std::size_t m_size = 0;
};

// One end's state, shared with its own pending operations so that they can
// finish safely even if the end is destroyed while they wait.
struct End {
    End(asio::any_io_executor executor, std::shared_ptr<Ring> in, std::shared_ptr<Ring> out,
        std::string name)
        : in(std::move(in)),
          out(std::move(out)),
          name(std::move(name)),
          readable(executor),
          writable(executor) {}

    std::shared_ptr<Ring> in;
    std::shared_ptr<Ring> out;
    std::string name;
    Timer readable;  // this end's read waits on it for bytes
    Timer writable;  // this end's write waits on it for space
    std::weak_ptr<End> other;
    bool closed = false;

    void wake_reader_of_other() const {
        if (auto peer = other.lock()) peer->readable.cancel();
    }
    void wake_writer_of_other() const {
        if (auto peer = other.lock()) peer->writable.cancel();
    }
    static asio::awaitable<void> wait(Timer& timer) {
        timer.expires_at(Timer::time_point::max());
        std::error_code ignored;  // cancelled is the normal wake-up
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    }
};

class MemoryStream final : public ByteStream {
public:
    explicit MemoryStream(std::shared_ptr<End> end) : m_end(std::move(end)) {}
    ~MemoryStream() override { close(); }

    asio::awaitable<Result<void>> read_exact(std::span<std::uint8_t> buffer) override {
        const std::shared_ptr<End> end = m_end;
        while (!buffer.empty()) {
            if (end->closed) co_return fail(Errc::io, end->name + ": connection closed");
            if (end->in->size() > 0) {
                buffer = buffer.subspan(end->in->pop(buffer));
                end->wake_writer_of_other();  // it may wait for space
            } else if (end->in->writer_closed) {
                co_return fail(Errc::io, end->name + ": closed by peer");
            } else {
                co_await End::wait(end->readable);
            }
        }
        co_return Result<void>{};
    }

    asio::awaitable<Result<void>> write_all(std::span<const std::uint8_t> data) override {
        const std::shared_ptr<End> end = m_end;
        while (!data.empty()) {
            if (end->closed) co_return fail(Errc::io, end->name + ": connection closed");
            if (end->out->reader_closed)
                co_return fail(Errc::io, end->name + ": connection reset by peer");
            if (end->out->space() > 0) {
                data = data.subspan(end->out->push(data));
                end->wake_reader_of_other();  // it may wait for bytes
            } else {
                co_await End::wait(end->writable);
            }
        }
        co_return Result<void>{};
    }

    void close() override {
        if (m_end->closed) return;
        m_end->closed = true;
        m_end->in->reader_closed = true;
        m_end->out->writer_closed = true;
        m_end->readable.cancel();
        m_end->writable.cancel();
        m_end->wake_reader_of_other();
        m_end->wake_writer_of_other();
    }

    std::string peer_address() const override { return m_end->name; }

private:
    std::shared_ptr<End> m_end;
};

}  // namespace

std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> make_memory_pipe(
    asio::any_io_executor executor, std::size_t capacity) {
    return make_memory_pipe(executor, executor, capacity);
}

std::pair<std::unique_ptr<ByteStream>, std::unique_ptr<ByteStream>> make_memory_pipe(
    asio::any_io_executor a_executor, asio::any_io_executor b_executor, std::size_t capacity) {
    auto a_to_b = std::make_shared<Ring>(capacity);
    auto b_to_a = std::make_shared<Ring>(capacity);
    // Each end names the other, as a socket names its peer.
    auto a = std::make_shared<End>(a_executor, b_to_a, a_to_b, "memory-pipe:b");
    auto b = std::make_shared<End>(b_executor, a_to_b, b_to_a, "memory-pipe:a");
    a->other = b;
    b->other = a;
    return {std::make_unique<MemoryStream>(std::move(a)), std::make_unique<MemoryStream>(std::move(b))};
}

}  // namespace ferry
