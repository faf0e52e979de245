#include "sync/versions.hh"

#include <algorithm>
#include <chrono>
#include <optional>

#include "core/path_rules.hh"
#include "sync/write_steps.hh"

namespace ferry {

namespace {

constexpr std::int64_t kNsPerSecond = 1'000'000'000;
constexpr std::size_t kTimeChars = 15;      // YYYYMMDD-HHMMSS
constexpr unsigned kMaxCounter = 9999;      // "-1" .. "-9999" for one second
constexpr std::size_t kSuffixRoom = 1 + kTimeChars + 5;  // '~', time, "-9999"
constexpr std::size_t kCopyBuffer = 1 << 20;

// The earliest and latest times a name can say (four-digit years).
constexpr std::int64_t kLastSecond = 253'402'300'799;  // 9999-12-31 23:59:59 UTC

void append_digits(std::string& out, std::int64_t value, int width) {
    char digits[20];
    for (int i = width - 1; i >= 0; --i) {
        digits[i] = static_cast<char>('0' + value % 10);
        value /= 10;
    }
    out.append(digits, static_cast<std::size_t>(width));
}

// "YYYYMMDD-HHMMSS" of `ns` in UTC (pure arithmetic: no locale, no time zone
// database), clamped to years 1970..9999.
std::string format_utc(std::int64_t ns) {
    using namespace std::chrono;
    const std::int64_t secs = std::clamp<std::int64_t>(ns / kNsPerSecond, 0, kLastSecond);
    const sys_seconds t{seconds{secs}};
    const sys_days day = floor<days>(t);
    const year_month_day ymd{day};
    const std::int64_t in_day = (t - day).count();
    std::string out;
    out.reserve(kTimeChars);
    append_digits(out, static_cast<int>(ymd.year()), 4);
    append_digits(out, static_cast<unsigned>(ymd.month()), 2);
    append_digits(out, static_cast<unsigned>(ymd.day()), 2);
    out.push_back('-');
    append_digits(out, in_day / 3600, 2);
    append_digits(out, in_day / 60 % 60, 2);
    append_digits(out, in_day % 60, 2);
    return out;
}

std::optional<std::int64_t> parse_number(std::string_view text) {
    std::int64_t value = 0;
    for (const char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return value;
}

// The inverse of format_utc(), for exactly kTimeChars characters.
std::optional<std::int64_t> parse_utc(std::string_view text) {
    using namespace std::chrono;
    if (text.size() != kTimeChars || text[8] != '-') return std::nullopt;
    const auto y = parse_number(text.substr(0, 4)), mo = parse_number(text.substr(4, 2)),
               d = parse_number(text.substr(6, 2)), h = parse_number(text.substr(9, 2)),
               mi = parse_number(text.substr(11, 2)), s = parse_number(text.substr(13, 2));
    if (!y || !mo || !d || !h || !mi || !s || *h > 23 || *mi > 59 || *s > 59) return std::nullopt;
    const year_month_day ymd{year{static_cast<int>(*y)}, month{static_cast<unsigned>(*mo)},
                             day{static_cast<unsigned>(*d)}};
    if (!ymd.ok()) return std::nullopt;
    const std::int64_t secs = sys_days{ymd}.time_since_epoch().count() * 86400 + *h * 3600 + *mi * 60 + *s;
    return secs * kNsPerSecond;
}

// A version's name without its time: the kept file's name split at its
// extension (the last '.', not a leading one), the stem shortened (never
// inside a UTF-8 sequence) so that any time and counter still fit in
// kMaxNameBytes. A very long extension stays part of the stem.
struct VersionBase {
    std::string_view stem;
    std::string_view ext;  // "" or starting with '.'
};

VersionBase version_base(std::string_view name) {
    VersionBase base{name, {}};
    const auto dot = name.rfind('.');
    constexpr std::size_t room = kMaxNameBytes - kSuffixRoom;
    if (dot != std::string_view::npos && dot > 0 && name.size() - dot <= room / 2) {
        base.stem = name.substr(0, dot);
        base.ext = name.substr(dot);
    }
    if (base.stem.size() + base.ext.size() > room) {
        std::size_t cut = room - base.ext.size();
        while (cut > 0 && (static_cast<unsigned char>(base.stem[cut]) & 0xc0) == 0x80) --cut;
        base.stem = base.stem.substr(0, cut);
    }
    return base;
}

std::string version_name(const VersionBase& base, std::string_view time, unsigned counter) {
    std::string out(base.stem);
    out.push_back('~');
    out.append(time);
    if (counter > 0) out.append("-").append(std::to_string(counter));
    out.append(base.ext);
    return out;
}

struct ParsedTime {
    std::int64_t kept_ns = 0;
    unsigned counter = 0;
};

// `rest` is what follows a '~': the time, an optional "-N" (N in
// 1..kMaxCounter, no leading zero), then exactly `ext`.
std::optional<ParsedTime> parse_time_part(std::string_view rest, std::string_view ext) {
    if (rest.size() < kTimeChars + ext.size() || !rest.ends_with(ext)) return std::nullopt;
    const auto kept = parse_utc(rest.substr(0, kTimeChars));
    if (!kept) return std::nullopt;
    ParsedTime out{*kept, 0};
    const std::string_view counter = rest.substr(kTimeChars, rest.size() - kTimeChars - ext.size());
    if (counter.empty()) return out;
    if (counter.size() < 2 || counter.size() > 5 || counter[0] != '-' || counter[1] == '0')
        return std::nullopt;
    const auto n = parse_number(counter.substr(1));
    if (!n) return std::nullopt;
    out.counter = static_cast<unsigned>(*n);
    return out;
}

// The time in any version's name: after the last '~' that starts a valid
// time, followed by an optional counter and then nothing or an extension.
std::optional<ParsedTime> parse_any_version_name(std::string_view name) {
    for (auto tilde = name.rfind('~'); tilde != std::string_view::npos && tilde > 0;
         tilde = name.rfind('~', tilde - 1)) {
        const std::string_view rest = name.substr(tilde + 1);
        auto ext_start = rest.find('.', kTimeChars);
        const std::string_view ext = ext_start == std::string_view::npos ? std::string_view{}
                                                                          : rest.substr(ext_start);
        if (auto parsed = parse_time_part(rest, ext)) return parsed;
    }
    return std::nullopt;
}

// Where the versions of `path` are kept.
std::string versions_dir_of(std::string_view path) {
    const std::string_view parent = parent_path(path);
    return parent.empty() ? std::string(kVersionsDir) : join_path(kVersionsDir, parent);
}

bool is_kept_kind(EntryKind kind) { return kind == EntryKind::file || kind == EntryKind::symlink; }

// Copies the regular file `from` to `to` (created with `mode`, given
// `mtime_ns`), fsynced with its mode and mtime.
Result<void> copy_file(Filesystem& fs, std::string_view from, std::string_view to, std::uint32_t mode,
                       std::int64_t mtime_ns) {
    auto in = fs.open_read(from);
    if (!in) return tl::unexpected(in.error());
    auto out = fs.open_write(to, mode);
    if (!out) return tl::unexpected(out.error());
    std::vector<std::uint8_t> buffer(kCopyBuffer);
    for (std::uint64_t offset = 0;;) {
        auto n = (*in)->read_at(offset, buffer);
        if (!n) return tl::unexpected(n.error());
        if (*n == 0) break;
        if (auto w = (*out)->write_at(offset, std::span(buffer).first(*n)); !w) return w;
        offset += *n;
    }
    if (auto set = (*out)->set_mtime(mtime_ns); !set) return set;
    return (*out)->sync();
}

}  // namespace

Versions::Versions(Filesystem& fs, std::int64_t retention_ns) : m_fs(fs), m_retention_ns(retention_ns) {}

Result<std::string> Versions::keep(std::string_view path, std::int64_t now_ns, KeptSync sync) {
    const std::string context = "cannot keep a version of '" + printable_path(path) + "'";
    if (auto ok = check_writable_path(path, context); !ok) return tl::unexpected(ok.error());
    auto st = m_fs.lstat(path);
    if (!st) return in_context(st.error(), context);
    if (!is_kept_kind(st->kind))
        return fail(Errc::unsupported, context + ": it is a " + entry_kind_name(st->kind) +
                                           " (only files and symlinks are kept)");
    const std::string dir = versions_dir_of(path);
    const VersionBase base = version_base(base_name(path));
    const std::string time = format_utc(now_ns);
    // A second attempt when the directory vanished: a prune running at the
    // same time may remove one that was just made and is still empty.
    for (int attempt = 0;; ++attempt) {
        if (auto made = make_dirs(m_fs, dir); !made) return in_context(made.error(), context);
        unsigned counter = 0;
        for (; counter <= kMaxCounter; ++counter) {
            std::string version_path = join_path(dir, version_name(base, time, counter));
            auto taken = m_fs.lstat(version_path);
            if (taken) continue;
            if (taken.error().code != Errc::not_found) return in_context(taken.error(), context);
            auto moved = m_fs.rename(path, version_path);
            if (moved) {
                if (sync == KeptSync::now) {
                    if (auto synced = m_fs.sync_dir(dir); !synced) return in_context(synced.error(), context);
                }
                return version_path;
            }
            const bool dir_vanished = moved.error().code == Errc::not_found && !m_fs.lstat(dir);
            if (!dir_vanished || attempt > 0) return in_context(moved.error(), context);
            break;
        }
        if (counter > kMaxCounter)
            return fail(Errc::already_exists, context + ": " + std::to_string(kMaxCounter + 1) +
                                                  " versions were kept within one second");
    }
}

Result<std::vector<StoredVersion>> Versions::list(std::string_view path) {
    if (auto ok = check_writable_path(path, "cannot list versions"); !ok) return tl::unexpected(ok.error());
    const std::string dir = versions_dir_of(path);
    const VersionBase base = version_base(base_name(path));
    std::vector<std::pair<ParsedTime, StoredVersion>> found;
    auto entries = m_fs.scan_dir(dir);
    if (!entries) {
        if (entries.error().code == Errc::not_found) return std::vector<StoredVersion>{};
        return in_context(entries.error(), "cannot list versions of '" + printable_path(path) + "'");
    }
    for (const auto& entry : *entries) {
        const std::string_view name = entry.name;
        if (!entry.stat || !is_kept_kind(entry.stat->kind)) continue;
        if (name.size() <= base.stem.size() || !name.starts_with(base.stem) || name[base.stem.size()] != '~')
            continue;
        const auto parsed = parse_time_part(name.substr(base.stem.size() + 1), base.ext);
        if (!parsed) continue;
        found.push_back({*parsed, StoredVersion{join_path(dir, name), parsed->kept_ns, entry.stat->size}});
    }
    std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) {
        return std::pair(a.first.kept_ns, a.first.counter) < std::pair(b.first.kept_ns, b.first.counter);
    });
    std::vector<StoredVersion> out;
    out.reserve(found.size());
    for (auto& [parsed, version] : found) out.push_back(std::move(version));
    return out;
}

