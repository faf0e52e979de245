#include "fs/memory_filesystem.hh"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <vector>

#include "fs/fs_error.hh"

namespace ferry {

namespace {
constexpr std::string_view kRootName = "memory:";
constexpr std::uint64_t kDevice = 1;
}  // namespace

struct MemoryFilesystem::Shared {
    std::mutex mutex;
    std::int64_t last_time_ns = 0;
    TimeSource now_ns;
    std::uint64_t power_cuts = 0;  // files opened before the last one are dead

    // A modification time that is never repeated (mutex held).
    std::int64_t tick() {
        const std::int64_t now =
            now_ns ? now_ns()
                   : std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
        last_time_ns = std::max<std::int64_t>(now, last_time_ns + 1);
        return last_time_ns;
    }
};

struct MemoryFilesystem::Node {
    EntryKind kind = EntryKind::file;
    std::uint32_t mode = 0;
    std::uint64_t inode = 0;
    std::int64_t mtime_ns = 0;
    std::int64_t ctime_ns = 0;
    std::string data;                                       // files
    std::string target;                                     // symlinks (never changes)
    std::map<std::string, std::shared_ptr<Node>> children;  // directories

    // What a power cut leaves of this node.
    struct Durable {
        std::uint32_t mode = 0;
        std::int64_t mtime_ns = 0;
        std::int64_t ctime_ns = 0;
        std::string data;                                // files
        std::map<std::string, std::uint64_t> children;  // directories: name -> inode
    } durable;

    FileStat stat() const {
        FileStat st;
        st.kind = kind;
        st.size = kind == EntryKind::file      ? data.size()
                  : kind == EntryKind::symlink ? target.size()
                                               : 0;
        st.mtime_ns = mtime_ns;
        st.ctime_ns = ctime_ns;
        st.mode = mode;
        st.inode = inode;
        st.device = kDevice;
        return st;
    }

    void touch(std::int64_t now) { mtime_ns = ctime_ns = now; }

    void make_durable() {
        durable.mode = mode;
        durable.mtime_ns = mtime_ns;
        durable.ctime_ns = ctime_ns;
        if (kind == EntryKind::file) durable.data = data;
        if (kind == EntryKind::directory) {
            durable.children.clear();
            for (const auto& [name, child] : children) durable.children.emplace(name, child->inode);
        }
    }

    // Back to the durable state, except a directory's children, which the
    // power cut links again itself.
    void restore() {
        mode = durable.mode;
        mtime_ns = durable.mtime_ns;
        ctime_ns = durable.ctime_ns;
        if (kind == EntryKind::file) data = durable.data;
        children.clear();
    }
};

// Where a path leads: its parent directory, its last name, and the node
// there (null when there is none). For "", node is the root, parent null.
struct MemoryFilesystem::Lookup {
    std::shared_ptr<Node> parent;
    std::string name;
    std::shared_ptr<Node> node;
};

namespace {

using Node = MemoryFilesystem::Node;
using Shared = MemoryFilesystem::Shared;

// What an open file holds: its node, and which life of the filesystem it
// was opened in.
class OpenNode {
public:
    OpenNode(std::shared_ptr<Shared> shared, std::string path, std::shared_ptr<Node> node)
        : m_shared(std::move(shared)), m_path(std::move(path)), m_node(std::move(node)),
          m_power_cuts(m_shared->power_cuts) {}

    std::mutex& mutex() const { return m_shared->mutex; }
    Shared& shared() const { return *m_shared; }
    Node& node() const { return *m_node; }

    // Errc::io once a power cut came after the open (mutex held).
    Result<void> alive(std::string_view what) const {
        if (m_shared->power_cuts == m_power_cuts) return {};
        return fail(Errc::io, std::string(kRootName) + "/" + m_path + ": " + std::string(what) +
                                  ": the file was opened before a power cut");
    }

