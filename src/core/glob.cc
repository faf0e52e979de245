#include "core/glob.hh"

#include <array>

#include "core/utf8.hh"

namespace ferry {

namespace {

// One character of a pattern or a name. A byte that is not valid UTF-8 is a
// character of its own, with a value no real code point has.
struct Unit {
    char32_t value;
    std::size_t length;
};

Unit unit_at(std::string_view s, std::size_t pos) {
    const auto byte = static_cast<unsigned char>(s[pos]);
    if (byte < 0x80) return {byte, 1};  // most names are ASCII: skip the decoder
    const Utf8Char c = utf8_decode(s, pos);
    if (c.length == 0)
        return {static_cast<char32_t>(0x110000 + static_cast<unsigned char>(s[pos])), 1};
    return {c.code_point, c.length};
}

constexpr std::array<std::string_view, 12> kClassNames = {
    "alnum", "alpha", "blank", "cntrl", "digit", "graph",
    "lower", "print", "punct", "space", "upper", "xdigit",
};

// ASCII definitions, independent of the C locale.
bool in_class(std::size_t index, char32_t c) {
    const bool upper = c >= 'A' && c <= 'Z';
    const bool lower = c >= 'a' && c <= 'z';
    const bool digit = c >= '0' && c <= '9';
    const bool graph = c > 0x20 && c < 0x7f;
    switch (index) {
        case 0: return upper || lower || digit;
        case 1: return upper || lower;
        case 2: return c == ' ' || c == '\t';
        case 3: return c < 0x20 || c == 0x7f;
        case 4: return digit;
        case 5: return graph;
        case 6: return lower;
        case 7: return graph || c == ' ';
        case 8: return graph && !upper && !lower && !digit;
        case 9: return c == ' ' || (c >= '\t' && c <= '\r');
        case 10: return upper;
        default: return digit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}

// The classic wildcard algorithm: on a mismatch, let the most recent star
// absorb one more unit of text and retry from just after it. Earlier stars
// never need revisiting, because every other element matches exactly one
// unit (a literal run matches a fixed number), so the cost is bounded by
// pattern length times text length. `consume(pi, ti)` returns how many text
// positions pattern element pi matches at ti (0: no match); `step(ti)` how
// far a star advances.
template <class IsStar, class Consume, class Step>
bool wildcard_match(std::size_t pattern_size, std::size_t text_size, IsStar is_star,
                    Consume consume, Step step) {
    constexpr std::size_t none = static_cast<std::size_t>(-1);
    std::size_t pi = 0, ti = 0, star_pi = none, star_ti = 0;
    while (true) {
        if (pi < pattern_size) {
            if (is_star(pi)) {
                star_pi = pi++;
                star_ti = ti;
                continue;
            }
            if (ti < text_size) {
                if (const std::size_t n = consume(pi, ti)) {
                    ti += n;
                    ++pi;
                    continue;
                }
            }
        } else if (ti == text_size) {
            return true;
        }
        if (star_pi == none || star_ti >= text_size) return false;
        star_ti += step(star_ti);
        ti = star_ti;
        pi = star_pi + 1;
    }
}

}  // namespace

bool Glob::CharSet::contains(char32_t c) const {
    for (const auto& [lo, hi] : ranges) {
        if (c >= lo && c <= hi) return true;
    }
    if (classes != 0 && c < 0x80) {
        for (std::size_t i = 0; i < kClassNames.size(); ++i) {
            if ((classes & (1u << i)) && in_class(i, c)) return true;
        }
    }
    return false;
}

class Glob::Parser {
public:
    Parser(Glob& out, std::string_view pattern) : m_out(out), m_pat(pattern) {}

    // Returns false when the pattern can never match (git's WM_ABORT_ALL).
    bool run() {
        while (m_pos < m_pat.size()) {
            const char c = m_pat[m_pos];
            if (c == '/') {
                finish_part();
                ++m_pos;
            } else if (c == '\\') {
                if (m_pos + 1 == m_pat.size()) return false;
                if (m_pat[m_pos + 1] == '/') {
                    finish_part();
                    m_pos += 2;
                } else {
                    add_literal(m_pos + 1);
                }
            } else if (c == '*') {
                star();
            } else if (c == '?') {
                m_part.tokens.push_back(Token{Op::any});
                ++m_pos;
            } else if (c == '[') {
                if (!set()) return false;
            } else {
                add_literal(m_pos);
            }
        }
        finish_part();
        return true;
    }

private:
    bool separator_at(std::size_t pos) const {
        return pos == m_pat.size() || m_pat[pos] == '/' ||
               (m_pat[pos] == '\\' && pos + 1 < m_pat.size() && m_pat[pos + 1] == '/');
    }

    void finish_part() {
        m_out.m_parts.push_back(std::move(m_part));
        m_part = Part{};
    }

    // Appends the character at `pos` to the literal run and moves past it.
    void add_literal(std::size_t pos) {
        const Unit u = unit_at(m_pat, pos);
        auto& lits = m_out.m_literals;
        if (m_part.tokens.empty() || m_part.tokens.back().op != Op::literal) {
            const auto at = static_cast<std::uint32_t>(lits.size());
            m_part.tokens.push_back(Token{Op::literal, at, at});
        }
        lits.append(m_pat.substr(pos, u.length));
        m_part.tokens.back().end = static_cast<std::uint32_t>(lits.size());
        m_pos = pos + u.length;
    }