Result<void> Versions::restore(std::string_view version_path, std::string_view path, std::int64_t now_ns) {
    const std::string context =
        "cannot restore '" + printable_path(version_path) + "' to '" + printable_path(path) + "'";
    const std::string prefix = std::string(kVersionsDir) + "/";
    if (!is_folder_relative(version_path) || !version_path.starts_with(prefix))
        return fail(Errc::invalid_argument, context + ": not a path inside " + std::string(kVersionsDir));
    if (auto ok = check_writable_path(path, context); !ok) return tl::unexpected(ok.error());
    auto st = m_fs.lstat(version_path);
    if (!st) return in_context(st.error(), context);
    if (!is_kept_kind(st->kind))
        return fail(Errc::unsupported, context + ": the version is a " + entry_kind_name(st->kind));
    auto current = m_fs.lstat(path);
    if (!current && current.error().code != Errc::not_found) return in_context(current.error(), context);
    if (current && !is_kept_kind(current->kind))
        return fail(Errc::already_exists, context + ": a " + std::string(entry_kind_name(current->kind)) +
                                              " is there; move it away first");

    // Deterministic, so a restore interrupted by a crash leaves one name that
    // the next attempt overwrites (and the scanner ignores meanwhile).
    const std::string temp = temporary_path(path, derive_unique({"restore", version_path, path}));
    if (auto stale = m_fs.lstat(temp); stale && stale->kind != EntryKind::file) {
        if (auto r = m_fs.remove(temp); !r) return in_context(r.error(), context);
    }

    if (auto made = make_dirs(m_fs, parent_path(path)); !made) return in_context(made.error(), context);
    Result<void> built;
    if (st->kind == EntryKind::file) {
        built = copy_file(m_fs, version_path, temp, st->mode, st->mtime_ns);
    } else {
        auto target = m_fs.read_link(version_path);
        if (!target) return in_context(target.error(), context);
        built = m_fs.make_symlink(*target, temp);
    }
    if (!built) {
        (void)m_fs.remove(temp);
        return in_context(built.error(), context);
    }
    // What is there now is kept too: a restore never loses content.
    if (current) {
        if (auto kept = keep(path, now_ns); !kept) {
            (void)m_fs.remove(temp);
            return in_context(kept.error(), context);
        }
    }
    if (auto moved = m_fs.rename(temp, path); !moved) return in_context(moved.error(), context);
    if (auto synced = m_fs.sync_dir(parent_path(path)); !synced) return in_context(synced.error(), context);
    return {};
}

