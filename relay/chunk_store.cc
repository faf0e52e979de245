#include "relay/chunk_store.hh"

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

namespace ferry::relay {

namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr std::size_t kHexLength = 2 * sizeof(wire::RelayChunkId);

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

Errc errc_of_errno(int error) {
    switch (error) {
        case ENOENT: return Errc::not_found;
        case EEXIST: return Errc::already_exists;
        case EACCES:
        case EPERM: return Errc::permission_denied;
        case ENOSPC:
        case EDQUOT: return Errc::no_space;
        default: return Errc::io;
    }
}

tl::unexpected<Error> os_failure(const std::string& path, const char* what) {
    const int error = errno;
    return fail(errc_of_errno(error), path + ": " + what + ": " + std::strerror(error));
}

// Closes a descriptor when leaving a scope.
class Fd {
public:
    explicit Fd(int fd) : m_fd(fd) {}
    ~Fd() {
        if (m_fd >= 0) ::close(m_fd);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    int get() const { return m_fd; }
    // Closes now, reporting the failure (a delayed write error shows here).
    int close() { return ::close(std::exchange(m_fd, -1)); }

private:
    int m_fd;
};

Result<void> fsync_directory(const std::string& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.get() < 0) return os_failure(path, "open the directory to sync it");
    if (::fsync(fd.get()) != 0) return os_failure(path, "sync the directory");
    return {};
}

// Creates `path` (one level) when missing; syncs its parent when it did.
Result<void> ensure_directory(const std::string& path, const std::string& parent) {
    if (::mkdir(path.c_str(), 0700) == 0) return fsync_directory(parent);
    if (errno == EEXIST) return {};
    return os_failure(path, "create the directory");
}

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_failure(path, "write");
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

// Names of the entries of a directory other than "." and "..".
Result<std::vector<std::string>> entries_of(const std::string& path) {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return os_failure(path, "open the directory");
    std::vector<std::string> names;
    errno = 0;
    while (const dirent* entry = ::readdir(dir)) {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..") names.emplace_back(name);
        errno = 0;
    }
    const int error = errno;
    ::closedir(dir);
    if (error != 0) {
        errno = error;
        return os_failure(path, "read the directory");
    }
    return names;
}

// Syncs directories for concurrent puts together: each put's rename must be
// durable before it is answered, and one journal commit makes every rename
// before it durable. A caller queues its directory and takes the syncer;
// the first one in syncs each directory queued (after the first sync the
// others are usually clean already) and gives everyone queued their result.
class DirectorySyncer {
public:
    Result<void> sync(const std::string& directory) {
        auto mine = std::make_shared<Pending>(Pending{directory, {}});
        {
            std::lock_guard queue(m_queue_mutex);
            m_queue.push_back(mine);
        }
        std::lock_guard syncing(m_sync_mutex);
        if (mine->result) return *mine->result;
        std::vector<std::shared_ptr<Pending>> batch;
        {
            std::lock_guard queue(m_queue_mutex);
            batch.swap(m_queue);
        }
        std::map<std::string, Result<void>> synced;
        for (const auto& pending : batch) {
            auto it = synced.find(pending->directory);
            if (it == synced.end())
                it = synced.emplace(pending->directory, fsync_directory(pending->directory)).first;
            pending->result = it->second;
        }
        return *mine->result;
    }

private:
    struct Pending {
        std::string directory;
        std::optional<Result<void>> result;
    };
    std::mutex m_queue_mutex;
    std::vector<std::shared_ptr<Pending>> m_queue;
    std::mutex m_sync_mutex;
};

class LocalChunkStore final : public ChunkStore {
public:
    explicit LocalChunkStore(std::string root) : m_root(std::move(root)), m_tmp(m_root + "/tmp") {}

    Result<void> put(const std::string& key, std::string_view data) override {
        auto path = object_path(key);
        if (!path) return tl::unexpected(path.error());
        const std::string temp = m_tmp + "/" + key + "." + std::to_string(::getpid()) + "." +
                                 std::to_string(m_counter.fetch_add(1));
        {
            Fd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
            if (fd.get() < 0) return os_failure(temp, "create the chunk file");
            auto written = write_all(fd.get(), data, temp);
            if (written && ::fsync(fd.get()) != 0)
                written = os_failure(temp, "sync the chunk file");
            if (written && fd.close() != 0) written = os_failure(temp, "close the chunk file");
            if (!written) {
                ::unlink(temp.c_str());
                return written;
            }
        }
        const std::string shard = m_root + "/" + key.substr(0, 2);
        auto made = ensure_directory(shard, m_root);
        if (made && ::rename(temp.c_str(), path->c_str()) != 0) {
            made = os_failure(*path, "rename the new chunk file into place");
        }
        if (!made) {
            ::unlink(temp.c_str());
            return made;
        }
        return m_syncer.sync(shard);
    }

