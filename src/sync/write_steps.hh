// Steps shared by the folder writer and the versions area (internal to
// src/sync): path pieces, temporary names, making parent directories, and
// moving whatever is in the way of a new entry somewhere safe.
//
// Everything goes through the Filesystem, so nothing here follows a symlink.
// Thread rule: blocking, stateless; safe from several threads.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/error.hh"
#include "core/file_record.hh"  // safe_mode
#include "fs/filesystem.hh"
#include "sync/versions.hh"

namespace ferry {

// "a/b/c" -> "a/b" and "c"; "c" -> "" and "c".
std::string_view parent_path(std::string_view path);
std::string_view base_name(std::string_view path);

// `error` with "<context>: " in front of its message.
tl::unexpected<Error> in_context(Error error, std::string_view context);

// Whether sync may write at `path`: folder-relative, not the root, not
// internal (.ferry/ or a temporary file). Errc::invalid_argument otherwise.
Result<void> check_writable_path(std::string_view path, std::string_view context);

// 64 bits of BLAKE3 over `parts` (each length-prefixed): the `unique` of a
// temporary name that the same work always finds again.
std::uint64_t derive_unique(std::initializer_list<std::string_view> parts);

// core/ignore.hh temporary_name() for `path`, in `path`'s directory.
std::string temporary_path(std::string_view path, std::uint64_t unique);

// Creates directory `dir` (mode 0755) and its missing parents, each made
// durable in its parent (one directory fsync per directory made; none when
// `dir` is there already). `dir`'s own entries are the caller's to sync.
Result<void> make_dirs(Filesystem& fs, std::string_view dir);

// Makes room at `path` for a new entry: a file or symlink there is kept as
// a version (replaced at now_ns), an empty directory is removed; a directory
// with entries is Errc::busy and a special file Errc::unsupported (both left
// as they are). Nothing there is fine. Returns the kept version's path, ""
// when nothing was kept; `sync` says who makes it durable (Versions::keep).
// The removal of `path`'s old name is the caller's to make durable, no
// earlier than the version.
Result<std::string> clear_for_replacement(Filesystem& fs, Versions& versions, std::string_view path,
                                          std::int64_t now_ns, KeptSync sync = KeptSync::now);

}  // namespace ferry
