// `ferry ls`: what the index holds for one path.
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/commands.hh"
#include "cli/format.hh"
#include "cli/home.hh"
#include "cli/target_path.hh"

namespace ferry::cli {
namespace {

struct LsOptions {
    std::string path;
    bool json = false;
};

nlohmann::json version_json(const VersionVector& version) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : version.entries()) {
        out.push_back({{"device", short_id_hex(e.id)}, {"counter", e.counter}});
    }
    return out;
}

nlohmann::json record_json(const Target& target, const FileRecord& r) {
    nlohmann::json out = {
        {"folder", target.folder.id},
        {"path", r.path},
        {"kind", file_kind_name(r.kind)},
        {"size", r.size},
        {"mtime", iso_time_ns(r.mtime_ns)},
        {"mtime_ns", r.mtime_ns},
        {"mode", octal_mode(r.mode)},
        {"deleted", r.deleted},
        {"version", version_json(r.version)},
        {"sequence", r.sequence.value},
        {"modified_by", short_id_hex(r.modified_by)},
    };
    if (r.kind == FileKind::symlink) out["symlink_target"] = r.symlink_target;
    if (r.kind == FileKind::file) {
        nlohmann::json chunks = nlohmann::json::array();
        std::uint64_t offset = 0;
        for (const ChunkRef& c : r.chunks) {
            chunks.push_back({{"offset", offset}, {"size", c.size}, {"hash", c.hash.hex()}});
            offset += c.size;
        }
        out["chunks"] = std::move(chunks);
    }
    return out;
}

nlohmann::json children_json(const std::vector<StoredEntry>& children) {
    nlohmann::json out = nlohmann::json::array();
    for (const StoredEntry& e : children) {
        out.push_back({{"name", e.name},
                       {"kind", file_kind_name(e.kind)},
                       {"size", e.size},
                       {"mtime", iso_time_ns(e.mtime_ns)},
                       {"mode", octal_mode(e.mode)},
                       {"deleted", e.deleted}});
    }
    return out;
}

void print_field(const char* name, const std::string& value) {
    std::printf("  %-12s %s\n", name, value.c_str());
}

void print_record(const Target& target, const FileRecord& r, ShortId self) {
    std::printf("%s\n", target.shown().c_str());
    print_field("kind", file_kind_name(r.kind));
    if (r.kind == FileKind::file) {
        print_field("size", with_commas(r.size) + " bytes (" + human_bytes(r.size) + ")");
    }
    if (r.kind == FileKind::symlink) print_field("target", r.symlink_target);
    print_field("mtime", iso_time_ns(r.mtime_ns));
    print_field("mode", octal_mode(r.mode));
    print_field("deleted", r.deleted ? "yes" : "no");
    print_field("version", r.version.to_string());
    print_field("sequence", std::to_string(r.sequence.value));
    print_field("modified-by",
                short_id_hex(r.modified_by) + (r.modified_by == self ? " (this device)" : ""));
    if (r.kind != FileKind::file) return;
    print_field("chunks", with_commas(r.chunks.size()));
    if (r.chunks.empty()) return;
    std::printf("    %12s  %8s  %s\n", "offset", "size", "hash");
    std::uint64_t offset = 0;
    for (const ChunkRef& c : r.chunks) {
        std::printf("    %12llu  %8u  %s\n", static_cast<unsigned long long>(offset), c.size,
                    c.hash.hex().c_str());
        offset += c.size;
    }
}

void print_children(const std::vector<StoredEntry>& children) {
    print_field("entries", with_commas(children.size()));
    for (const StoredEntry& e : children) {
        const std::string size = e.kind == FileKind::file && !e.deleted ? with_commas(e.size) : "-";
        const std::string name = e.name + (e.kind == FileKind::directory ? "/" : "");
        std::printf("    %-9s  %14s  %s  %s\n", e.deleted ? "deleted" : file_kind_name(e.kind),
                    size.c_str(), iso_time_ns(e.mtime_ns).c_str(), name.c_str());
    }
}

int run_ls(const LsOptions& options) {
    auto device = open_device();
    if (!device) return report(device.error());
    auto target = resolve(*device->store, options.path);
    if (!target) return report(target.error());
    Store& store = *device->store;
    const std::string& folder_id = target->folder.id;

    std::optional<FileRecord> record;
    if (!target->path.empty()) {
        auto found = store.get_file(folder_id, target->path);
        if (!found)
            return report(Failure{"cannot look up " + target->shown(), found.error().message});
        if (!*found) {
            return report(Failure{"cannot show " + target->shown(), "it is not in the index",
                                  "if it exists, run `ferry scan " + folder_id + "` to index it"});
        }
        record = std::move(**found);
    }
    std::vector<StoredEntry> children;
    if (!record || record->kind == FileKind::directory) {
        auto listed = store.children(folder_id, target->path);
        if (!listed)
            return report(Failure{"cannot list " + target->shown(), listed.error().message});
        children = std::move(*listed);
    }

    const bool directory = !record || record->kind == FileKind::directory;
    if (options.json) {
        nlohmann::json out = record ? record_json(*target, *record)
                                    : nlohmann::json{{"folder", folder_id},
                                                     {"path", ""},
                                                     {"kind", "directory"},
                                                     {"root", target->folder.path}};
        if (directory) out["children"] = children_json(children);
        std::printf("%s\n", out.dump(2).c_str());
        return kExitOk;
    }
    if (record) {
        print_record(*target, *record, device->id.short_id());
    } else {
        std::printf("%s (folder root: %s)\n", target->shown().c_str(), target->folder.path.c_str());
    }
    if (directory) print_children(children);
    return kExitOk;
}

}  // namespace

void add_ls_command(CLI::App& app, int& status) {
    auto options = std::make_shared<LsOptions>();
    CLI::App* ls = app.add_subcommand(
        "ls",
        "Show what the index holds for a path: kind, size, mtime, mode, deleted flag, version "
        "vector, sequence, the device that made this version, and a file's chunks (offset, size, "
        "hash). A directory also lists its indexed entries. PATH is a path inside a folder "
        "(absolute or relative to the current directory) or FOLDER-ID:PATH.");
    ls->add_option("PATH", options->path, "A path inside a folder, or FOLDER-ID:PATH")->required();
    ls->add_flag("--json", options->json, "Print the record as JSON");
    ls->callback([options, &status] { status = run_ls(*options); });
}

}  // namespace ferry::cli