    void star() {
        const std::size_t begin = m_pos;
        while (m_pos < m_pat.size() && m_pat[m_pos] == '*') ++m_pos;
        if (m_pos - begin >= 2 && m_part.tokens.empty() && separator_at(m_pos)) {
            m_part.globstar = true;
        }
        if (m_part.tokens.empty() || m_part.tokens.back().op != Op::star) {
            m_part.tokens.push_back(Token{Op::star});
        }
    }

    // Parses "[...]" at m_pos, as git's wildmatch reads it.
    bool set() {
        std::size_t p = m_pos + 1;
        CharSet cs;
        if (p < m_pat.size() && (m_pat[p] == '!' || m_pat[p] == '^')) {
            cs.negated = true;
            ++p;
        }
        bool first = true;
        // After a single character, '-' makes a range from it. As in git,
        // that character stays a member even when the range is empty
        // ("[a-\]]" matches 'a').
        bool has_prev = false;
        char32_t prev = 0;
        while (true) {
            if (p >= m_pat.size()) return false;
            const char c = m_pat[p];
            if (c == ']' && !first) {
                ++p;
                break;
            }
            first = false;
            if (c == '-' && has_prev && p + 1 < m_pat.size() && m_pat[p + 1] != ']') {
                ++p;
                if (m_pat[p] == '\\' && ++p >= m_pat.size()) return false;
                const Unit hi = unit_at(m_pat, p);
                cs.ranges.emplace_back(prev, hi.value);
                p += hi.length;
                has_prev = false;
                continue;
            }
            if (c == '[' && p + 1 < m_pat.size() && m_pat[p + 1] == ':') {
                const std::size_t name_begin = p + 2;
                const std::size_t close = m_pat.find(']', name_begin);
                if (close == std::string_view::npos) return false;
                if (close > name_begin && m_pat[close - 1] == ':') {
                    const std::string_view name = m_pat.substr(name_begin, close - 1 - name_begin);
                    std::size_t i = 0;
                    while (i < kClassNames.size() && kClassNames[i] != name) ++i;
                    if (i == kClassNames.size()) return false;
                    cs.classes = static_cast<std::uint16_t>(cs.classes | (1u << i));
                    p = close + 1;
                    has_prev = false;
                    continue;
                }
                // No ":]": the '[' is an ordinary member.
            }
            if (c == '\\' && ++p >= m_pat.size()) return false;
            const Unit u = unit_at(m_pat, p);
            cs.ranges.emplace_back(u.value, u.value);
            prev = u.value;
            has_prev = true;
            p += u.length;
        }
        m_part.tokens.push_back(Token{Op::set, static_cast<std::uint32_t>(m_out.m_sets.size())});
        m_out.m_sets.push_back(std::move(cs));
        m_pos = p;
        return true;
    }

    Glob& m_out;
    std::string_view m_pat;
    std::size_t m_pos = 0;
    Part m_part;
};

Glob Glob::compile(std::string_view pattern) {
    Glob g;
    if (!Parser(g, pattern).run()) {
        g = Glob{};
        g.m_never = true;
        return g;
    }
    // A trailing "/**" needs at least one component: "a/**" is "a/*/**".
    if (g.m_parts.size() > 1 && g.m_parts.back().globstar) {
        Part one;
        one.tokens.push_back(Token{Op::star});
        g.m_parts.insert(g.m_parts.end() - 1, std::move(one));
    }
    return g;
}

std::size_t Glob::match_token(const Token& token, std::string_view name, std::size_t pos) const {
    switch (token.op) {
        case Op::literal: {
            const std::string_view lit = literal(token);
            return name.substr(pos, lit.size()) == lit ? lit.size() : 0;
        }
        case Op::any: return unit_at(name, pos).length;
        case Op::set: {
            const Unit u = unit_at(name, pos);
            const CharSet& cs = m_sets[token.begin];
            return cs.contains(u.value) != cs.negated ? u.length : 0;
        }
        case Op::star: break;
    }
    return 0;
}

std::string_view Glob::literal(const Token& token) const {
    return std::string_view(m_literals).substr(token.begin, token.end - token.begin);
}

bool Glob::matches_part(const Part& part, std::string_view name) const {
    const auto& tokens = part.tokens;
    // A literal at either end must sit at that end of the name: a cheap
    // test that rejects most names ("*.o" against "main.c") at once.
    if (!tokens.empty()) {
        if (tokens.front().op == Op::literal && !name.starts_with(literal(tokens.front())))
            return false;
        if (tokens.back().op == Op::literal && !name.ends_with(literal(tokens.back())))
            return false;
    }
    return wildcard_match(
        tokens.size(), name.size(), [&](std::size_t pi) { return tokens[pi].op == Op::star; },
        [&](std::size_t pi, std::size_t ti) { return match_token(tokens[pi], name, ti); },
        [&](std::size_t ti) { return unit_at(name, ti).length; });
}

bool Glob::matches(std::span<const std::string_view> components) const {
    if (m_never) return false;
    return wildcard_match(
        m_parts.size(), components.size(), [&](std::size_t pi) { return m_parts[pi].globstar; },
        [&](std::size_t pi, std::size_t ti) -> std::size_t {
            return matches_part(m_parts[pi], components[ti]) ? 1 : 0;
        },
        [](std::size_t) { return std::size_t{1}; });
}

}  // namespace ferry
