#include "fs/posix_filesystem.hh"

#include "fs/fs_error.hh"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <map>

#ifdef __linux__
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

namespace ferry {

// An owned file descriptor.
class PosixFilesystem::Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : m_fd(fd) {}
    Fd(Fd&& other) noexcept : m_fd(std::exchange(other.m_fd, -1)) {}
    Fd& operator=(Fd&& other) noexcept {
        if (this != &other) {
            reset();
            m_fd = std::exchange(other.m_fd, -1);
        }
        return *this;
    }
    ~Fd() { reset(); }
    int get() const { return m_fd; }
    int release() { return std::exchange(m_fd, -1); }

private:
    void reset() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }
    int m_fd = -1;
};

// The directory that holds a path's last component, and that component.
// For the root itself, `fd` is not owned (-1) and `name` is empty.
struct PosixFilesystem::Parent {
    Fd owned;
    int fd = -1;
    std::string name;
};

namespace {

std::int64_t to_ns(const timespec& t) {
    return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

// A modification time for futimens/utimensat (the access time left alone).
std::array<timespec, 2> mtime_only(std::int64_t mtime_ns) {
    std::array<timespec, 2> times{};
    times[0].tv_sec = 0;
    times[0].tv_nsec = UTIME_OMIT;
    times[1].tv_sec = static_cast<time_t>(mtime_ns / 1'000'000'000);
    times[1].tv_nsec = static_cast<long>(mtime_ns % 1'000'000'000);
    if (times[1].tv_nsec < 0) {
        times[1].tv_nsec += 1'000'000'000;
        times[1].tv_sec -= 1;
    }
    return times;
}

FileStat to_file_stat(const struct stat& st) {
    FileStat out;
    switch (st.st_mode & S_IFMT) {
    case S_IFREG: out.kind = EntryKind::file; break;
    case S_IFDIR: out.kind = EntryKind::directory; break;
    case S_IFLNK: out.kind = EntryKind::symlink; break;
    default: out.kind = EntryKind::special; break;
    }
    out.size = out.kind == EntryKind::directory ? 0 : static_cast<std::uint64_t>(st.st_size);
    out.mtime_ns = to_ns(st.st_mtim);
    out.ctime_ns = to_ns(st.st_ctim);
    out.mode = st.st_mode & 07777;
    out.inode = st.st_ino;
    out.device = st.st_dev;
    return out;
}

template <class F>
auto retry_eintr(F f) {
    decltype(f()) r;
    do {
        r = f();
    } while (r < 0 && errno == EINTR);
    return r;
}

#ifdef __linux__
// -1 with errno; ENOSYS where the kernel has no openat2 (before 5.6).
int openat2_no_symlinks(int dirfd, const std::string& path, int flags, std::uint32_t mode) {
    open_how how{};
    how.flags = static_cast<std::uint64_t>(flags);
    how.mode = (flags & O_CREAT) ? mode : 0;
    how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_BENEATH;
    return static_cast<int>(retry_eintr(
        [&] { return syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how); }));
}
std::atomic<bool> g_have_openat2{true};
#endif

std::string_view last_component(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

std::string_view parent_of(std::string_view path) {
    const auto slash = path.rfind('/');
    return slash == std::string_view::npos ? std::string_view{} : path.substr(0, slash);
}

// A symlink opened with O_DIRECTORY|O_NOFOLLOW reports ENOTDIR; say what it
// really is (only for the message: the open has failed already).
int symlink_aware_errno(int err, int at, const char* name) {
    struct stat st;
    if (err == ENOTDIR && ::fstatat(at, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        return ELOOP;
    return err;
}

// Opens `path` below the directory `root` without following any symlink:
// openat2 where the kernel has it (unless `walk`), else one component at a
// time. Returns -1 with errno set on failure.
int open_no_symlinks(int root, const std::string& path, int flags, std::uint32_t mode, bool walk) {
#ifdef __linux__
    if (!walk && g_have_openat2.load(std::memory_order_relaxed)) {
        const int fd = openat2_no_symlinks(root, path, flags, mode);
        if (fd >= 0) return fd;
        if (errno != ENOSYS) {
            errno = symlink_aware_errno(errno, root, path.c_str());
            return -1;
        }
        g_have_openat2.store(false);
    }
#else
    (void)walk;
#endif
    int at = root;
    int owned = -1;
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        const bool last = slash == std::string::npos;
        const std::string name = path.substr(start, last ? std::string::npos : slash - start);
        const int fl = last ? flags : (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        const int fd = retry_eintr([&] { return ::openat(at, name.c_str(), fl, mode); });
        const int err = fd < 0 ? symlink_aware_errno(errno, at, name.c_str()) : 0;
        if (owned >= 0) ::close(owned);
        if (fd < 0 || last) {
            errno = err;
            return fd;
        }
        at = owned = fd;
        start = slash + 1;
    }
}

class PosixReadFile final : public ReadFile {
public:
    PosixReadFile(int fd, std::string display) : m_fd(fd), m_display(std::move(display)) {}
    ~PosixReadFile() override { ::close(m_fd); }

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> buf) override {
        const ssize_t n = retry_eintr(
            [&] { return ::pread(m_fd, buf.data(), buf.size(), static_cast<off_t>(offset)); });
        if (n < 0) return failure("cannot read", errno);
        return static_cast<std::size_t>(n);
    }

    Result<FileStat> stat() override {
        struct stat st;
        if (::fstat(m_fd, &st) != 0) return failure("cannot stat open file", errno);
        return to_file_stat(st);
    }

private:
    tl::unexpected<Error> failure(const char* what, int err) const {
        return fail(errc_from_errno(err), m_display + ": " + what + ": " + std::strerror(err));
    }
    int m_fd;
    std::string m_display;
};

class PosixWriteFile final : public WriteFile {
public:
    PosixWriteFile(int fd, std::string display) : m_fd(fd), m_display(std::move(display)) {}
    ~PosixWriteFile() override { ::close(m_fd); }

    Result<void> write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
        while (!data.empty()) {
            const ssize_t n = retry_eintr([&] {
                return ::pwrite(m_fd, data.data(), data.size(), static_cast<off_t>(offset));
            });
            if (n < 0) return failure("cannot write", errno);
            data = data.subspan(static_cast<std::size_t>(n));
            offset += static_cast<std::uint64_t>(n);
        }
        return {};
    }

    Result<void> truncate(std::uint64_t size) override {
        if (retry_eintr([&] { return ::ftruncate(m_fd, static_cast<off_t>(size)); }) != 0)
            return failure("cannot truncate", errno);
        return {};
    }

    Result<void> sync() override {
        if (retry_eintr([&] { return ::fsync(m_fd); }) != 0) return failure("cannot fsync", errno);
        return {};
    }

    Result<void> set_mode(std::uint32_t mode) override {
        if (::fchmod(m_fd, mode & 07777) != 0) return failure("cannot set mode", errno);
        return {};
    }

    Result<void> set_mtime(std::int64_t mtime_ns) override {
        if (::futimens(m_fd, mtime_only(mtime_ns).data()) != 0)
            return failure("cannot set modification time", errno);
        return {};
    }

    Result<FileStat> stat() override {
        struct stat st;
        if (::fstat(m_fd, &st) != 0) return failure("cannot stat open file", errno);
        return to_file_stat(st);
    }

private:
    tl::unexpected<Error> failure(const char* what, int err) const {
        return fail(errc_from_errno(err), m_display + ": " + what + ": " + std::strerror(err));
    }
    int m_fd;
    std::string m_display;
};

// Reads every entry name of an open directory (takes ownership of `fd`).
// Calls `on_entry(dirfd, name)` for each, "." and ".." excluded.
template <class F>
int read_entries(int fd, F on_entry) {
    DIR* dir = ::fdopendir(fd);
    if (dir == nullptr) {
        const int err = errno;
        ::close(fd);
        return err;
    }
    int err = 0;
    while (true) {
        errno = 0;
        const dirent* ent = ::readdir(dir);
        if (ent == nullptr) {
            err = errno;
            break;
        }
        const char* name = ent->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))) continue;
        on_entry(::dirfd(dir), name);
    }
    ::closedir(dir);
    return err;
}

}  // namespace

