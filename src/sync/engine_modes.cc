// `ferry folder override` (send-only) and `ferry folder revert`
// (receive-only): both decide their steps here and hand them to the pull,
// which applies them like planned ones (disk checked first, records stored,
// then announced).
#include "sync/engine_impl.hh"
#include "sync/engine_steps.hh"

namespace ferry {

using engine_detail::offload;
using engine_detail::PlannedStep;

namespace {

Result<std::vector<PlannedStep>> override_steps(Store& store, const std::string& folder_id,
                                                const std::vector<std::string>& paths,
                                                ShortId local) {
    std::vector<PlannedStep> steps;
    for (const std::string& path : paths) {
        auto current = store.get_file(folder_id, path);
        if (!current) return tl::unexpected(current.error());
        auto remotes = engine_detail::remote_versions(store, folder_id, path);
        if (!remotes) return tl::unexpected(remotes.error());
        FileRecord base;
        if (*current) {
            base = **current;
        } else {  // only peers have it: make them delete it
            base.path = path;
            base.deleted = true;
        }
        PlannedStep planned;
        planned.local = *current;
        planned.step.kind = StepKind::adopt;
        planned.step.path = path;
        planned.step.target = override_record(base, *remotes, local);
        planned.step.target.modified_by = local;
        steps.push_back(std::move(planned));
    }
    return steps;
}

Result<std::vector<PlannedStep>> revert_steps(Store& store, const std::string& folder_id,
                                              const std::vector<std::string>& paths,
                                              ShortId local) {
    std::vector<PlannedStep> steps;
    for (const std::string& path : paths) {
        auto current = store.get_file(folder_id, path);
        if (!current) return tl::unexpected(current.error());
        auto remotes = engine_detail::remote_versions(store, folder_id, path);
        if (!remotes) return tl::unexpected(remotes.error());
        auto step = engine_detail::revert_step(store, folder_id, path, *current, *remotes, local);
        if (!step) return tl::unexpected(step.error());
        if (*step) steps.push_back(std::move(**step));
    }
    return steps;
}

}  // namespace

Result<void> Engine::Impl::force_steps(const std::string& folder_id, FolderMode required,
                                       const char* verb, StepMaker make_steps) {
    auto folder = find_folder(folder_id);
    if (!folder) return fail(Errc::not_found, "folder " + folder_id + " is not known here");
    if (folder->folder.mode != required)
        return fail(Errc::invalid_argument,
                    "folder " + folder_id + " is " + folder_mode_name(folder->folder.mode) +
                        ": only a " + folder_mode_name(required) + " folder can be " + verb);
    const auto& listed = required == FolderMode::send_only ? folder->needs_override
                                                           : folder->local_changes;
    std::vector<std::string> paths(listed.begin(), listed.end());
    spawn([](std::shared_ptr<Impl> self, FolderPtr f, std::vector<std::string> p,
             StepMaker make, std::string what) -> asio::awaitable<void> {
        auto work = [&s = self->store, id = f->folder.id, p, device = self->local, make] {
            return make(s, id, p, device);
        };
        auto steps = co_await offload(self->workers, std::move(work));
        if (!steps) {
            f->error = "folder " + f->folder.id + ": " + what + " failed: " + steps.error().message;
            co_return;
        }
        for (PlannedStep& step : *steps) f->forced.push_back(std::move(step));
        self->start_pull(f);
    }(shared_from_this(), folder, std::move(paths), make_steps, std::string(verb)));
    return {};
}

Result<void> Engine::Impl::override_folder(const std::string& folder_id) {
    return force_steps(folder_id, FolderMode::send_only, "overridden", override_steps);
}

Result<void> Engine::Impl::revert_folder(const std::string& folder_id) {
    return force_steps(folder_id, FolderMode::receive_only, "reverted", revert_steps);
}

}  // namespace ferry
