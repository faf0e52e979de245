// Publishing finished files in groups. The files that finish while one group
// is being published form the next, so a burst of small files costs about
// one flush per group, where a file on its own costs an fsync of itself and
// one of its directory (on the disks measured here each about as slow as a
// flush of the whole filesystem).
//
// A group: Filesystem::sync_paths of every finished temporary file (the data
// is durable before any name points at it, so a crash never shows a partly
// written file), then for each file the last check against the disk (a local
// edit made during the fetch wins: Errc::changed, and it is rescanned first)
// and FileAssembly::publish(). The new names, and the versions kept of the
// files they replaced, are made durable by the next group's flush, which
// covers them too; when no group follows, by a flush of their own. Only then
// does publish_file() return the stat its record is stored with, so a record
// never names a file a crash could take back, and a replaced file's content
// is never durably gone from both its names.
#include "core/path_rules.hh"
#include "sync/engine_impl.hh"
#include "sync/write_steps.hh"

namespace ferry {

using engine_detail::offload;
using engine_detail::PendingPublish;
using engine_detail::SharedAssembly;
using engine_detail::Signal;

namespace {

using Pending = std::vector<std::shared_ptr<PendingPublish>>;

struct GroupMember {
    std::shared_ptr<SharedAssembly> file;
    std::string path;
    std::optional<FileRecord> expected;
};

struct GroupOutcome {
    Result<void> flushed;                     // the flush (also of the earlier names)
    std::vector<Result<Published>> published;  // per member: renamed (names not yet durable)
};

// Blocking: one flush of the members' data and of `earlier_names`, then the
// members' renames.
GroupOutcome publish_group(Filesystem& fs, FolderWriter& writer, const std::string& folder_id,
                           const std::vector<GroupMember>& group,
                           std::vector<std::string> earlier_names) {
    std::vector<std::string> paths = std::move(earlier_names);
    for (const GroupMember& member : group) {
        std::lock_guard lock(member.file->mutex);
        paths.push_back(member.file->assembly->temporary_path());
    }
    GroupOutcome out;
    out.published.resize(group.size());
    if (auto synced = fs.sync_paths(paths); !synced) {
        out.flushed = in_context(synced.error(),
                                 "folder " + folder_id + ": cannot make received files durable");
        for (auto& result : out.published) result = tl::unexpected(out.flushed.error());
        return out;
    }
    for (std::size_t i = 0; i < group.size(); ++i) {
        const GroupMember& member = group[i];
        auto same = writer.check_unchanged(member.path, member.expected);
        if (!same) {
            out.published[i] = tl::unexpected(same.error());
        } else if (!*same) {
            out.published[i] = fail(Errc::changed, printable_path(member.path) +
                                                       ": changed on disk while it was being "
                                                       "fetched; it is rescanned first");
        } else {
            std::lock_guard lock(member.file->mutex);
            out.published[i] = member.file->assembly->publish();
        }
    }
    return out;
}

// Hands each waiting file its result.
void complete(Pending& pending, const Result<void>& flushed) {
    for (auto& p : pending) {
        if (p->result && !flushed) p->result = tl::unexpected(flushed.error());
        p->done->fire();
    }
    pending.clear();
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
    Pending renamed;  // published; their names wait for the next flush
    std::vector<std::string> names;  // theirs, and the versions kept of what they replaced
    while (!folder->to_publish.empty() || !renamed.empty()) {
        Pending group = std::exchange(folder->to_publish, {});
        std::vector<GroupMember> members;
        for (const auto& p : group) members.push_back({p->file, p->path, p->expected});
        auto work = [f = folder, m = std::move(members), n = std::exchange(names, {})]() mutable {
            return publish_group(*f->fs, *f->writer, f->folder.id, m, std::move(n));
        };
        GroupOutcome outcome = co_await offload(workers, std::move(work));
        complete(renamed, outcome.flushed);
        for (std::size_t i = 0; i < group.size(); ++i) {
            Result<Published>& published = outcome.published[i];
            if (published) {
                group[i]->result = published->stat;
                names.push_back(group[i]->path);
                if (!published->kept_version.empty()) names.push_back(std::move(published->kept_version));
                renamed.push_back(group[i]);
            } else {
                group[i]->result = tl::unexpected(published.error());
                group[i]->done->fire();
            }
        }
    }
    folder->publishing = false;
}

}  // namespace ferry
