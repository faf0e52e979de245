// Gitignore wildcards: compiled once, matched without backtracking blow-ups.
//
// The syntax of git's wildmatch with WM_PATHNAME, matched against a path
// already split into components:
//   '*'      any run of characters within one component
//   '?'      one character (one Unicode code point; git counts bytes)
//   '[...]'  one character from a set: ranges 'a-z', negation '[!...]' or
//            '[^...]', ']' first is literal, '\' escapes, POSIX classes
//            '[:alpha:]' and the like (ASCII only)
//   '\x'     x literally
//   '**'     as a whole component, any number of components: zero or more
//            when leading ("**/x") or between slashes ("a/**/b"), one or more
//            when trailing after a slash ("a/**"); elsewhere it is '*'.
// A '/' outside brackets (also "\/") separates components. As in git, a
// pattern with an unterminated '[', an unknown class name or a trailing
// lone '\' never matches.
//
// Matching uses the classic single-backtrack-point algorithm at both levels
// (characters within a component, components within a path), so its cost
// is at most the product of the pattern and text lengths, never exponential.
// Pure; an instance is immutable after compile() and safe to share.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ferry {

class Glob {
public:
    static Glob compile(std::string_view pattern);

    // Whether the pattern matches the whole sequence of path components.
    bool matches(std::span<const std::string_view> components) const;

private:
    enum class Op : std::uint8_t { literal, any, star, set };
    struct Token {
        Op op;
        std::uint32_t begin = 0;  // literal: byte range in m_literals; set: index in m_sets
        std::uint32_t end = 0;
    };
    struct CharSet {
        bool negated = false;
        std::uint16_t classes = 0;  // bit per POSIX class
        std::vector<std::pair<char32_t, char32_t>> ranges;
        bool contains(char32_t c) const;
    };
    struct Part {
        std::vector<Token> tokens;
        bool globstar = false;  // a whole component of '**'
    };
    class Parser;

    std::string_view literal(const Token& token) const;
    bool matches_part(const Part& part, std::string_view name) const;
    std::size_t match_token(const Token& token, std::string_view name, std::size_t pos) const;

    std::string m_literals;
    std::vector<CharSet> m_sets;
    std::vector<Part> m_parts;
    bool m_never = false;
};

}  // namespace ferry
