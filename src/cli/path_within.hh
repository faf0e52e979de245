// Whether one absolute path is another or lies inside it, by components:
// "/a/bc" is not inside "/a/b". Both must be canonical (no "..", no
// trailing '/'). Pure; thread-safe.
#pragma once

#include <string_view>

namespace ferry::cli {

inline bool path_within(std::string_view inner, std::string_view outer) {
    if (outer == "/") return inner.starts_with('/');
    return inner == outer ||
           (inner.size() > outer.size() && inner.starts_with(outer) && inner[outer.size()] == '/');
}

}  // namespace ferry::cli
