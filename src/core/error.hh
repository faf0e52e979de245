// Errors as values at module boundaries.
//
// An Error is a small code plus a message that says what failed, where (path,
// peer, file) and, when the user can act, what to do. Functions that can fail
// return Result<T>; exceptions are reserved for start-up and for bugs.
// Thread rule: plain values, safe to copy and move between threads.
#pragma once

#include <string>
#include <tl/expected.hpp>

namespace ferry {

enum class Errc {
    invalid_argument,   // the caller (or a user) gave something malformed
    not_found,          // a path, folder, device or record does not exist
    already_exists,     // creating something that is there already
    permission_denied,  // the OS refused access
    io,                 // any other operating-system failure
    corrupt,            // stored or received data fails validation
    too_new,            // data written by a newer ferry than this one
    unsupported,        // a file kind or feature this platform cannot handle
    changed,            // the object changed while we were reading it; retry
    no_space,           // the disk is full
    busy,               // another process holds a lock
};

struct Error {
    Errc code = Errc::io;
    std::string message;
};

template <class T>
using Result = tl::expected<T, Error>;

// Shorthand for returning a failure: `return fail(Errc::not_found, "...")`.
inline tl::unexpected<Error> fail(Errc code, std::string message) {
    return tl::unexpected<Error>(Error{code, std::move(message)});
}

// A short English name for a code ("not found", "permission denied", ...).
const char* errc_name(Errc code);

}  // namespace ferry