    // The node's stat, as an open file's stat() gives it.
    Result<FileStat> stat() const {
        const std::lock_guard lock(mutex());
        if (auto ok = alive("cannot stat"); !ok) return tl::unexpected(ok.error());
        return node().stat();
    }

private:
    std::shared_ptr<Shared> m_shared;
    std::string m_path;
    std::shared_ptr<Node> m_node;
    std::uint64_t m_power_cuts;
};

class MemoryReadFile final : public ReadFile {
public:
    explicit MemoryReadFile(OpenNode open) : m_open(std::move(open)) {}

    Result<std::size_t> read_at(std::uint64_t offset, std::span<std::uint8_t> buf) override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot read"); !ok) return tl::unexpected(ok.error());
        const std::string& data = m_open.node().data;
        if (offset >= data.size()) return std::size_t{0};
        const std::size_t n = std::min<std::size_t>(buf.size(), data.size() - offset);
        std::copy_n(data.data() + offset, n, buf.data());
        return n;
    }

    Result<FileStat> stat() override { return m_open.stat(); }

private:
    OpenNode m_open;
};

class MemoryWriteFile final : public WriteFile {
public:
    explicit MemoryWriteFile(OpenNode open) : m_open(std::move(open)) {}

    Result<void> write_at(std::uint64_t offset, std::span<const std::uint8_t> data) override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot write"); !ok) return ok;
        std::string& content = m_open.node().data;
        if (content.size() < offset + data.size()) content.resize(offset + data.size());
        std::copy(data.begin(), data.end(), content.begin() + static_cast<std::ptrdiff_t>(offset));
        m_open.node().touch(m_open.shared().tick());
        return {};
    }

    Result<void> truncate(std::uint64_t size) override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot truncate"); !ok) return ok;
        m_open.node().data.resize(size);
        m_open.node().touch(m_open.shared().tick());
        return {};
    }

    // The contents and metadata, not the name (see the header).
    Result<void> sync() override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot sync"); !ok) return ok;
        m_open.node().make_durable();
        return {};
    }

    Result<void> set_mode(std::uint32_t mode) override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot set mode"); !ok) return ok;
        m_open.node().mode = mode & 07777;
        m_open.node().ctime_ns = m_open.shared().tick();
        return {};
    }

    Result<void> set_mtime(std::int64_t mtime_ns) override {
        const std::lock_guard lock(m_open.mutex());
        if (auto ok = m_open.alive("cannot set modification time"); !ok) return ok;
        m_open.node().mtime_ns = mtime_ns;
        m_open.node().ctime_ns = m_open.shared().tick();
        return {};
    }

    Result<FileStat> stat() override { return m_open.stat(); }

private:
    OpenNode m_open;
};

Error mem_error(std::string_view path, std::string_view what, int err) {
    return fs_error(kRootName, path, what, err);
}

}  // namespace

MemoryFilesystem::MemoryFilesystem(TimeSource now_ns) : m_shared(std::make_shared<Shared>()) {
    m_shared->now_ns = std::move(now_ns);
    m_root = new_node(EntryKind::directory, 0755);
}

MemoryFilesystem::~MemoryFilesystem() = default;

std::shared_ptr<MemoryFilesystem::Node> MemoryFilesystem::new_node(EntryKind kind, std::uint32_t mode) {
    auto node = std::make_shared<Node>();
    node->kind = kind;
    node->mode = mode & 07777;
    node->inode = m_next_inode++;
    node->touch(m_shared->tick());
    node->make_durable();  // a power cut leaves a node that a synced entry names as it was made
    if (m_nodes.size() >= m_collect_at) {
        collect_nodes();
        m_collect_at = 2 * m_nodes.size() + 64;
    }
    m_nodes.emplace(node->inode, node);
    return node;
}

void MemoryFilesystem::collect_nodes() {
    std::map<std::uint64_t, std::shared_ptr<Node>> kept;
    std::vector<std::shared_ptr<Node>> queue{m_root};
    kept.emplace(m_root->inode, m_root);
    // Bounded: each node enters the queue once.
    for (std::size_t i = 0; i < queue.size(); ++i) {
        const Node& dir = *queue[i];
        auto keep = [&](const std::shared_ptr<Node>& node) {
            if (kept.emplace(node->inode, node).second && node->kind == EntryKind::directory)
                queue.push_back(node);
        };
        for (const auto& [name, child] : dir.children) keep(child);
        for (const auto& [name, inode] : dir.durable.children) keep(m_nodes.at(inode));
    }
    m_nodes = std::move(kept);
}

