#include "fs/scanner.hh"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "fs/scan_directory.hh"

namespace ferry {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kTick = std::chrono::milliseconds(100);  // progress and batch flush period
constexpr std::size_t kBatchSize = 1000;                // records per put_files
constexpr std::size_t kMaxQueuedUpdates = 8 * kBatchSize;  // workers wait beyond this
constexpr std::uint64_t kMaxIgnoreFileBytes = 1 << 20;

}  // namespace

Result<IgnoreMatcher> read_ignore_file(Filesystem& fs) {
    const std::string path(kIgnoreFileName);
    auto st = fs.lstat(path);
    if (!st) {
        if (st.error().code == Errc::not_found) return IgnoreMatcher{};
        return tl::unexpected(st.error());
    }
    if (st->kind != EntryKind::file) return IgnoreMatcher{};
    if (st->size > kMaxIgnoreFileBytes)
        return fail(Errc::invalid_argument, path + " is " + std::to_string(st->size) +
                                                " bytes; ferry reads at most 1 MiB of ignore patterns");
    auto file = fs.open_read(path);
    if (!file) return tl::unexpected(file.error());
    std::string text(st->size, '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        auto n = (*file)->read_at(done, {reinterpret_cast<std::uint8_t*>(text.data()) + done, text.size() - done});
        if (!n) return tl::unexpected(n.error());
        if (*n == 0) break;
        done += *n;
    }
    text.resize(done);
    return IgnoreMatcher::parse(text);
}

namespace {

// The work shared between the worker threads and the writing thread: a
// stack of directories to scan, and the outputs waiting to be written.
class Pool final : public ScanSink {
public:
    Pool(ScanContext& ctx, unsigned workers) : m_ctx(ctx), m_workers(workers) {
        m_dirs.emplace_back();  // the folder root
    }

    void emit(ScanOutput&& output) override {
        std::unique_lock lock(m_mutex);
        m_space.wait(lock, [&] { return m_queued_updates < kMaxQueuedUpdates || m_stop; });
        m_queued_updates += output.updates.size();
        m_outputs.push_back(std::move(output));
        m_ready.notify_one();
    }

    void enqueue_dirs(std::vector<std::string>&& dirs) override {
        const std::lock_guard lock(m_mutex);
        --m_listing;
        for (auto& d : dirs) m_dirs.push_back(std::move(d));
        m_work.notify_all();
        m_ready.notify_one();
    }

    void work() {
        std::unique_lock lock(m_mutex);
        while (true) {
            m_work.wait(lock, [&] { return m_stop || !m_dirs.empty() || m_active == 0; });
            if (m_stop || m_dirs.empty()) break;
            std::string dir = std::move(m_dirs.back());
            m_dirs.pop_back();
            ++m_active;
            ++m_listing;
            lock.unlock();
            auto r = scan_directory(m_ctx, dir, *this);
            lock.lock();
            --m_active;
            if (!r) {
                if (!m_error) m_error = r.error();
                m_stop = true;
                m_space.notify_all();
            }
            m_work.notify_all();
        }
        if (++m_exited == m_workers) m_ready.notify_one();
    }

    // Waits until outputs are ready, the workers are done, or `deadline`.
    // Takes the ready outputs.
    std::deque<ScanOutput> take(Clock::time_point deadline, bool& done) {
        std::unique_lock lock(m_mutex);
        m_ready.wait_until(lock, deadline, [&] { return !m_outputs.empty() || m_exited == m_workers; });
        std::deque<ScanOutput> out;
        out.swap(m_outputs);
        m_queued_updates = 0;
        m_space.notify_all();
        done = m_exited == m_workers && out.empty();
        return out;
    }

    void stop() {
        const std::lock_guard lock(m_mutex);
        m_stop = true;
        m_work.notify_all();
        m_space.notify_all();
    }

    bool walk_done() {
        const std::lock_guard lock(m_mutex);
        return (m_dirs.empty() && m_listing == 0) || m_exited == m_workers;
    }

