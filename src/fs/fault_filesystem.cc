#include "fs/fault_filesystem.hh"

#include <algorithm>
#include <utility>

namespace ferry {

namespace {

// Runs `inner` as one numbered call (see crash points in the header).
template <class F>
auto numbered(FaultInjectingFilesystem& fs, std::string_view path, F&& inner) -> decltype(inner()) {
    auto number = fs.start_call(path);
    if (!number) return tl::unexpected(number.error());
    auto result = inner();
    fs.finish_call(*number);
    return result;
}

// A numbered call that asks the rules and the hook as `op` on `path` first.
template <class F>
auto guarded(FaultInjectingFilesystem& fs, FsOp op, std::string_view path, F&& inner) -> decltype(inner()) {
    return numbered(fs, path, [&]() -> decltype(inner()) {
        if (auto r = fs.before(op, path); !r) return tl::unexpected(r.error());
        return inner();
    });
}

class FaultReadFile final : public ReadFile {
public:
    FaultReadFile(FaultInjectingFilesystem& fs, std::string path, std::unique_ptr<ReadFile> inner)
        : m_fs(fs), m_path(std::move(path)), m_inner(std::move(inner)) {}

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> buf) override {
        return guarded(m_fs, FsOp::read, m_path, [&] { return m_inner->read_at(offset, buf); });
    }
    Result<FileStat> stat() override {
        return numbered(m_fs, m_path, [&] { return m_inner->stat(); });
    }

private:
    FaultInjectingFilesystem& m_fs;
    std::string m_path;
    std::unique_ptr<ReadFile> m_inner;
};

class FaultWriteFile final : public WriteFile {
public:
    FaultWriteFile(FaultInjectingFilesystem& fs, std::string path, std::unique_ptr<WriteFile> inner)
        : m_fs(fs), m_path(std::move(path)), m_inner(std::move(inner)) {}

    Result<void> write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
        return guarded(m_fs, FsOp::write, m_path, [&] { return m_inner->write_at(offset, data); });
    }
    Result<void> truncate(std::uint64_t size) override {
        return guarded(m_fs, FsOp::write, m_path, [&] { return m_inner->truncate(size); });
    }
    Result<void> sync() override {
        return guarded(m_fs, FsOp::sync, m_path, [&] { return m_inner->sync(); });
    }
    Result<void> set_mode(std::uint32_t mode) override {
        return guarded(m_fs, FsOp::set_mode, m_path, [&] { return m_inner->set_mode(mode); });
    }
    Result<void> set_mtime(std::int64_t mtime_ns) override {
        return guarded(m_fs, FsOp::set_mtime, m_path, [&] { return m_inner->set_mtime(mtime_ns); });
    }
    Result<FileStat> stat() override {
        return numbered(m_fs, m_path, [&] { return m_inner->stat(); });
    }

private:
    FaultInjectingFilesystem& m_fs;
    std::string m_path;
    std::unique_ptr<WriteFile> m_inner;
};

std::string injected_message(Errc code, std::string_view path) {
    return std::string(path) + ": injected failure: " + errc_name(code);
}

}  // namespace

void FaultInjectingFilesystem::fail_next(FsOp op, std::string path, Errc code) {
    const std::lock_guard lock(m_mutex);
    m_rules.push_back(Rule{op, std::move(path), code, true});
}

void FaultInjectingFilesystem::fail_always(FsOp op, std::string path, Errc code) {
    const std::lock_guard lock(m_mutex);
    m_rules.push_back(Rule{op, std::move(path), code, false});
}

void FaultInjectingFilesystem::set_hook(Hook hook) {
    const std::lock_guard lock(m_mutex);
    m_hook = hook ? std::make_shared<const Hook>(std::move(hook)) : nullptr;
}

void FaultInjectingFilesystem::clear() {
    const std::lock_guard lock(m_mutex);
    m_rules.clear();
    m_hook.reset();
}

std::uint64_t FaultInjectingFilesystem::count(FsOp op) const {
    const std::lock_guard lock(m_mutex);
    return m_counts[static_cast<std::size_t>(op)];
}

void FaultInjectingFilesystem::crash_after(std::uint64_t n, std::function<void()> on_crash) {
    std::function<void()> now;
    {
        const std::lock_guard lock(m_mutex);
        m_crash_at = m_calls + n;
        m_on_crash = std::move(on_crash);
        if (n == 0) {
            m_crashed = true;
            now = std::exchange(m_on_crash, nullptr);
        }
    }
    if (now) now();
}

bool FaultInjectingFilesystem::crashed() const {
    const std::lock_guard lock(m_mutex);
    return m_crashed;
}

void FaultInjectingFilesystem::revive() {
    const std::lock_guard lock(m_mutex);
    m_crash_at.reset();
    m_crashed = false;
    m_on_crash = nullptr;
}

std::uint64_t FaultInjectingFilesystem::calls() const {
    const std::lock_guard lock(m_mutex);
    return m_calls;
}

Result<std::uint64_t> FaultInjectingFilesystem::start_call(std::string_view path) {
    const std::lock_guard lock(m_mutex);
    if (m_crashed || (m_crash_at && m_calls >= *m_crash_at))
        return fail(Errc::io, std::string(path) + ": injected crash: the device is dead after call " +
                                  std::to_string(m_crash_at.value_or(m_calls)));
    return ++m_calls;
}