Result<std::size_t> Versions::prune(std::int64_t now_ns) {
    const std::int64_t cutoff = now_ns - m_retention_ns;
    std::size_t removed = 0;
    // Directories in the order they were found, so that children come after
    // their parents: walked in reverse, emptied ones are removed bottom up.
    std::vector<std::string> dirs{std::string(kVersionsDir)};
    for (std::size_t i = 0; i < dirs.size(); ++i) {
        const std::string dir = dirs[i];
        auto entries = m_fs.scan_dir(dir);
        if (!entries) {
            if (entries.error().code == Errc::not_found) continue;
            return in_context(entries.error(), "cannot prune old versions");
        }
        for (const auto& entry : *entries) {
            if (!entry.stat) continue;
            std::string child = join_path(dir, entry.name);
            if (entry.stat->kind == EntryKind::directory) {
                dirs.push_back(std::move(child));
                continue;
            }
            const auto parsed = parse_any_version_name(entry.name);
            if (!parsed || parsed->kept_ns >= cutoff) continue;
            if (auto r = m_fs.remove(child); !r && r.error().code != Errc::not_found)
                return in_context(r.error(), "cannot prune old versions");
            ++removed;
        }
    }
    for (std::size_t i = dirs.size(); i-- > 1;) {
        auto left = m_fs.list_dir(dirs[i]);
        if (left && left->empty()) (void)m_fs.remove(dirs[i]);  // a keep() may just have filled it
    }
    return removed;
}

}  // namespace ferry
