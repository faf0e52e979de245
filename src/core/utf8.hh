// UTF-8 helpers shared by the path rules and the ignore matcher (utf8proc).
//
// Strict decoding: overlong forms, surrogates and values past U+10FFFF are
// invalid, as utf8proc defines. Pure; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ferry {

// One decoded character: its code point and how many bytes it takes;
// `length` is 0 when the bytes at that position are not valid UTF-8.
struct Utf8Char {
    char32_t code_point = 0;
    std::size_t length = 0;
};
Utf8Char utf8_decode(std::string_view text, std::size_t pos);

// NFC form of `text`; nullopt when it is not valid UTF-8.
std::optional<std::string> utf8_nfc(std::string_view text);

// Full Unicode case folding followed by NFC; nullopt when not valid UTF-8.
std::optional<std::string> utf8_nfc_casefold(std::string_view text);

// Whether a and b are equal when ASCII letters are compared without case
// (Windows device names, the `.ferry` folder); other bytes must be equal.
bool iequals_ascii(std::string_view a, std::string_view b);

}  // namespace ferry