void MemoryFilesystem::make_all_durable() {
    const std::lock_guard lock(m_shared->mutex);
    std::vector<Node*> queue{m_root.get()};
    for (std::size_t i = 0; i < queue.size(); ++i) {  // bounded: the live tree is a tree
        queue[i]->make_durable();
        for (const auto& [name, child] : queue[i]->children) queue.push_back(child.get());
    }
}

void MemoryFilesystem::power_cut() {
    const std::lock_guard lock(m_shared->mutex);
    ++m_shared->power_cuts;
    std::map<std::uint64_t, std::shared_ptr<Node>> kept;
    std::vector<std::shared_ptr<Node>> queue{m_root};
    kept.emplace(m_root->inode, m_root);
    m_root->restore();
    // Breadth-first over the durable entries; each directory enters the
    // queue once, so the walk is bounded even if durable entries form a cycle.
    for (std::size_t i = 0; i < queue.size(); ++i) {
        Node& dir = *queue[i];
        for (const auto& [name, inode] : dir.durable.children) {
            const std::shared_ptr<Node>& node = m_nodes.at(inode);
            const bool first = kept.emplace(inode, node).second;
            if (!first && node->kind == EntryKind::directory) continue;  // one place only
            if (first) {
                node->restore();
                if (node->kind == EntryKind::directory) queue.push_back(node);
            }
            dir.children.emplace(name, node);
        }
    }
    // What a directory now holds is what is durable (a directory dropped as
    // a second name is gone from the durable state too).
    for (const auto& dir : queue) dir->make_durable();
    m_nodes = std::move(kept);
}

Result<MemoryFilesystem::Lookup> MemoryFilesystem::find(std::string_view path, const char* what,
                                                         bool want_parent) {
    if (!is_folder_relative(path))
        return fail(Errc::invalid_argument, std::string(kRootName) + "/" + std::string(path) + ": " +
                                                what + ": not a folder-relative path");
    Lookup out;
    if (path.empty()) {
        out.node = m_root;
        return out;
    }
    std::shared_ptr<Node> dir = m_root;
    std::size_t start = 0;
    while (true) {
        const auto slash = path.find('/', start);
        std::string name(path.substr(start, slash == std::string_view::npos ? path.npos : slash - start));
        if (slash == std::string_view::npos) {
            const auto it = dir->children.find(name);
            out.parent = dir;
            out.name = std::move(name);
            if (it != dir->children.end()) out.node = it->second;
            if (!out.node && !want_parent) return tl::unexpected(mem_error(path, what, ENOENT));
            return out;
        }
        const auto it = dir->children.find(name);
        if (it == dir->children.end()) return tl::unexpected(mem_error(path, what, ENOENT));
        if (it->second->kind == EntryKind::symlink) return tl::unexpected(mem_error(path, what, ELOOP));
        if (it->second->kind != EntryKind::directory) return tl::unexpected(mem_error(path, what, ENOTDIR));
        dir = it->second;
        start = slash + 1;
    }
}

Result<FileStat> MemoryFilesystem::lstat(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    auto at = find(path, "cannot stat", false);
    if (!at) return tl::unexpected(at.error());
    return at->node->stat();
}

Result<std::shared_ptr<MemoryFilesystem::Node>> MemoryFilesystem::find_directory(std::string_view path) {
    const char* what = "cannot list directory";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind == EntryKind::symlink) return tl::unexpected(mem_error(path, what, ELOOP));
    if (at->node->kind != EntryKind::directory) return tl::unexpected(mem_error(path, what, ENOTDIR));
    return at->node;
}

