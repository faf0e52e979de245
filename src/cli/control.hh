// The control socket: how `ferry` commands talk to the running daemon
// (`ferry run`) of the same FERRY_HOME.
//
// Transport: the Unix socket $FERRY_HOME/control.sock, mode 0600 (only the
// owner may connect; FERRY_HOME itself is 0700). Protocol: JSON lines. The
// client sends one request, a JSON object on one line ending in '\n'; the
// daemon answers with one JSON object on one line. A connection may carry
// several requests, answered in order. Requests are at most kMaxRequestBytes;
// a longer line, or one that is not a JSON object with a string "cmd", is
// answered with an error and the connection closed.
//
// Every answer has "ok" (bool); when false, "error" says what failed and
// "hint" (optional) what to do. Requests and their answers' other fields:
//   {"cmd":"status"}
//       -> "status": {"device": {"id", "name"}, "in_sync": bool,
//                     "listen": [addresses], "folders": [{"id", "path", "mode",
//                     "state" (idle, scanning, syncing, paused, error),
//                     "scan_completion" (% or null), "scan_entries",
//                     "need_files", "need_bytes", "receive_rate" (bytes/s),
//                     "seconds_left" (null: nothing moving), "error",
//                     "needs_override", "local_changes": [paths],
//                     "problems": [{"path", "message"}],
//                     "devices": [{"id", "name", "connected", "completion",
//                                  "in_sync"}]}]}
//   {"cmd":"status-wait", "timeout_ms": N}   (N = 0: no limit)
//       -> answered when every folder is in sync with every connected device
//          or when N ms have passed: "in_sync": bool, "status": as above
//   {"cmd":"scan", "folder": "ID"}           ("" or absent: every folder)
//       -> answered when a scan of each folder that started after the
//          request has finished: "folders": [{"id", and either "error" (the
//          folder could not be scanned) or "files", "directories",
//          "symlinks", "bytes", "changed", "deleted", "bytes_hashed",
//          "issues": [{"path", "message"}]}]
//   {"cmd":"addresses"}  -> "addresses": ["host:port", ...] to give a joiner
//   {"cmd":"reload"}     re-read ferry.toml and apply it (as SIGHUP does)
//       -> "at_next_start": [keys applied only when the daemon starts again]
//   {"cmd":"devices"}    -> "devices": [device objects, as `ferry devices --json`]
//   {"cmd":"remove-device", "device": "DEVICE-ID"}  revoke, forget, disconnect
//   {"cmd":"override", "folder": "ID"}       send-only: peers take our versions
//   {"cmd":"revert", "folder": "ID"}         receive-only: take the global state
//   {"cmd":"pause", "folder": "ID"}          ("" or absent: every folder)
//   {"cmd":"resume", "folder": "ID"}         -> "folders": [ids paused or resumed]
//
// Thread rule (client): blocking calls, main thread. ask_daemon() never
// waits longer than its timeout.
#pragma once

#include <chrono>
#include <optional>

#include <nlohmann/json.hpp>

#include "cli/failure.hh"
#include "cli/home.hh"

namespace ferry::cli {

inline constexpr std::size_t kMaxRequestBytes = 64 * 1024;
// Answers can list many folders and devices; this bounds what a client reads.
inline constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

// Sends `request` to the daemon of `paths` and returns its answer (with
// "ok": true). nullopt: no daemon runs for this home (no socket, or nobody
// listening). A Failure: the daemon answered "ok": false, or the exchange
// failed or took longer than `timeout`.
Outcome<std::optional<nlohmann::json>> ask_daemon(const HomePaths& paths,
                                                  const nlohmann::json& request,
                                                  std::chrono::milliseconds timeout =
                                                      std::chrono::seconds(30));

// As ask_daemon, but a missing daemon is a Failure telling the user to start
// `ferry run` (for commands that need it: `what` names the command).
Outcome<nlohmann::json> require_daemon(const HomePaths& paths, const nlohmann::json& request,
                                       const std::string& what,
                                       std::chrono::milliseconds timeout =
                                           std::chrono::seconds(30));

}  // namespace ferry::cli
