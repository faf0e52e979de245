#include "core/error.hh"

namespace ferry {

const char* errc_name(Errc code) {
    switch (code) {
    case Errc::invalid_argument: return "invalid argument";
    case Errc::not_found: return "not found";
    case Errc::already_exists: return "already exists";
    case Errc::permission_denied: return "permission denied";
    case Errc::io: return "I/O error";
    case Errc::corrupt: return "corrupt data";
    case Errc::too_new: return "written by a newer ferry";
    case Errc::unsupported: return "unsupported";
    case Errc::changed: return "changed while being read";
    case Errc::no_space: return "no space left";
    case Errc::busy: return "busy";
    }
    return "unknown error";
}

}  // namespace ferry
