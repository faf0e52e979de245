// Pulling: touched paths are planned in batches and the steps applied in the
// planner's order on the worker pool; consecutive file writes run side by
// side (their chunk requests share the pull window). One pull or scan per
// folder at a time, so a scan never indexes a file sync is writing. Before a
// batch's steps change the disk, the records they will store are noted as
// pending targets (one transaction for the batch); storing a record drops
// its note, and a scan settles what a crash left (fs/pending_targets.hh).
#include <algorithm>
#include <iterator>

#include "core/pending_target.hh"
#include "fs/scanner.hh"
#include "sync/engine_impl.hh"
#include "sync/engine_steps.hh"

namespace ferry {

using engine_detail::offload;
using engine_detail::PlannedBatch;
using engine_detail::PlannedStep;
using engine_detail::Signal;

namespace {

constexpr std::size_t kPlanBatch = 5000;  // paths planned together (renames pair within a batch)
constexpr std::size_t kParallelFiles = 64;
// Records of applied steps are stored at least this often within a batch, so
// a crash mid-batch leaves few synced changes without their records (the
// next scan recognises those by their pending targets, store/store.hh).
constexpr std::size_t kStoreEvery = 256;
constexpr int kMaxRechecks = 3;  // a path that keeps changing under sync is left alone after this

}  // namespace

void Engine::Impl::touch(const FolderPtr& folder, const std::vector<std::string>& paths) {
    folder->dirty.insert(paths.begin(), paths.end());
    start_pull(folder);
}

void Engine::Impl::plan_everything(const FolderPtr& folder) {
    spawn([](std::shared_ptr<Impl> self, FolderPtr f) -> asio::awaitable<void> {
        auto work = [&s = self->store, id = f->folder.id] {
            std::vector<std::string> all;
            auto listed = s.for_each_path_versions(id, [&](const PathVersions& versions)
                                                           -> Result<void> {
                all.push_back(versions.path);
                return {};
            });
            return listed ? Result<std::vector<std::string>>(std::move(all))
                          : tl::unexpected(listed.error());
        };
        auto paths = co_await offload(self->workers, std::move(work));
        if (!paths) {
            f->error = "folder " + f->folder.id + ": " + paths.error().message;
            co_return;
        }
        self->touch(f, *paths);
    }(shared_from_this(), folder));
}

void Engine::Impl::start_pull(const FolderPtr& folder) {
    if (folder->pulling || folder->scanning || folder->paused || !folder->fs || folder->removed ||
        stopped)
        return;
    if (folder->dirty.empty() && folder->forced.empty()) return;
    folder->pulling = true;
    spawn(pull(folder));
}

asio::awaitable<void> Engine::Impl::pull(FolderPtr folder) {
    const PlanContext context{local, folder->folder.mode};
    while ((!folder->dirty.empty() || !folder->forced.empty()) && !folder->paused &&
           !folder->removed && !stopped) {
        std::vector<PlannedStep> steps = std::move(folder->forced);
        folder->forced.clear();
        std::vector<std::string> replan;  // forced steps: their paths are planned again afterwards
        for (const PlannedStep& planned : steps) {
            folder->needed[planned.step.path] = planned.step.target.size;
            replan.push_back(planned.step.path);
        }
        std::vector<std::string> paths;
        while (!folder->dirty.empty() && paths.size() < kPlanBatch && steps.empty()) {
            paths.push_back(*folder->dirty.begin());
            folder->dirty.erase(folder->dirty.begin());
        }
        if (!paths.empty()) {
            auto work2 = [&s = store, f = folder, paths, context]() -> Result<PlannedBatch> {
                // Read for every batch: a .ferryignore that sync just wrote applies at once.
                auto ignore = read_ignore_file(*f->fs);
                if (!ignore) return tl::unexpected(ignore.error());
                return engine_detail::plan_batch(s, f->folder.id, paths, context, *ignore);
            };
            auto batch = co_await offload(workers, std::move(work2));
            if (!batch) {
                folder->error =
                    "folder " + folder->folder.id + ": planning failed: " + batch.error().message;
                break;
            }
            for (const std::string& path : paths) {
                folder->needed.erase(path);
                folder->local_changes.erase(path);
                folder->needs_override.erase(path);
            }
            folder->local_changes.insert(batch->local_changes.begin(), batch->local_changes.end());
            folder->needs_override.insert(batch->needs_override.begin(),
                                          batch->needs_override.end());
            for (const PlannedStep& planned : batch->steps)
                folder->needed[planned.step.path] =
                    planned.step.kind == StepKind::write_file ? planned.step.target.size : 0;
            steps = std::move(batch->steps);
        }
        std::vector<FileRecord> targets;
        for (const PlannedStep& planned : steps) {
            std::vector<FileRecord> of_step = step_targets(planned.step);
            std::move(of_step.begin(), of_step.end(), std::back_inserter(targets));
        }
        if (!targets.empty()) {
            auto work3 = [&s = store, id = folder->folder.id, t = std::move(targets)] {
                return s.put_pending_targets(id, t);
            };
            auto noted = co_await offload(workers, std::move(work3));
            if (!noted) {
                folder->error = "folder " + folder->folder.id +
                                ": noting what sync is about to write: " + noted.error().message;
                break;
            }
        }
        // Ignore patterns that sync changes may release any path.
        const bool patterns_changed =
            std::any_of(steps.begin(), steps.end(), [](const PlannedStep& planned) {
                return planned.step.path == kIgnoreFileName;
            });
        co_await apply_steps(folder, std::move(steps));
        co_await flush_applied(folder);
        if (patterns_changed) plan_everything(folder);
        folder->dirty.insert(replan.begin(), replan.end());
    }
    folder->pulling = false;
    if (folder->scan_wanted)
        start_scan(folder);
    else
        start_pull(folder);
    mark_progress_stale(folder);
    check_in_sync();
}

// Write steps run side by side, at most kParallelFiles of them fetching; a
// finished file waiting for its group's flush (engine_publish.cc) holds no
// slot, so the next files fetch meanwhile and the next group grows. Any other
// step waits until every step before it is done.
asio::awaitable<void> Engine::Impl::apply_steps(FolderPtr folder, std::vector<PlannedStep> steps) {
    struct Counts {
        std::size_t running = 0;   // write steps not done
        std::size_t fetching = 0;  // of those, not finished fetching
    };
    auto counts = std::make_shared<Counts>();
    auto changed = std::make_shared<Signal>(io.get_executor());
    auto wait_below = [&](const std::size_t Counts::*count,
                          std::size_t limit) -> asio::awaitable<void> {
        while ((*counts).*count > limit) {
            changed->reset();
            co_await changed->wait();
        }
    };
    for (PlannedStep& planned : steps) {
        if (folder->removed || stopped) break;
        if (folder->applied.size() >= kStoreEvery) co_await flush_applied(folder);
        if (planned.step.kind != StepKind::write_file) {
            co_await wait_below(&Counts::running, 0);  // everything before it is done first
            // Named, not a temporary: see offload() in engine_async.hh.
            std::function<void()> no_fetch;
            co_await apply_step(folder, std::move(planned), std::move(no_fetch));
            continue;
        }
        co_await wait_below(&Counts::fetching, kParallelFiles - 1);
        ++counts->running;
        ++counts->fetching;
        spawn([](std::shared_ptr<Impl> self, FolderPtr f, PlannedStep p,
                 std::shared_ptr<Counts> c, std::shared_ptr<Signal> done) -> asio::awaitable<void> {
            std::function<void()> fetched = [c, done] {
                --c->fetching;
                done->fire();
            };
            co_await self->apply_step(f, std::move(p), std::move(fetched));
            --c->running;
            done->fire();
        }(shared_from_this(), folder, std::move(planned), counts, changed));
    }
    co_await wait_below(&Counts::running, 0);
}

asio::awaitable<void> Engine::Impl::apply_step(FolderPtr folder, PlannedStep planned,
                                               std::function<void()> fetched) {
    const std::string path = planned.step.path;
    // A rename stands for its source too; a directory rename for every path
    // beneath both of its ends; a step that keeps a conflict copy for the
    // copy's path (the planner may have dropped a peer's record of that
    // copy in its favour: if the step fails, that path must be planned again).
    std::vector<std::string> also;
    if (planned.step.rename_from) also.push_back(planned.step.rename_from->path);
    if (planned.step.conflict_copy) also.push_back(*planned.step.conflict_copy);
    for (const MovedEntry& entry : planned.step.moved) {
        also.push_back(entry.removed.path);
        also.push_back(entry.target.path);
    }
    Result<std::vector<FileUpdate>> outcome = fail(Errc::invalid_argument, "");
    if (planned.step.kind == StepKind::write_file) {
        outcome = co_await write_file(folder, std::move(planned), std::move(fetched));
    } else {
        std::vector<FileUpdate> copies;
        auto work3 = [f = folder, &s = store, p = std::move(planned), device = local, &copies] {
            return engine_detail::apply_local_step(*f->writer, *f->fs, s, f->folder.id, p, device,
                                                   f->folder.mode, copies);
        };
        outcome = co_await offload(workers, std::move(work3));
        // The conflict copy is made: its record is kept even if the step failed.
        for (FileUpdate& copy : copies) folder->applied.push_back(std::move(copy));
    }
    step_done(folder, path, std::move(outcome), also);
}

namespace {

// What a person can do about a step that failed, by its kind of failure
// (status shows it after the reason); ferry retries the step when the path
// changes again or at the next rescan.
std::string what_to_do(Errc code) {
    switch (code) {
    case Errc::no_space: return "; free some space on this disk, ferry tries again at the next rescan";
    case Errc::permission_denied:
        return "; give this user write access there (see `ls -l`), ferry tries again at the next "
               "rescan";
    default: return "";
    }
}

}  // namespace

void Engine::Impl::step_done(const FolderPtr& folder, const std::string& path,
                             Result<std::vector<FileUpdate>> outcome,
                             const std::vector<std::string>& also) {
    if (outcome) {
        folder->needed.erase(path);
        folder->problems.erase(path);
        folder->recheck_count.erase(path);
        for (FileUpdate& update : *outcome) folder->applied.push_back(std::move(update));
        return;
    }
    if (outcome.error().code == Errc::changed) {
        if (++folder->recheck_count[path] > kMaxRechecks) {
            folder->problems[path] =
                outcome.error().message + " (it keeps changing: left alone until it settles)";
            folder->needed.erase(path);
            folder->recheck_count.erase(path);
            return;
        }
        folder->recheck.insert(path);
        folder->recheck.insert(also.begin(), also.end());
        // What changed may lie anywhere beneath the path (a directory's
        // entries): the scan before the next try covers the whole folder,
        // files modified a moment ago included, else the step would find
        // the same change again.
        folder->scan_wanted = true;
        folder->full_scan_wanted = true;
        folder->scan_requested = true;
        return;
    }
    folder->problems[path] = outcome.error().message + what_to_do(outcome.error().code);
    // `path` stays needed, so the next scan plans it again; the step's other
    // paths go with it (planned apart, a rename's target would be built
    // from a copy and its source left behind for good).
    folder->recheck.insert(also.begin(), also.end());
}

asio::awaitable<void> Engine::Impl::flush_applied(FolderPtr folder) {
    if (folder->applied.empty()) co_return;
    std::vector<FileUpdate> updates = std::move(folder->applied);
    folder->applied.clear();
    auto work4 = [&s = store, id = folder->folder.id, u = std::move(updates)]() mutable {
        auto put = s.put_files(id, u);
        return put ? Result<Sequence>(u.back().record.sequence) : tl::unexpected(put.error());
    };
    auto stored = co_await offload(workers, std::move(work4));
    if (!stored) {
        folder->error =
            "folder " + folder->folder.id + ": storing synced records: " + stored.error().message;
        co_return;
    }
    // Only sync writes while no scan runs: our own records need no planning.
    folder->scan_seen = std::max(folder->scan_seen, *stored);
    local_index_changed(folder);
}

}  // namespace ferry