    std::optional<Error> error() {
        const std::lock_guard lock(m_mutex);
        return m_error;
    }

private:
    ScanContext& m_ctx;
    const unsigned m_workers;
    std::mutex m_mutex;
    std::condition_variable m_work;   // directories to scan, or the walk ended
    std::condition_variable m_ready;  // outputs to write, or workers exited
    std::condition_variable m_space;  // room for more outputs
    std::vector<std::string> m_dirs;  // a stack: depth first keeps it short
    unsigned m_active = 0;            // directories being scanned
    unsigned m_listing = 0;           // of which not yet past their listing
    unsigned m_exited = 0;
    bool m_stop = false;
    std::optional<Error> m_error;
    std::deque<ScanOutput> m_outputs;
    std::size_t m_queued_updates = 0;
};

ScanProgress progress_of(const ScanContext& ctx, bool walk_done) {
    ScanProgress p;
    p.entries_seen = ctx.entries_seen.load(std::memory_order_relaxed);
    p.files_hashed = ctx.files_hashed.load(std::memory_order_relaxed);
    p.bytes_hashed = ctx.bytes_hashed.load(std::memory_order_relaxed);
    p.bytes_to_hash = ctx.bytes_to_hash.load(std::memory_order_relaxed);
    p.walk_done = walk_done;
    return p;
}

}  // namespace

Result<ScanResult> scan_folder(Filesystem& fs, Store& store, std::string_view folder_id,
                               const ScanOptions& options) {
    auto ignore = read_ignore_file(fs);
    if (!ignore) return tl::unexpected(ignore.error());
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned workers = options.threads != 0 ? options.threads : cores;
    // hash_file does files of one segment on the calling worker; only large
    // ones spread over the cores. Said once here: asking the OS per file costs.
    ScanContext ctx{fs, store, std::string(folder_id), options.local_device, std::move(*ignore), cores};
    ctx.cancel = options.cancel;
    ctx.settling = &options.settling;

    Pool pool(ctx, workers);
    std::vector<std::jthread> threads;
    for (unsigned i = 0; i < workers; ++i) threads.emplace_back([&pool] { pool.work(); });

    ScanResult result;
    std::vector<FileUpdate> batch;
    std::optional<Error> failure;
    auto flush = [&]() -> bool {
        if (batch.empty()) return true;
        if (auto r = store.put_files(folder_id, batch); !r) {
            failure = r.error();
            return false;
        }
        batch.clear();
        return true;
    };

    auto last_flush = Clock::now();
    auto next_progress = last_flush + kTick;
    while (true) {
        bool done = false;
        auto outputs = pool.take(std::min(next_progress, last_flush + kTick), done);
        for (auto& out : outputs) {
            result.files += out.files;
            result.directories += out.directories;
            result.symlinks += out.symlinks;
            result.bytes += out.bytes;
            result.deleted += out.deleted;
            result.changed += out.updates.size();
            for (auto& u : out.updates) batch.push_back(std::move(u));
            for (auto& i : out.issues) result.issues.push_back(std::move(i));
        }
        const auto now = Clock::now();
        if (batch.size() >= kBatchSize || now - last_flush >= kTick || done) {
            if (!flush()) break;
            last_flush = now;
        }
        if (options.cancel != nullptr && options.cancel->load()) break;
        if (done) break;
        if (now >= next_progress) {
            if (options.progress) options.progress(progress_of(ctx, pool.walk_done()));
            next_progress = now + kTick;
        }
    }
    pool.stop();
    threads.clear();  // joins
    if (!failure) failure = pool.error();
    if (failure) return tl::unexpected(*failure);

    result.bytes_hashed = ctx.bytes_hashed.load();
    if (options.cancel != nullptr && options.cancel->load()) {
        // What was found so far is true and worth keeping; the rest waits.
        bool ignored = false;
        for (auto& out : pool.take(Clock::now(), ignored))
            for (auto& u : out.updates) batch.push_back(std::move(u));
        if (!flush()) return tl::unexpected(*failure);
        return fail(Errc::changed, "scan of folder " + std::string(folder_id) + " was cancelled");
    }
    if (auto r = store.record_scan(folder_id, options.now_ns, result.issues); !r)
        return tl::unexpected(r.error());
    if (options.progress) options.progress(progress_of(ctx, true));
    return result;
}

}  // namespace ferry
