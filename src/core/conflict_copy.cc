#include "core/conflict_copy.hh"

namespace ferry {

std::optional<FileRecord> conflict_copy_record(const FileRecord& losing, std::string_view copy_path,
                                               const std::optional<FileRecord>& existing,
                                               ShortId local, bool local_change) {
    FileRecord copy = losing;
    copy.path = std::string(copy_path);
    copy.sequence = Sequence{};
    if (existing) {
        const Ordering order = existing->version.compare(losing.version);
        if (order == Ordering::equal || order == Ordering::newer) return std::nullopt;
        if (order == Ordering::concurrent) local_change = true;
        copy.version = copy.version.merged(existing->version);
    }
    if (local_change) {
        copy.version.increment(local);
        copy.modified_by = local;
    }
    return copy;
}

}  // namespace ferry
