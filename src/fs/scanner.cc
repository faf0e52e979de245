#include "fs/scanner.hh"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "core/path_rules.hh"
#include "fs/pending_targets.hh"
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

// One step of a scan: a directory, all of it or some of its entries.
struct Step {
    std::string dir;
    std::optional<std::vector<std::string>> names;  // nullopt: every entry
};

// The steps that check `paths` (ScanOptions::only): each path in its
// parent's step, but none beneath a path whose own check covers what lies
// beneath it (a directory gone, new to the index, or that became something
// else), nor beneath an ignored directory.
Result<std::vector<Step>> steps_for(ScanContext& ctx, const std::set<std::string>& paths) {
    std::map<std::string, std::vector<std::string>> names_by_dir;
    std::set<std::string> whole_trees;
    auto beneath_whole_tree = [&](std::string_view path) {
        for (auto slash = path.rfind('/'); slash != std::string_view::npos;
             slash = path.rfind('/', slash - 1)) {
            if (whole_trees.count(std::string(path.substr(0, slash))) != 0) return true;
            if (slash == 0) break;
        }
        return false;
    };
    for (const std::string& path : paths) {  // sorted: a path comes before what lies beneath it
        if (path.empty() || beneath_whole_tree(path)) continue;
        const auto slash = path.rfind('/');
        const std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
        if (!parent.empty() && !ctx.ignore.empty() && ctx.ignore.is_ignored(parent, true)) continue;
        auto stored = ctx.store.entry(ctx.folder_id, path);
        if (!stored) return tl::unexpected(stored.error());
        const bool was_directory =
            *stored && !(*stored)->deleted && (*stored)->kind == FileKind::directory;
        auto st = ctx.fs.lstat(path);
        const bool is_directory = st && st->kind == EntryKind::directory;
        if (was_directory != is_directory) whole_trees.insert(path);
        names_by_dir[parent].push_back(path.substr(slash == std::string::npos ? 0 : slash + 1));
    }
    std::vector<Step> steps;
    for (auto& [dir, names] : names_by_dir) steps.push_back(Step{dir, std::move(names)});
    return steps;
}

// The work shared between the worker threads and the writing thread: a
// stack of steps, and the outputs waiting to be written.
class Pool final : public ScanSink {
public:
    Pool(ScanContext& ctx, unsigned workers, std::vector<Step> steps)
        : m_ctx(ctx), m_workers(workers), m_steps(std::move(steps)) {}

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
        for (auto& d : dirs) m_steps.push_back(Step{std::move(d), std::nullopt});
        m_work.notify_all();
        m_ready.notify_one();
    }

    void work() {
        std::unique_lock lock(m_mutex);
        while (true) {
            m_work.wait(lock, [&] { return m_stop || !m_steps.empty() || m_active == 0; });
            if (m_stop || m_steps.empty()) break;
            Step step = std::move(m_steps.back());
            m_steps.pop_back();
            ++m_active;
            ++m_listing;
            lock.unlock();
            auto r = step.names ? scan_entries(m_ctx, step.dir, *step.names, *this)
                                : scan_directory(m_ctx, step.dir, *this);
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
        return (m_steps.empty() && m_listing == 0) || m_exited == m_workers;
    }

    std::optional<Error> error() {
        const std::lock_guard lock(m_mutex);
        return m_error;
    }

private:
    ScanContext& m_ctx;
    const unsigned m_workers;
    std::mutex m_mutex;
    std::condition_variable m_work;   // steps to run, or the walk ended
    std::condition_variable m_ready;  // outputs to write, or workers exited
    std::condition_variable m_space;  // room for more outputs
    std::vector<Step> m_steps;        // a stack: depth first keeps it short
    unsigned m_active = 0;            // steps running
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
    // What a crash kept sync from recording is sync's, not a local edit.
    auto settled = settle_pending_targets(fs, store, folder_id);
    if (!settled) return tl::unexpected(settled.error());
    auto ignore = read_ignore_file(fs);
    if (!ignore) return tl::unexpected(ignore.error());
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned workers = options.threads != 0 ? options.threads : cores;
    // hash_file does files of one segment on the calling worker; only large
    // ones spread over the cores. Said once here: asking the OS per file costs.
    ScanContext ctx{fs, store, std::string(folder_id), options.local_device, std::move(*ignore), cores};
    ctx.cancel = options.cancel;
    ctx.settling = &options.settling;
    ctx.unsettled_after_ns = options.unsettled_after_ns;
    ctx.now_ns = options.now_ns;

    std::vector<Step> steps;
    if (options.only) {
        auto named = steps_for(ctx, *options.only);
        if (!named) return tl::unexpected(named.error());
        steps = std::move(*named);
    } else {
        steps.push_back(Step{});  // the folder root, all of it
    }
    Pool pool(ctx, workers, std::move(steps));
    std::vector<std::jthread> threads;
    for (unsigned i = 0; i < workers; ++i) threads.emplace_back([&pool] { pool.work(); });

    ScanResult result;
    result.changed = *settled;
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
            for (auto& t : out.temporaries) result.temporaries.push_back(std::move(t));
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
    result.unsettled = ctx.unsettled.load();
    if (options.cancel != nullptr && options.cancel->load()) {
        // What was found so far is true and worth keeping; the rest waits.
        bool ignored = false;
        for (auto& out : pool.take(Clock::now(), ignored))
            for (auto& u : out.updates) batch.push_back(std::move(u));
        if (!flush()) return tl::unexpected(*failure);
        return fail(Errc::changed, "scan of folder " + std::string(folder_id) + " was cancelled");
    }
    if (options.only) {
        const std::vector<std::string> scope(options.only->begin(), options.only->end());
        auto issues = store.record_partial_scan(folder_id, scope, result.issues);
        if (!issues) return tl::unexpected(issues.error());
        result.issues = std::move(*issues);
    } else if (auto r = store.record_scan(folder_id, options.now_ns, result.issues); !r) {
        return tl::unexpected(r.error());
    }
    if (options.progress) options.progress(progress_of(ctx, true));
    return result;
}

}  // namespace ferry
