// How a ferry command reports failure: exit statuses and the error format.
//
// Every failure is printed to stderr as "ferry: <what failed>: <why>" and,
// when the user can act, a second line "hint: <what to do>". The exit
// statuses are part of the command-line contract (man/ferry.1).
// Thread rule: main thread only (writes to stderr).
#pragma once

#include <string>

#include <tl/expected.hpp>

#include "core/error.hh"

namespace ferry::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotInitialised = 3;

struct Failure {
    std::string what;  // what failed, e.g. "cannot add folder /srv/a"
    std::string why;
    std::string hint;  // what to do; may be empty
    int status = kExitFailure;
};

template <class T>
using Outcome = tl::expected<T, Failure>;

// A Failure whose reason is an Error from a lower layer.
inline tl::unexpected<Failure> failed(std::string what, const Error& error, std::string hint = {}) {
    return tl::unexpected<Failure>(Failure{std::move(what), error.message, std::move(hint)});
}
inline tl::unexpected<Failure> failed(std::string what, std::string why, std::string hint = {},
                                      int status = kExitFailure) {
    return tl::unexpected<Failure>(
        Failure{std::move(what), std::move(why), std::move(hint), status});
}

// Prints the failure to stderr and returns its exit status.
int report(const Failure& failure);

}  // namespace ferry::cli
