// A test Filesystem that ignores the case of names but keeps it, as macOS
// and Windows disks do by default: each path component finds the existing
// entry whose name equals it ignoring ASCII case, and a new entry keeps the
// name it was given. A rename that changes only the case renames the entry.
// Built over another Filesystem (MemoryFilesystem in the tests), which holds
// the entries; same thread rule as that one.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>

#include "core/path_rules.hh"
#include "sync/write_steps.hh"
#include "fs/filesystem.hh"

namespace ferry::test {

class CaseFoldingFilesystem final : public Filesystem {
public:
    explicit CaseFoldingFilesystem(Filesystem& inner) : m_inner(inner) {}

    Result<FileStat> lstat(std::string_view p) override { return m_inner.lstat(resolve(p)); }
    Result<std::vector<DirEntry>> list_dir(std::string_view p) override {
        return m_inner.list_dir(resolve(p));
    }
    Result<std::vector<DirEntryStat>> scan_dir(std::string_view p) override {
        return m_inner.scan_dir(resolve(p));
    }
    Result<std::unique_ptr<ReadFile>> open_read(std::string_view p) override {
        return m_inner.open_read(resolve(p));
    }
    Result<std::string> read_link(std::string_view p) override { return m_inner.read_link(resolve(p)); }
    Result<std::unique_ptr<WriteFile>> open_write(std::string_view p, std::uint32_t mode) override {
        return m_inner.open_write(resolve(p), mode);
    }
    Result<std::unique_ptr<WriteFile>> open_update(std::string_view p, std::uint32_t mode) override {
        return m_inner.open_update(resolve(p), mode);
    }
    Result<void> make_dir(std::string_view p, std::uint32_t mode) override {
        return m_inner.make_dir(resolve(p), mode);
    }
    Result<void> make_symlink(std::string_view target, std::string_view p) override {
        return m_inner.make_symlink(target, resolve(p));
    }
    Result<void> remove(std::string_view p) override { return m_inner.remove(resolve(p)); }
    Result<void> rename(std::string_view from, std::string_view to) override {
        const std::string source = resolve(from);
        std::string target = resolve(to);
        if (target == source) target = join_path(parent_path(target), base_name(to));  // new case
        return m_inner.rename(source, target);
    }
    Result<void> set_mtime(std::string_view p, std::int64_t mtime_ns) override {
        return m_inner.set_mtime(resolve(p), mtime_ns);
    }
    Result<void> set_mode(std::string_view p, std::uint32_t mode) override {
        return m_inner.set_mode(resolve(p), mode);
    }
    Result<void> sync_dir(std::string_view p) override { return m_inner.sync_dir(resolve(p)); }
    Result<void> sync_paths(std::span<const std::string> paths) override {
        std::vector<std::string> resolved;
        for (const std::string& p : paths) resolved.push_back(resolve(p));
        return m_inner.sync_paths(resolved);
    }

private:
    static bool same_ignoring_case(std::string_view a, std::string_view b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
            return std::tolower(static_cast<unsigned char>(x)) ==
                   std::tolower(static_cast<unsigned char>(y));
        });
    }
    // `path` with each component spelled as the existing entry it finds.
    std::string resolve(std::string_view path) {
        std::string out;
        std::size_t start = 0;
        while (start < path.size()) {
            const std::size_t end = std::min(path.find('/', start), path.size());
            std::string name(path.substr(start, end - start));
            if (auto entries = m_inner.list_dir(out)) {
                for (const DirEntry& entry : *entries)
                    if (same_ignoring_case(entry.name, name)) name = entry.name;
            }
            out = join_path(out, name);
            start = end + 1;
        }
        return out;
    }

    Filesystem& m_inner;
};

}  // namespace ferry::test