    Result<std::string> get(const std::string& key) override {
        auto path = object_path(key);
        if (!path) return tl::unexpected(path.error());
        Fd fd(::open(path->c_str(), O_RDONLY | O_CLOEXEC));
        if (fd.get() < 0) return os_failure(*path, "open the chunk file");
        struct stat st {};
        if (::fstat(fd.get(), &st) != 0) return os_failure(*path, "stat the chunk file");
        if (st.st_size < 0 || static_cast<std::uint64_t>(st.st_size) > wire::kMaxSealedChunk) {
            return fail(Errc::corrupt, *path + ": chunk file of " + std::to_string(st.st_size) +
                                           " bytes is larger than any sealed chunk");
        }
        std::string data(static_cast<std::size_t>(st.st_size), '\0');
        std::size_t done = 0;
        while (done < data.size()) {
            const ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
            if (n < 0) {
                if (errno == EINTR) continue;
                return os_failure(*path, "read the chunk file");
            }
            if (n == 0) return fail(Errc::changed, *path + ": chunk file shrank while read");
            done += static_cast<std::size_t>(n);
        }
        return data;
    }

    Result<bool> exists(const std::string& key) override {
        auto path = object_path(key);
        if (!path) return tl::unexpected(path.error());
        struct stat st {};
        if (::stat(path->c_str(), &st) == 0) return true;
        if (errno == ENOENT) return false;
        return os_failure(*path, "stat the chunk file");
    }

    Result<void> remove(const std::string& key) override {
        auto path = object_path(key);
        if (!path) return tl::unexpected(path.error());
        if (::unlink(path->c_str()) != 0 && errno != ENOENT) {
            return os_failure(*path, "remove the chunk file");
        }
        return {};
    }

    Result<std::vector<std::string>> list() override {
        auto shards = entries_of(m_root);
        if (!shards) return shards;
        std::vector<std::string> keys;
        for (const std::string& shard : *shards) {
            if (shard == "tmp") continue;
            auto names = entries_of(m_root + "/" + shard);
            if (!names) return names;
            for (std::string& name : *names) {
                if (parse_chunk_key(name) && name.compare(0, 2, shard) == 0) {
                    keys.push_back(std::move(name));
                }
            }
        }
        return keys;
    }

    Result<void> sweep_temporaries(std::chrono::seconds older_than) override {
        auto names = entries_of(m_tmp);
        if (!names) return tl::unexpected(names.error());
        const std::time_t cutoff = std::time(nullptr) - older_than.count();
        for (const std::string& name : *names) {
            const std::string path = m_tmp + "/" + name;
            struct stat st {};
            if (::lstat(path.c_str(), &st) != 0) {
                if (errno == ENOENT) continue;
                return os_failure(path, "stat the temporary chunk file");
            }
            if (st.st_mtime >= cutoff) continue;
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
                return os_failure(path, "remove the temporary chunk file");
            }
        }
        return {};
    }

    Result<double> used_fraction() override {
        struct statvfs st {};
        if (::statvfs(m_root.c_str(), &st) != 0) return os_failure(m_root, "statvfs");
        if (st.f_blocks == 0) return 0.0;
        return 1.0 - static_cast<double>(st.f_bavail) / static_cast<double>(st.f_blocks);
    }

private:
    DirectorySyncer m_syncer;
    Result<std::string> object_path(const std::string& key) const {
        if (!parse_chunk_key(key)) {
            return fail(Errc::invalid_argument, m_root + ": '" + key + "' is not a chunk key");
        }
        return m_root + "/" + key.substr(0, 2) + "/" + key;
    }

    std::string m_root;
    std::string m_tmp;
    std::atomic<std::uint64_t> m_counter{0};
};

}  // namespace

std::string chunk_key(std::int64_t account, const wire::RelayChunkId& chunk) {
    std::string key;
    key.reserve(kHexLength + 21);
    for (std::uint8_t b : chunk) {
        key.push_back(kHexDigits[b >> 4]);
        key.push_back(kHexDigits[b & 0xf]);
    }
    key.push_back('-');
    key += std::to_string(account);
    return key;
}

std::optional<ChunkKeyParts> parse_chunk_key(std::string_view key) {
    if (key.size() < kHexLength + 2 || key[kHexLength] != '-') return std::nullopt;
    ChunkKeyParts parts;
    for (std::size_t i = 0; i < parts.chunk.size(); ++i) {
        const int high = hex_value(key[2 * i]);
        const int low = hex_value(key[2 * i + 1]);
        if (high < 0 || low < 0) return std::nullopt;
        parts.chunk[i] = static_cast<std::uint8_t>(high << 4 | low);
    }
    const std::string_view number = key.substr(kHexLength + 1);
    // Only the canonical decimal form chunk_key() writes: one key per object.
    if (number.size() > 1 && number[0] == '0') return std::nullopt;
    const auto [end, ec] =
        std::from_chars(number.data(), number.data() + number.size(), parts.account);
    if (ec != std::errc() || end != number.data() + number.size() || parts.account <= 0) {
        return std::nullopt;
    }
    return parts;
}

Result<std::unique_ptr<ChunkStore>> open_local_chunk_store(const std::string& data_dir) {
    const std::string root = data_dir + "/chunks";
    if (auto ok = ensure_directory(root, data_dir); !ok) return tl::unexpected(ok.error());
    if (auto ok = ensure_directory(root + "/tmp", root); !ok) return tl::unexpected(ok.error());
    return std::unique_ptr<ChunkStore>(new LocalChunkStore(root));
}

}  // namespace ferry::relay