Result<std::vector<DirEntry>> MemoryFilesystem::list_dir(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    auto dir = find_directory(path);
    if (!dir) return tl::unexpected(dir.error());
    std::vector<DirEntry> out;
    for (const auto& [name, node] : (*dir)->children) out.push_back(DirEntry{name});
    return out;
}

Result<std::vector<DirEntryStat>> MemoryFilesystem::scan_dir(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    auto dir = find_directory(path);
    if (!dir) return tl::unexpected(dir.error());
    std::vector<DirEntryStat> out;
    for (const auto& [name, node] : (*dir)->children) out.push_back(DirEntryStat{name, node->stat()});
    return out;
}

Result<std::unique_ptr<ReadFile>> MemoryFilesystem::open_read(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot open for reading";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind == EntryKind::symlink) return tl::unexpected(mem_error(path, what, ELOOP));
    if (at->node->kind != EntryKind::file)
        return fail(Errc::unsupported,
                    std::string(kRootName) + "/" + std::string(path) + ": " + what + ": not a regular file");
    return std::make_unique<MemoryReadFile>(OpenNode(m_shared, std::string(path), at->node));
}

Result<std::string> MemoryFilesystem::read_link(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot read symlink";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind != EntryKind::symlink) return tl::unexpected(mem_error(path, what, EINVAL));
    return at->node->target;
}

Result<std::unique_ptr<WriteFile>> MemoryFilesystem::open_write(std::string_view path, std::uint32_t mode) {
    return open_writable(path, mode, true);
}

Result<std::unique_ptr<WriteFile>> MemoryFilesystem::open_update(std::string_view path, std::uint32_t mode) {
    return open_writable(path, mode, false);
}

Result<std::unique_ptr<WriteFile>> MemoryFilesystem::open_writable(std::string_view path, std::uint32_t mode,
                                                                   bool truncate) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot open for writing";
    auto at = find(path, what, true);
    if (!at) return tl::unexpected(at.error());
    if (!at->parent) return tl::unexpected(mem_error(path, what, EISDIR));
    auto& node = at->node;
    if (node && node->kind == EntryKind::symlink) return tl::unexpected(mem_error(path, what, ELOOP));
    if (node && node->kind == EntryKind::directory) return tl::unexpected(mem_error(path, what, EISDIR));
    if (node && node->kind == EntryKind::special) return tl::unexpected(mem_error(path, what, ENXIO));
    if (node) {
        if (truncate) {
            node->data.clear();
            node->touch(m_shared->tick());
        }
        node->mode = mode & 07777;
        node->ctime_ns = m_shared->tick();
    } else {
        node = new_node(EntryKind::file, mode);
        at->parent->children[at->name] = node;
        at->parent->touch(m_shared->tick());
    }
    return std::make_unique<MemoryWriteFile>(OpenNode(m_shared, std::string(path), node));
}

Result<void> MemoryFilesystem::make_dir(std::string_view path, std::uint32_t mode) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot create directory";
    auto at = find(path, what, true);
    if (!at) return tl::unexpected(at.error());
    if (at->node) return tl::unexpected(mem_error(path, what, EEXIST));
    at->parent->children[at->name] = new_node(EntryKind::directory, mode);
    at->parent->touch(m_shared->tick());
    return {};
}

Result<void> MemoryFilesystem::make_symlink(std::string_view target, std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot create symlink";
    auto at = find(path, what, true);
    if (!at) return tl::unexpected(at.error());
    if (at->node) return tl::unexpected(mem_error(path, what, EEXIST));
    auto node = new_node(EntryKind::symlink, 0777);
    node->target = std::string(target);
    at->parent->children[at->name] = std::move(node);
    at->parent->touch(m_shared->tick());
    return {};
}

Result<void> MemoryFilesystem::make_special(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot create special file";
    auto at = find(path, what, true);
    if (!at) return tl::unexpected(at.error());
    if (at->node) return tl::unexpected(mem_error(path, what, EEXIST));
    at->parent->children[at->name] = new_node(EntryKind::special, 0644);
    at->parent->touch(m_shared->tick());
    return {};
}

