// The client side of the control socket (cli/control.hh): plain blocking
// sockets with poll() deadlines; commands are short-lived, no Asio needed.
#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli/control.hh"
#include "cli/unique_fd.hh"

namespace ferry::cli {
namespace {

using Clock = std::chrono::steady_clock;

int remaining_ms(Clock::time_point deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left, 1 << 30));
}

// Waits for `events` on fd until the deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, remaining_ms(deadline));
        if (n > 0) return true;
        if (n == 0) return false;
        if (errno != EINTR) return false;
    }
}

Outcome<std::optional<nlohmann::json>> exchange(int fd, const std::string& socket_path,
                                                const nlohmann::json& request,
                                                Clock::time_point deadline) {
    const std::string what = "cannot talk to the daemon at " + socket_path;
    const std::string line = request.dump() + "\n";
    for (std::size_t done = 0; done < line.size();) {
        if (!wait_for(fd, POLLOUT, deadline)) return failed(what, "timed out sending");
        const ssize_t n = ::send(fd, line.data() + done, line.size() - done, MSG_NOSIGNAL);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return failed(what, std::strerror(errno));
        done += static_cast<std::size_t>(n);
    }
    std::string answer;
    char buf[65536];
    while (answer.find('\n') == std::string::npos) {
        if (!wait_for(fd, POLLIN, deadline)) {
            return failed(what, "no answer in time", "check the daemon's log; is it stuck?");
        }
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) return failed(what, std::strerror(errno));
        if (n == 0) return failed(what, "the daemon closed the connection without answering");
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.size() > kMaxAnswerBytes) return failed(what, "the answer is too long");
    }
    answer.resize(answer.find('\n'));
    nlohmann::json parsed = nlohmann::json::parse(answer, nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object() || !parsed.value("ok", false)) {
        if (parsed.is_object() && parsed.contains("error") && parsed["error"].is_string()) {
            return failed(request.value("cmd", std::string("request")) + " failed",
                          parsed["error"].get<std::string>(), parsed.value("hint", std::string()));
        }
        return failed(what, "the daemon's answer is not valid");
    }
    return parsed;
}

}  // namespace

Outcome<std::optional<nlohmann::json>> ask_daemon(const HomePaths& paths,
                                                  const nlohmann::json& request,
                                                  std::chrono::milliseconds timeout) {
    const std::string socket_path = paths.control_socket();
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof address.sun_path) {
        return failed("cannot reach the daemon", "the socket path " + socket_path + " is too long",
                      "use a shorter FERRY_HOME (at most 95 bytes)");
    }
    std::memcpy(address.sun_path, socket_path.c_str(), socket_path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (fd.get() < 0) return failed("cannot create a socket", std::strerror(errno));
    const auto deadline = Clock::now() + timeout;
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        // No socket, or a stale one nobody listens on: no daemon.
        if (errno == ENOENT || errno == ECONNREFUSED) return std::optional<nlohmann::json>();
        if (errno != EINPROGRESS && errno != EAGAIN) {
            return failed("cannot reach the daemon at " + socket_path, std::strerror(errno));
        }
        if (!wait_for(fd.get(), POLLOUT, deadline)) {
            return failed("cannot reach the daemon at " + socket_path, "timed out connecting");
        }
    }
    return exchange(fd.get(), socket_path, request, deadline);
}

Outcome<nlohmann::json> require_daemon(const HomePaths& paths, const nlohmann::json& request,
                                       const std::string& what,
                                       std::chrono::milliseconds timeout) {
    auto answer = ask_daemon(paths, request, timeout);
    if (!answer) return tl::unexpected(answer.error());
    if (!*answer) {
        return failed(what, "no ferry daemon runs for " + paths.home,
                      "start it with `ferry run` (in another terminal, or as a service)");
    }
    return std::move(**answer);
}

}  // namespace ferry::cli
