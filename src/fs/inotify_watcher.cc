// The inotify backend of fs/watcher.hh: one watch per directory, kept in
// step as directories appear, move and vanish.
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <vector>

#include "core/ignore.hh"
#include "core/path_rules.hh"
#include "fs/fs_error.hh"
#include "fs/watcher.hh"

namespace ferry {
namespace {

constexpr std::uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_ATTRIB |
                                IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF |
                                IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK;

bool beneath(std::string_view path, std::string_view dir) {
    return dir.empty() || path == dir ||
           (path.size() > dir.size() && path.starts_with(dir) && path[dir.size()] == '/');
}

tl::unexpected<Error> limit_reached(const std::string& root, std::string_view what,
                                    std::string_view sysctl) {
    return fail(Errc::no_space, root + ": the inotify " + std::string(what) +
                                    " limit is reached; raise it with `sysctl fs.inotify." +
                                    std::string(sysctl) + "=N` (ferry polls this folder meanwhile)");
}

// Whether a listed entry is a directory (not a symlink to one).
bool is_directory(const std::string& parent, const dirent& entry) {
    if (entry.d_type != DT_UNKNOWN) return entry.d_type == DT_DIR;
    struct stat st {};
    const std::string path = parent + "/" + entry.d_name;
    return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

class InotifyWatcher final : public Watcher {
public:
    InotifyWatcher(std::string root, int fd) : m_root(std::move(root)), m_fd(fd) {}
    ~InotifyWatcher() override { ::close(m_fd); }
    InotifyWatcher(const InotifyWatcher&) = delete;
    InotifyWatcher& operator=(const InotifyWatcher&) = delete;

    int descriptor() const override { return m_fd; }
    bool watches_root() const {
        return std::any_of(m_dirs.begin(), m_dirs.end(), [](const auto& d) { return d.second.empty(); });
    }

    // Watches `dir` and every directory beneath it; with `found`, reports
    // every entry met on the way.
    Result<void> watch_tree(const std::string& dir, WatchedChanges* found) {
        std::vector<std::string> pending{dir};
        while (!pending.empty()) {
            const std::string rel = std::move(pending.back());
            pending.pop_back();
            const std::string full = rel.empty() ? m_root : m_root + "/" + rel;
            const int wd = ::inotify_add_watch(m_fd, full.c_str(), kMask);
            if (wd < 0) {
                if (errno == ENOSPC) return limit_reached(m_root, "watch", "max_user_watches");
                // Gone or replaced since it was listed: its parent's event
                // covers it. Unreadable: the scan reports it; the rest is
                // still watched.
                if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP ||
                    (errno == EACCES && !rel.empty()))
                    continue;
                return tl::unexpected(fs_error(m_root, rel, "cannot watch", errno));
            }
            m_dirs[wd] = rel;
            DIR* listing = ::opendir(full.c_str());
            if (listing == nullptr) continue;  // vanished or unreadable: the scan reports it
            while (const dirent* entry = ::readdir(listing)) {
                const std::string_view name = entry->d_name;
                if (name == "." || name == "..") continue;
                const std::string path = join_path(rel, name);
                if (is_internal_path(path)) continue;
                if (found) found->paths.insert(path);
                if (is_directory(full, *entry)) pending.push_back(path);
            }
            ::closedir(listing);
        }
        return {};
    }

    Result<WatchedChanges> read_changes() override {
        WatchedChanges changes;
        alignas(inotify_event) std::array<char, 64 * 1024> buffer;
        for (;;) {
            const ssize_t got = ::read(m_fd, buffer.data(), buffer.size());
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN) break;
                return tl::unexpected(fs_error(m_root, "", "cannot read inotify events", errno));
            }
            for (ssize_t at = 0; at < got;) {
                inotify_event event;
                std::memcpy(&event, buffer.data() + at, sizeof event);
                const std::string_view name(buffer.data() + at + sizeof event,
                                            ::strnlen(buffer.data() + at + sizeof event, event.len));
                at += static_cast<ssize_t>(sizeof event + event.len);
                if (auto r = take(event, name, changes); !r) return tl::unexpected(r.error());
            }
        }
        // Quiet for kSettleTime though never closed (an mmap writer, a log
        // kept open): settled.
        const auto now = std::chrono::steady_clock::now();
        for (auto it = m_writing.begin(); it != m_writing.end();) {
            if (now - it->second >= kSettleTime) {
                changes.paths.insert(it->first);
                it = m_writing.erase(it);
            } else {
                changes.writing.insert(it->first);
                ++it;
            }
        }
        return changes;
    }

private:
    Result<void> take(const inotify_event& event, std::string_view name, WatchedChanges& changes) {
        if (event.mask & IN_Q_OVERFLOW) {
            changes.everything = true;
            return {};
        }
        const auto dir = m_dirs.find(event.wd);
        if (dir == m_dirs.end()) return {};  // a watch already dropped
        if (event.mask & IN_IGNORED) {
            // Removed by the kernel: the directory was deleted or its
            // filesystem unmounted. The root's loss means nothing is watched.
            if (dir->second.empty()) changes.everything = true;
            m_dirs.erase(dir);
            return {};
        }
        if (event.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) return {};  // the parent reports it
        const std::string path = name.empty() ? dir->second : join_path(dir->second, name);
        if (is_internal_path(path)) return {};
        if (!(event.mask & IN_ISDIR)) {
            // Created or written: reported once closed (or quiet), not before.
            if (event.mask & (IN_CREATE | IN_MODIFY)) {
                m_writing[path] = std::chrono::steady_clock::now();
                return {};
            }
            if (event.mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO))
                m_writing.erase(path);
            changes.paths.insert(path);
            return {};
        }
        changes.paths.insert(path);
        if (event.mask & (IN_MOVED_FROM | IN_DELETE)) unwatch_tree(path);
        if (event.mask & (IN_CREATE | IN_MOVED_TO)) {
            unwatch_tree(path);  // a directory moved within the folder is watched anew
            return watch_tree(path, &changes);
        }
        return {};
    }

    void unwatch_tree(const std::string& path) {
        for (auto it = m_dirs.begin(); it != m_dirs.end();) {
            if (beneath(it->second, path)) {
                ::inotify_rm_watch(m_fd, it->first);
                it = m_dirs.erase(it);
            } else {
                ++it;
            }
        }
    }

    std::string m_root;
    int m_fd;
    std::map<int, std::string> m_dirs;  // watch descriptor -> directory (folder-relative)
    // Files modified and not closed since: path -> when last modified.
    std::map<std::string, std::chrono::steady_clock::time_point> m_writing;
};

}  // namespace

Result<std::unique_ptr<Watcher>> watch_with_inotify(const std::string& root) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE) return limit_reached(root, "instance", "max_user_instances");
        return tl::unexpected(fs_error(root, "", "cannot start inotify", errno));
    }
    auto watcher = std::make_unique<InotifyWatcher>(root, fd);
    if (auto watched = watcher->watch_tree("", nullptr); !watched)
        return tl::unexpected(watched.error());
    if (!watcher->watches_root())
        return fail(Errc::not_found, root + ": cannot watch: it is not a directory one can list");
    return std::unique_ptr<Watcher>(std::move(watcher));
}

}  // namespace ferry
