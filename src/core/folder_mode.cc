#include "core/folder_mode.hh"

#include <string>

namespace ferry {

const char* folder_mode_name(FolderMode mode) {
    switch (mode) {
    case FolderMode::send_receive: return "send-receive";
    case FolderMode::send_only: return "send-only";
    case FolderMode::receive_only: return "receive-only";
    }
    return "unknown";
}

Result<FolderMode> parse_folder_mode(std::string_view text) {
    for (auto mode : {FolderMode::send_receive, FolderMode::send_only, FolderMode::receive_only}) {
        if (text == folder_mode_name(mode)) return mode;
    }
    return fail(Errc::invalid_argument, "unknown folder mode '" + std::string(text) +
                                            "': use send-receive, send-only or receive-only");
}

}  // namespace ferry
