#include "fs/fs_error.hh"

#include <cerrno>
#include <cstring>
#include <string>

namespace ferry {

Errc errc_from_errno(int err) {
    switch (err) {
    case EACCES:
    case EPERM:
    case EROFS: return Errc::permission_denied;
    case ENOENT:
    case ENOTDIR: return Errc::not_found;
    case EEXIST: return Errc::already_exists;
    case ENOSPC:
    case EDQUOT: return Errc::no_space;
    case ELOOP:
    case EXDEV:
    case EINVAL: return Errc::invalid_argument;
    case EISDIR: return Errc::unsupported;
    default: return Errc::io;
    }
}

Error fs_error(std::string_view root, std::string_view path, std::string_view what, int err) {
    std::string message(root);
    if (!path.empty()) message.append("/").append(path);
    message.append(": ").append(what).append(": ");
    if (err == ELOOP || err == EXDEV)
        message.append("the path goes through a symlink (ferry never follows symlinks)");
    else
        message.append(std::strerror(err));
    return Error{errc_from_errno(err), std::move(message)};
}

}  // namespace ferry