Result<void> MemoryFilesystem::remove(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot remove";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (!at->parent) return tl::unexpected(mem_error(path, what, EBUSY));
    if (at->node->kind == EntryKind::directory && !at->node->children.empty())
        return tl::unexpected(mem_error(path, what, ENOTEMPTY));
    at->parent->children.erase(at->name);
    at->parent->touch(m_shared->tick());
    return {};
}

Result<void> MemoryFilesystem::rename(std::string_view from, std::string_view to) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot rename";
    auto src = find(from, what, false);
    if (!src) return tl::unexpected(src.error());
    auto dst = find(to, what, true);
    if (!dst) return tl::unexpected(dst.error());
    if (!src->parent || !dst->parent) return tl::unexpected(mem_error(from, what, EBUSY));
    if (src->node == dst->node) return {};
    if (src->node->kind == EntryKind::directory) {
        // A directory cannot move below itself.
        if (to.size() > from.size() && to.starts_with(from) && to[from.size()] == '/')
            return tl::unexpected(mem_error(from, what, EINVAL));
        if (dst->node && dst->node->kind != EntryKind::directory)
            return tl::unexpected(mem_error(to, what, ENOTDIR));
        if (dst->node && !dst->node->children.empty())
            return tl::unexpected(mem_error(to, what, ENOTEMPTY));
    } else if (dst->node && dst->node->kind == EntryKind::directory) {
        return tl::unexpected(mem_error(to, what, EISDIR));
    }
    const auto now = m_shared->tick();
    dst->parent->children[dst->name] = src->node;
    src->parent->children.erase(src->name);
    src->node->ctime_ns = now;
    src->parent->touch(now);
    dst->parent->touch(now);
    return {};
}

Result<void> MemoryFilesystem::set_mtime(std::string_view path, std::int64_t mtime_ns) {
    const std::lock_guard lock(m_shared->mutex);
    auto at = find(path, "cannot set modification time", false);
    if (!at) return tl::unexpected(at.error());
    at->node->mtime_ns = mtime_ns;
    at->node->ctime_ns = m_shared->tick();
    return {};
}

Result<void> MemoryFilesystem::set_mode(std::string_view path, std::uint32_t mode) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot set mode";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind == EntryKind::symlink)
        return fail(Errc::unsupported, std::string(kRootName) + "/" + std::string(path) + ": " + what +
                                           ": symlinks have no mode of their own");
    at->node->mode = mode & 07777;
    at->node->ctime_ns = m_shared->tick();
    return {};
}

Result<void> MemoryFilesystem::sync_dir(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot open directory to sync";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind == EntryKind::symlink) return tl::unexpected(mem_error(path, what, ELOOP));
    if (at->node->kind != EntryKind::directory) return tl::unexpected(mem_error(path, what, ENOTDIR));
    at->node->make_durable();
    return {};
}

Result<void> MemoryFilesystem::sync_paths(std::span<const std::string> paths) {
    const std::lock_guard lock(m_shared->mutex);
    std::vector<Lookup> found;
    for (const std::string& path : paths) {
        auto at = find(path, "cannot open to sync", false);
        if (!at) return tl::unexpected(at.error());
        found.push_back(std::move(*at));
    }
    for (const Lookup& at : found) {
        at.node->make_durable();
        if (at.parent) at.parent->make_durable();
    }
    return {};
}

Result<void> MemoryFilesystem::append(std::string_view path, std::span<const std::uint8_t> data) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot append";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind != EntryKind::file) return tl::unexpected(mem_error(path, what, EISDIR));
    at->node->data.append(reinterpret_cast<const char*>(data.data()), data.size());
    at->node->touch(m_shared->tick());
    return {};
}

Result<std::string> MemoryFilesystem::contents(std::string_view path) {
    const std::lock_guard lock(m_shared->mutex);
    const char* what = "cannot read";
    auto at = find(path, what, false);
    if (!at) return tl::unexpected(at.error());
    if (at->node->kind != EntryKind::file) return tl::unexpected(mem_error(path, what, EISDIR));
    return at->node->data;
}

}  // namespace ferry
