// Key files: how a secret key pair is kept in $FERRY_HOME.
//
// File format (text, ASCII, exactly four lines, each ending in '\n'):
//
//     ferry-secret-key v1
//     role device                  ("device", "user" or "relay": ferry-relay's)
//     seed <64 lower-case hex digits: the 32-byte Ed25519 seed>
//     public <64 lower-case hex digits: the Ed25519 public key>
//
// The public key is derived from the seed; loading re-derives it and refuses
// a file where they disagree (a damaged seed). The file must be a regular
// file owned by the current user with mode 0600 (no group or other bits):
// it holds a secret. save_key() writes atomically (temporary file in the same
// directory, fsync, rename over the target, fsync of the directory), so a
// crash leaves the old key or the new one, never a mix.
//
// Thread rule: free functions, safe from any thread; two writers of one path
// must be serialised by the caller. Failures (Errc::not_found for a missing
// file, permission_denied for a bad mode or owner, corrupt for a bad format,
// io otherwise) carry a message naming the path and what to do.
#pragma once

#include <string>
#include <string_view>

#include "core/error.hh"
#include "crypto/identity.hh"

namespace ferry {

enum class KeyRole { device, user, relay };

const char* key_role_name(KeyRole role);  // "device", "user", "relay"

Result<void> save_key(const std::string& path, const KeyPair& key, KeyRole role);
Result<KeyPair> load_key(const std::string& path, KeyRole role);

// Writes `content` to `path` as save_key() does (mode 0600, temporary file,
// fsync, rename, fsync of the directory): a crash leaves the old file or the
// complete new one. Also for the other files of FERRY_HOME (device.cert).
Result<void> write_file_atomically(const std::string& path, std::string_view content);

}  // namespace ferry
