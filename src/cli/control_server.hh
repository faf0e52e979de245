// The daemon's side of the control socket (protocol: cli/control.hh).
//
// Listens on a Unix socket created with mode 0600 (a stale socket file left
// by a daemon that died is replaced: the caller holds the home's lock, so no
// other daemon can own it). Each connection is served by a coroutine that
// reads JSON lines and passes each request to the handler; the handler's
// answer goes back as one line. Handlers may wait (status-wait).
//
// Thread rule: everything on the io_context's thread. stop() closes the
// listener and every open connection and removes the socket file.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "core/error.hh"

namespace ferry::cli {

using ControlHandler = std::function<asio::awaitable<nlohmann::json>(const nlohmann::json&)>;

class ControlServer {
public:
    // Binds and starts accepting. Errc::io naming the path when it cannot.
    static Result<std::unique_ptr<ControlServer>> start(asio::io_context& io, std::string path,
                                                        ControlHandler handler);
    ~ControlServer();
    void stop();

private:
    struct Impl;
    explicit ControlServer(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> m_impl;
};

// {"ok": false, "error": message, "hint": hint (when not empty)}.
nlohmann::json control_error(const std::string& message, const std::string& hint = {});

}  // namespace ferry::cli
