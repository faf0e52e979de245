// Folder modes: whether a device sends, receives, or both, for one folder.
//
// send-receive: local changes go out, remote changes come in. send-only:
// remote changes are never applied here (`ferry folder override` makes the
// peers match this device). receive-only: local changes are never sent
// (`ferry folder revert` puts back the global state). Pure values.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/error.hh"

namespace ferry {

enum class FolderMode : std::uint8_t { send_receive = 0, send_only = 1, receive_only = 2 };

const char* folder_mode_name(FolderMode mode);  // "send-receive", "send-only", "receive-only"
Result<FolderMode> parse_folder_mode(std::string_view text);

}  // namespace ferry
