// Publishing finished files in groups. The files that finish while one group
// is being published form the next, so a burst of small files costs one
// flush of their data and one of their names per group, where a file on its
// own costs an fsync of itself and one of its directory (on the disks
// measured here, each about as slow as a whole-filesystem flush).
//
// A group: Filesystem::sync_paths of every temporary file (the data is
// durable before any name points at it, so a crash never shows a partly
// written file), then for each file the last check against the disk (a local
// edit made during the fetch wins: Errc::changed, and it is rescanned first)
// and FileAssembly::publish(), then sync_paths of the published names, so
// every rename is durable before write_file hands back the stat its record
// is stored with.
#include "core/path_rules.hh"
#include "sync/engine_impl.hh"
#include "sync/write_steps.hh"

namespace ferry {

using engine_detail::offload;
using engine_detail::PendingPublish;
using engine_detail::SharedAssembly;
using engine_detail::Signal;

namespace {

struct GroupMember {
    std::shared_ptr<SharedAssembly> file;
    std::string path;
    std::optional<FileRecord> expected;
};

// Blocking: the group's two flushes and its renames; a result per member.
std::vector<Result<FileStat>> publish_group(Filesystem& fs, FolderWriter& writer,
                                            const std::string& folder_id,
                                            const std::vector<GroupMember>& group) {
    std::vector<std::string> temporaries;
    for (const GroupMember& member : group) {
        std::lock_guard lock(member.file->mutex);
        temporaries.push_back(member.file->assembly->temporary_path());
    }
    std::vector<Result<FileStat>> results(group.size());
    if (auto synced = fs.sync_paths(temporaries); !synced) {
        const Error error = in_context(synced.error(), "folder " + folder_id +
                                                           ": cannot make received files durable")
                                .value();
        for (auto& result : results) result = tl::unexpected(error);
        return results;
    }
    std::vector<std::string> published;
    for (std::size_t i = 0; i < group.size(); ++i) {
        const GroupMember& member = group[i];
        auto same = writer.check_unchanged(member.path, member.expected);
        if (!same) {
            results[i] = tl::unexpected(same.error());
        } else if (!*same) {
            results[i] = fail(Errc::changed, printable_path(member.path) +
                                                 ": changed on disk while it was being fetched; "
                                                 "it is rescanned first");
        } else {
            std::lock_guard lock(member.file->mutex);
            results[i] = member.file->assembly->publish();
            if (results[i]) published.push_back(member.path);
        }
    }
    if (auto synced = fs.sync_paths(published); !synced) {
        const Error error =
            in_context(synced.error(), "folder " + folder_id + ": cannot make new names durable")
                .value();
        for (auto& result : results)
            if (result) result = tl::unexpected(error);
    }
    return results;
}

}  // namespace

asio::awaitable<Result<FileStat>> Engine::Impl::publish_file(FolderPtr folder,
                                                             std::shared_ptr<SharedAssembly> file,
                                                             std::string path,
                                                             std::optional<FileRecord> expected) {
    auto pending = std::make_shared<PendingPublish>();
    pending->file = std::move(file);
    pending->path = std::move(path);
    pending->expected = std::move(expected);
    pending->done = std::make_shared<Signal>(io.get_executor());
    folder->to_publish.push_back(pending);
    if (!folder->publishing) {
        folder->publishing = true;
        spawn(publish_groups(folder));
    }
    co_await pending->done->wait();
    co_return std::move(pending->result);
}

asio::awaitable<void> Engine::Impl::publish_groups(FolderPtr folder) {
    while (!folder->to_publish.empty()) {
        auto pending = std::exchange(folder->to_publish, {});
        std::vector<GroupMember> group;
        for (const auto& p : pending) group.push_back({p->file, p->path, p->expected});
        auto work = [f = folder, g = std::move(group)] {
            return publish_group(*f->fs, *f->writer, f->folder.id, g);
        };
        auto results = co_await offload(workers, std::move(work));
        for (std::size_t i = 0; i < pending.size(); ++i) {
            pending[i]->result = std::move(results[i]);
            pending[i]->done->fire();
        }
    }
    folder->publishing = false;
}

}  // namespace ferry