PosixFilesystem::PosixFilesystem(std::string root, Resolve resolve)
    : m_root(std::move(root)), m_resolve(resolve) {
    while (m_root.size() > 1 && m_root.back() == '/') m_root.pop_back();
}

PosixFilesystem::~PosixFilesystem() {
    if (const int fd = m_root_fd.load(); fd >= 0) ::close(fd);
}

Error PosixFilesystem::error(std::string_view path, const char* what, int err) const {
    return fs_error(m_root, path, what, err);
}

Result<int> PosixFilesystem::root_fd() {
    if (const int fd = m_root_fd.load(std::memory_order_acquire); fd >= 0) return fd;
    const std::lock_guard lock(m_root_mutex);
    if (const int fd = m_root_fd.load(); fd >= 0) return fd;
    const int fd = retry_eintr(
        [&] { return ::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return tl::unexpected(error("", "cannot open the folder", errno));
    m_root_fd.store(fd, std::memory_order_release);
    return fd;
}

Result<PosixFilesystem::Fd> PosixFilesystem::open_below(std::string_view path, int flags,
                                                        std::uint32_t mode, const char* what,
                                                        std::string_view shown) {
    if (shown.empty()) shown = path;
    if (!is_folder_relative(path) || path.empty())
        return fail(Errc::invalid_argument,
                    m_root + "/" + std::string(shown) + ": " + what + ": not a folder-relative path");
    auto root = root_fd();
    if (!root) return tl::unexpected(root.error());
    const int fd = open_no_symlinks(*root, std::string(path), flags | O_CLOEXEC | O_NOFOLLOW, mode,
                                    m_resolve == Resolve::walk);
    if (fd < 0) return tl::unexpected(error(shown, what, errno));
    return Fd(fd);
}

Result<PosixFilesystem::Parent> PosixFilesystem::open_parent(std::string_view path, const char* what) {
    if (!is_folder_relative(path))
        return fail(Errc::invalid_argument,
                    m_root + "/" + std::string(path) + ": " + what + ": not a folder-relative path");
    auto root = root_fd();
    if (!root) return tl::unexpected(root.error());
    Parent parent;
    parent.name = std::string(last_component(path));
    const std::string_view dir = parent_of(path);
    if (dir.empty()) {
        parent.fd = *root;
        return parent;
    }
    auto fd = open_below(dir, O_PATH | O_DIRECTORY, 0, what, path);
    if (!fd) return tl::unexpected(fd.error());
    parent.fd = fd->get();
    parent.owned = std::move(*fd);
    return parent;
}

Result<PosixFilesystem::Fd> PosixFilesystem::open_dir_for_listing(std::string_view path, const char* what) {
    if (!path.empty()) return open_below(path, O_RDONLY | O_DIRECTORY, 0, what);
    auto root = root_fd();
    if (!root) return tl::unexpected(root.error());
    // A deleted root still lists (as empty); refuse it, or a scan would take
    // every file for deleted.
    struct stat st;
    if (::fstat(*root, &st) != 0) return tl::unexpected(error(path, what, errno));
    if (st.st_nlink == 0)
        return fail(Errc::not_found, m_root + ": " + what + ": the folder was deleted; re-create it or remove the folder from ferry");
    const int fd = retry_eintr([&] { return ::openat(*root, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
    if (fd < 0) return tl::unexpected(error(path, what, errno));
    return Fd(fd);
}

Result<FileStat> PosixFilesystem::lstat(std::string_view path) {
    auto parent = open_parent(path, "cannot stat");
    if (!parent) return tl::unexpected(parent.error());
    return stat_in(*parent, path);
}

Result<FileStat> PosixFilesystem::stat_in(const Parent& parent, std::string_view path) {
    const std::string name(last_component(path));
    struct stat st;
    const int r = name.empty() ? ::fstat(parent.fd, &st)
                               : ::fstatat(parent.fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW);
    if (r != 0) return tl::unexpected(error(path, "cannot stat", errno));
    return to_file_stat(st);
}

Result<std::vector<DirEntry>> PosixFilesystem::list_dir(std::string_view path) {
    auto fd = open_dir_for_listing(path, "cannot list directory");
    if (!fd) return tl::unexpected(fd.error());
    std::vector<DirEntry> out;
    if (const int err = read_entries(fd->release(), [&](int, const char* name) {
            out.push_back(DirEntry{name});
        }))
        return tl::unexpected(error(path, "cannot list directory", err));
    return out;
}

Result<std::vector<DirEntryStat>> PosixFilesystem::scan_dir(std::string_view path) {
    auto fd = open_dir_for_listing(path, "cannot list directory");
    if (!fd) return tl::unexpected(fd.error());
    std::vector<DirEntryStat> out;
    const int err = read_entries(fd->release(), [&](int dirfd, const char* name) {
        struct stat st;
        if (::fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
            out.push_back(DirEntryStat{name, to_file_stat(st)});
        } else {
            const int e = errno;
            std::string child(path);
            if (!child.empty()) child.push_back('/');
            child.append(name);
            out.push_back(DirEntryStat{name, tl::unexpected(error(child, "cannot stat", e))});
        }
    });
    if (err != 0) return tl::unexpected(error(path, "cannot list directory", err));
    return out;
}

Result<std::unique_ptr<ReadFile>> PosixFilesystem::open_read(std::string_view path) {
    // O_NONBLOCK: opening a FIFO that replaced a file must not hang.
    auto fd = open_below(path, O_RDONLY | O_NONBLOCK, 0, "cannot open for reading");
    if (!fd) return tl::unexpected(fd.error());
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return tl::unexpected(error(path, "cannot stat", errno));
    if (!S_ISREG(st.st_mode))
        return fail(Errc::unsupported, m_root + "/" + std::string(path) +
                                           ": cannot open for reading: not a regular file");
    return std::make_unique<PosixReadFile>(fd->release(), m_root + "/" + std::string(path));
}

Result<std::string> PosixFilesystem::read_link(std::string_view path) {
    auto parent = open_parent(path, "cannot read symlink");
    if (!parent) return tl::unexpected(parent.error());
    if (parent->name.empty()) return tl::unexpected(error(path, "cannot read symlink", EINVAL));
    std::string target(256, '\0');
    while (true) {
        const ssize_t n = ::readlinkat(parent->fd, parent->name.c_str(), target.data(), target.size());
        if (n < 0) return tl::unexpected(error(path, "cannot read symlink", errno));
        if (static_cast<std::size_t>(n) < target.size()) {
            target.resize(static_cast<std::size_t>(n));
            return target;
        }
        target.resize(target.size() * 2);
    }
}

Result<std::unique_ptr<WriteFile>> PosixFilesystem::open_writable(std::string_view path, std::uint32_t mode,
                                                                  int extra_flags) {
    const char* what = "cannot open for writing";
    // O_NONBLOCK: opening a FIFO planted at the path must not hang.
    auto fd = open_below(path, O_WRONLY | O_CREAT | O_NONBLOCK | extra_flags, mode & 07777, what);
    if (!fd) return tl::unexpected(fd.error());
    struct stat st;
    if (::fstat(fd->get(), &st) != 0) return tl::unexpected(error(path, "cannot stat", errno));
    if (!S_ISREG(st.st_mode))
        return fail(Errc::unsupported,
                    m_root + "/" + std::string(path) + ": " + what + ": not a regular file");
    // O_NONBLOCK stays set, as in open_read: it changes nothing for a
    // regular file, and clearing it cost two calls per received file.
    // The mode must be exactly `mode`, whatever the umask or an old file's mode.
    if (::fchmod(fd->get(), mode & 07777) != 0) return tl::unexpected(error(path, "cannot set mode", errno));
    return std::make_unique<PosixWriteFile>(fd->release(), m_root + "/" + std::string(path));
}

Result<std::unique_ptr<WriteFile>> PosixFilesystem::open_write(std::string_view path, std::uint32_t mode) {
    return open_writable(path, mode, O_TRUNC);
}

Result<std::unique_ptr<WriteFile>> PosixFilesystem::open_update(std::string_view path, std::uint32_t mode) {
    return open_writable(path, mode, 0);
}

Result<void> PosixFilesystem::make_dir(std::string_view path, std::uint32_t mode) {
    auto parent = open_parent(path, "cannot create directory");
    if (!parent) return tl::unexpected(parent.error());
    if (parent->name.empty()) return tl::unexpected(error(path, "cannot create directory", EEXIST));
    if (::mkdirat(parent->fd, parent->name.c_str(), mode & 07777) != 0)
        return tl::unexpected(error(path, "cannot create directory", errno));
    if (::fchmodat(parent->fd, parent->name.c_str(), mode & 07777, AT_SYMLINK_NOFOLLOW) != 0)
        return tl::unexpected(error(path, "cannot set mode", errno));
    return {};
}

Result<void> PosixFilesystem::make_symlink(std::string_view target, std::string_view path) {
    auto parent = open_parent(path, "cannot create symlink");
    if (!parent) return tl::unexpected(parent.error());
    if (parent->name.empty()) return tl::unexpected(error(path, "cannot create symlink", EEXIST));
    if (::symlinkat(std::string(target).c_str(), parent->fd, parent->name.c_str()) != 0)
        return tl::unexpected(error(path, "cannot create symlink", errno));
    return {};
}

Result<void> PosixFilesystem::remove(std::string_view path) {
    const char* what = "cannot remove";
    auto parent = open_parent(path, what);
    if (!parent) return tl::unexpected(parent.error());
    if (parent->name.empty()) return tl::unexpected(error(path, what, EBUSY));
    struct stat st;
    if (::fstatat(parent->fd, parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        return tl::unexpected(error(path, what, errno));
    const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (::unlinkat(parent->fd, parent->name.c_str(), flags) != 0)
        return tl::unexpected(error(path, what, errno));
    return {};
}

Result<void> PosixFilesystem::rename(std::string_view from, std::string_view to) {
    const char* what = "cannot rename";
    auto src = open_parent(from, what);
    if (!src) return tl::unexpected(src.error());
    // Most renames (a received file over its target) stay in one directory:
    // it is opened once. (open_parent also refuses a `to` that is not
    // folder-relative.)
    auto dst = parent_of(from) == parent_of(to) && is_folder_relative(to)
                   ? Result<Parent>(Parent{Fd(), src->fd, std::string(last_component(to))})
                   : open_parent(to, what);
    if (!dst) return tl::unexpected(dst.error());
    if (src->name.empty() || dst->name.empty()) return tl::unexpected(error(from, what, EBUSY));
    if (::renameat(src->fd, src->name.c_str(), dst->fd, dst->name.c_str()) != 0) {
        const int err = errno;
        auto e = error(from, what, err);
        e.message.insert(m_root.size() + 1 + from.size(), " -> " + std::string(to));
        return tl::unexpected(std::move(e));
    }
    return {};
}

Result<void> PosixFilesystem::set_mtime(std::string_view path, std::int64_t mtime_ns) {
    const char* what = "cannot set modification time";
    auto parent = open_parent(path, what);
    if (!parent) return tl::unexpected(parent.error());
    const auto times = mtime_only(mtime_ns);
    const int r = parent->name.empty() ? ::futimens(parent->fd, times.data())
                                       : ::utimensat(parent->fd, parent->name.c_str(), times.data(),
                                                     AT_SYMLINK_NOFOLLOW);
    if (r != 0) return tl::unexpected(error(path, what, errno));
    return {};
}

Result<void> PosixFilesystem::set_mode(std::string_view path, std::uint32_t mode) {
    const char* what = "cannot set mode";
    auto parent = open_parent(path, what);
    if (!parent) return tl::unexpected(parent.error());
    const int r = parent->name.empty()
                      ? ::fchmod(parent->fd, mode & 07777)
                      : ::fchmodat(parent->fd, parent->name.c_str(), mode & 07777, AT_SYMLINK_NOFOLLOW);
    if (r != 0) {
        if (errno == EOPNOTSUPP)
            return fail(Errc::unsupported, m_root + "/" + std::string(path) + ": " + what +
                                               ": symlinks have no mode of their own");
        return tl::unexpected(error(path, what, errno));
    }
    return {};
}

Result<void> PosixFilesystem::sync_one(std::string_view path) {
    auto fd = open_below(path, O_RDONLY, 0, "cannot open to sync");
    if (!fd) return tl::unexpected(fd.error());
    if (retry_eintr([&] { return ::fsync(fd->get()); }) != 0)
        return tl::unexpected(error(path, "cannot fsync", errno));
    return sync_dir(parent_of(path));
}

Result<void> PosixFilesystem::sync_paths(std::span<const std::string> paths) {
    if (paths.empty()) return {};
#ifdef __linux__
    auto root = lstat("");
    if (!root) return tl::unexpected(root.error());
    bool on_root_filesystem = false;
    // Each directory is opened once (paths come many to a directory).
    std::map<std::string_view, Parent> parents;
    for (const std::string& path : paths) {
        auto parent = parents.find(parent_of(path));
        if (parent == parents.end()) {
            auto opened = open_parent(path, "cannot stat");
            if (!opened) return tl::unexpected(opened.error());
            parent = parents.emplace(parent_of(path), std::move(*opened)).first;
        }
        auto st = stat_in(parent->second, path);
        if (!st) return tl::unexpected(st.error());
        if (st->device == root->device) {
            on_root_filesystem = true;
        } else if (auto synced = sync_one(path); !synced) {
            return synced;
        }
    }
    if (!on_root_filesystem) return {};
    auto fd = root_fd();
    if (!fd) return tl::unexpected(fd.error());
    // The root descriptor lives as long as this object, so syncfs reports
    // every write-back error of the filesystem since the last call.
    if (retry_eintr([&] { return ::syncfs(*fd); }) != 0)
        return tl::unexpected(error("", "cannot sync the filesystem", errno));
    return {};
#else
    for (const std::string& path : paths)
        if (auto synced = sync_one(path); !synced) return synced;
    return {};
#endif
}

Result<void> PosixFilesystem::sync_dir(std::string_view path) {
    auto fd = open_dir_for_listing(path, "cannot open directory to sync");
    if (!fd) return tl::unexpected(fd.error());
    if (retry_eintr([&] { return ::fsync(fd->get()); }) != 0)
        return tl::unexpected(error(path, "cannot fsync directory", errno));
    return {};
}

}  // namespace ferry
