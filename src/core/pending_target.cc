#include "core/pending_target.hh"

namespace ferry {

std::vector<FileRecord> step_targets(const PathStep& step) {
    std::vector<FileRecord> out;
    if (step.kind == StepKind::none || step.kind == StepKind::adopt) return out;
    out.push_back(step.target);
    if (step.rename_from) out.push_back(*step.rename_from);
    for (const MovedEntry& entry : step.moved) {
        out.push_back(entry.removed);
        out.push_back(entry.target);
    }
    return out;
}

bool holds_target(const FileRecord& disk, const FileRecord& target) {
    if (!same_content(disk, target)) return false;
    if (target.deleted) return true;
    if (target.kind != FileKind::symlink && disk.mode != safe_mode(target.mode)) return false;
    return target.kind != FileKind::file || disk.mtime_ns == target.mtime_ns;
}

}  // namespace ferry