void FaultInjectingFilesystem::finish_call(std::uint64_t number) {
    std::function<void()> on_crash;
    {
        const std::lock_guard lock(m_mutex);
        if (m_crashed || number != m_crash_at) return;
        m_crashed = true;
        on_crash = std::exchange(m_on_crash, nullptr);
    }
    if (on_crash) on_crash();
}

Result<void> FaultInjectingFilesystem::before(FsOp op, std::string_view path) {
    {
        const std::lock_guard lock(m_mutex);
        ++m_counts[static_cast<std::size_t>(op)];
    }
    return check(op, path);
}

Result<void> FaultInjectingFilesystem::check(FsOp op, std::string_view path) {
    std::shared_ptr<const Hook> hook;
    {
        const std::lock_guard lock(m_mutex);
        const auto it = std::find_if(m_rules.begin(), m_rules.end(),
                                     [&](const Rule& r) { return r.op == op && r.path == path; });
        if (it != m_rules.end()) {
            const Errc code = it->code;
            if (it->once) m_rules.erase(it);
            return fail(code, injected_message(code, path));
        }
        hook = m_hook;
    }
    if (hook) return (*hook)(op, path);
    return {};
}

Result<FileStat> FaultInjectingFilesystem::lstat(std::string_view path) {
    return guarded(*this, FsOp::lstat, path, [&] { return m_inner.lstat(path); });
}

Result<std::vector<DirEntry>> FaultInjectingFilesystem::list_dir(std::string_view path) {
    return guarded(*this, FsOp::list_dir, path, [&] { return m_inner.list_dir(path); });
}

Result<std::vector<DirEntryStat>> FaultInjectingFilesystem::scan_dir(std::string_view path) {
    return guarded(*this, FsOp::scan_dir, path, [&] {
        auto entries = m_inner.scan_dir(path);
        if (!entries) return entries;
        for (auto& entry : *entries) {
            std::string child(path);
            if (!child.empty()) child.push_back('/');
            child.append(entry.name);
            if (auto r = check(FsOp::lstat, child); !r) entry.stat = tl::unexpected(r.error());
        }
        return entries;
    });
}

Result<std::unique_ptr<ReadFile>> FaultInjectingFilesystem::open_read(std::string_view path) {
    return guarded(*this, FsOp::open_read, path, [&]() -> Result<std::unique_ptr<ReadFile>> {
        auto file = m_inner.open_read(path);
        if (!file) return file;
        return std::make_unique<FaultReadFile>(*this, std::string(path), std::move(*file));
    });
}

Result<std::string> FaultInjectingFilesystem::read_link(std::string_view path) {
    return guarded(*this, FsOp::read_link, path, [&] { return m_inner.read_link(path); });
}

Result<std::unique_ptr<WriteFile>> FaultInjectingFilesystem::open_write(std::string_view path,
                                                                        std::uint32_t mode) {
    return guarded(*this, FsOp::open_write, path, [&]() -> Result<std::unique_ptr<WriteFile>> {
        auto file = m_inner.open_write(path, mode);
        if (!file) return file;
        return std::make_unique<FaultWriteFile>(*this, std::string(path), std::move(*file));
    });
}

Result<std::unique_ptr<WriteFile>> FaultInjectingFilesystem::open_update(std::string_view path,
                                                                         std::uint32_t mode) {
    return guarded(*this, FsOp::open_update, path, [&]() -> Result<std::unique_ptr<WriteFile>> {
        auto file = m_inner.open_update(path, mode);
        if (!file) return file;
        return std::make_unique<FaultWriteFile>(*this, std::string(path), std::move(*file));
    });
}

Result<void> FaultInjectingFilesystem::make_dir(std::string_view path, std::uint32_t mode) {
    return guarded(*this, FsOp::make_dir, path, [&] { return m_inner.make_dir(path, mode); });
}

Result<void> FaultInjectingFilesystem::make_symlink(std::string_view target, std::string_view path) {
    return guarded(*this, FsOp::make_symlink, path, [&] { return m_inner.make_symlink(target, path); });
}

Result<void> FaultInjectingFilesystem::remove(std::string_view path) {
    return guarded(*this, FsOp::remove, path, [&] { return m_inner.remove(path); });
}

Result<void> FaultInjectingFilesystem::rename(std::string_view from, std::string_view to) {
    return guarded(*this, FsOp::rename, from, [&] { return m_inner.rename(from, to); });
}

Result<void> FaultInjectingFilesystem::set_mtime(std::string_view path, std::int64_t mtime_ns) {
    return guarded(*this, FsOp::set_mtime, path, [&] { return m_inner.set_mtime(path, mtime_ns); });
}

Result<void> FaultInjectingFilesystem::set_mode(std::string_view path, std::uint32_t mode) {
    return guarded(*this, FsOp::set_mode, path, [&] { return m_inner.set_mode(path, mode); });
}

Result<void> FaultInjectingFilesystem::sync_dir(std::string_view path) {
    return guarded(*this, FsOp::sync_dir, path, [&] { return m_inner.sync_dir(path); });
}

Result<void> FaultInjectingFilesystem::sync_paths(std::span<const std::string> paths) {
    return numbered(*this, paths.empty() ? std::string_view() : paths.front(), [&]() -> Result<void> {
        for (const std::string& path : paths)
            if (auto r = before(FsOp::sync_paths, path); !r) return r;
        return m_inner.sync_paths(paths);
    });
}

}  // namespace ferry
