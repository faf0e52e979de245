#include "sync/file_assembly.hh"

#include <algorithm>
#include <unordered_map>
#include <vector>

#include "core/chunk_hash.hh"
#include "core/path_rules.hh"
#include "sync/write_steps.hh"

namespace ferry {

namespace {

// Local files kept open while copying, so consecutive chunks of one file
// cost one open.
constexpr std::size_t kOpenSources = 4;

// Reads exactly buf.size() bytes at `offset`; false when the file is shorter.
Result<bool> read_exact(ReadFile& file, std::uint64_t offset, std::span<std::uint8_t> buf) {
    std::size_t done = 0;
    while (done < buf.size()) {
        auto n = file.read_at(offset + done, buf.subspan(done));
        if (!n) return tl::unexpected(n.error());
        if (*n == 0) return false;
        done += *n;
    }
    return true;
}

class Assembly final : public FileAssembly {
public:
    Assembly(const AssemblyContext& context, const FileRecord& target)
        : m_context(context), m_target(target) {
        std::uint64_t offset = 0;
        std::uint32_t largest = 0;
        for (std::size_t i = 0; i < target.chunks.size(); ++i) {
            m_offsets.push_back(offset);
            offset += target.chunks[i].size;
            largest = std::max(largest, target.chunks[i].size);
            m_same_hash[target.chunks[i].hash].push_back(i);
        }
        m_present.assign(target.chunks.size(), false);
        m_missing = target.chunks.size();
        m_buffer.resize(largest);
        m_temp = assembly_path(target);
        m_where = "folder " + context.folder_id + ": cannot build '" + printable_path(target.path) + "'";
    }

    Result<void> open() {
        auto st = fs().lstat(m_temp);
        if (st && st->kind != EntryKind::file) {
            if (auto r = fs().remove(m_temp); !r) return in_context(r.error(), m_where);
        } else if (st && st->size > 0) {
            if (auto r = keep_verified_ranges(st->size); !r) return r;
        } else if (!st && st.error().code != Errc::not_found) {
            return in_context(st.error(), m_where);
        }
        auto file = fs().open_update(m_temp, 0600);
        // The directory is gone: this file beat a delete of it (an edit wins
        // over a concurrent delete), so the directory is made again.
        if (!file && file.error().code == Errc::not_found) {
            if (auto made = make_dirs(fs(), parent_path(m_target.path)); !made)
                return in_context(made.error(), m_where);
            file = fs().open_update(m_temp, 0600);
        }
        if (!file) return in_context(file.error(), m_where);
        m_file = std::move(*file);
        return {};
    }

    Result<void> copy_local_chunks() {
        for (const auto& [hash, indexes] : m_same_hash) {
            if (std::all_of(indexes.begin(), indexes.end(), [&](std::size_t i) { return m_present[i]; }))
                continue;
            const auto present = std::find_if(indexes.begin(), indexes.end(), [&](std::size_t i) { return m_present[i]; });
            if (present != indexes.end()) {
                auto r = copy_from(m_temp, m_offsets[*present], *present);
                if (!r) return tl::unexpected(r.error());
                if (*r) continue;
            }
            auto locations = m_context.store.find_chunk(hash);
            if (!locations) return in_context(locations.error(), m_where);
            for (const ChunkLocation& at : *locations) {
                if (at.folder_id != m_context.folder_id || at.size != m_target.chunks[indexes.front()].size)
                    continue;
                auto r = copy_from(at.path, at.offset, indexes.front());
                if (!r) return tl::unexpected(r.error());
                if (*r) break;
            }
        }
        m_sources.clear();
        std::vector<std::uint8_t>().swap(m_buffer);  // only resuming and local copies read into it
        return {};
    }

    std::vector<std::size_t> missing() const override {
        std::vector<std::size_t> out;
        out.reserve(m_missing);
        for (std::size_t i = 0; i < m_present.size(); ++i)
            if (!m_present[i]) out.push_back(i);
        return out;
    }

    Result<void> put_chunk(std::size_t index, std::span<const std::uint8_t> data) override {
        if (!m_file)
            return fail(Errc::invalid_argument, m_where + ": the file was finished or failed already");
        if (index >= m_target.chunks.size())
            return fail(Errc::invalid_argument, m_where + ": chunk " + std::to_string(index) +
                                                    " does not exist (the file has " +
                                                    std::to_string(m_target.chunks.size()) + ")");
        const ChunkRef& ref = m_target.chunks[index];
        if (data.size() != ref.size)
            return fail(Errc::corrupt, m_where + ": chunk " + std::to_string(index) + " has " +
                                           std::to_string(data.size()) + " bytes instead of " +
                                           std::to_string(ref.size) + "; not written");
        if (hash_chunk(data) != ref.hash)
            return fail(Errc::corrupt, m_where + ": chunk " + std::to_string(index) +
                                           " does not match its hash; not written");
        return write_everywhere(ref.hash, data);
    }

    Result<void> finish() override {
        if (!m_file)
            return fail(Errc::invalid_argument, m_where + ": the file was finished or failed already");
        if (m_missing > 0)
            return fail(Errc::invalid_argument, m_where + ": " + std::to_string(m_missing) + " of " +
                                                    std::to_string(m_present.size()) + " chunks are still missing");
        auto file = std::move(m_file);
        // Through the open file: no path is resolved again. Only a resumed
        // temporary file that was longer than the target needs truncating.
        auto written = file->stat();
        if (!written) return in_context(written.error(), m_where);
        if (written->size != m_target.size)
            if (auto r = file->truncate(m_target.size); !r) return in_context(r.error(), m_where);
        if (auto r = file->set_mode(safe_mode(m_target.mode)); !r) return in_context(r.error(), m_where);
        if (auto r = file->set_mtime(m_target.mtime_ns); !r) return in_context(r.error(), m_where);
        auto done = file->stat();
        if (!done) return in_context(done.error(), m_where);
        m_stat = *done;
        m_finished = true;
        return {};
    }

    const std::string& temporary_path() const override { return m_temp; }

    Result<Published> publish() override {
        if (!m_finished)
            return fail(Errc::invalid_argument, m_where + ": the file is not finished, or was published already");
        m_finished = false;
        // The version is made durable with the new name, by the caller's flush.
        auto kept = clear_for_replacement(fs(), m_context.versions, m_target.path, m_context.clock.now_ns(),
                                          KeptSync::by_caller);
        if (!kept) return in_context(kept.error(), m_where);
        if (auto r = fs().rename(m_temp, m_target.path); !r) {
            // No flush of the caller covers the version now: it is synced
            // here, before anything can make the old name's removal durable.
            if (!kept->empty()) (void)fs().sync_dir(parent_path(*kept));
            return in_context(r.error(), m_where);
        }
        return Published{m_stat, std::move(*kept)};  // a rename keeps the inode, its size, mode and mtime
    }

private:
    Filesystem& fs() const { return m_context.fs; }

    // Resume: hashes each chunk range the temporary file already covers.
    Result<void> keep_verified_ranges(std::uint64_t file_size) {
        auto file = fs().open_read(m_temp);
        if (!file) return in_context(file.error(), m_where);
        for (std::size_t i = 0; i < m_present.size(); ++i) {
            const ChunkRef& ref = m_target.chunks[i];
            if (m_offsets[i] + ref.size > file_size) break;
            const auto buf = std::span(m_buffer).first(ref.size);
            auto full = read_exact(**file, m_offsets[i], buf);
            if (!full) return in_context(full.error(), m_where);
            if (*full && hash_chunk(buf) == ref.hash) mark_present(i);
        }
        return {};
    }

    // Copies chunk `index`'s bytes from `path` at `offset` if they match its
    // hash (to every index with that hash). False when they do not, or the
    // source cannot be read: another source may still have them.
    Result<bool> copy_from(const std::string& path, std::uint64_t offset, std::size_t index) {
        const ChunkRef& ref = m_target.chunks[index];
        ReadFile* source = open_source(path);
        if (source == nullptr) return false;
        const auto buf = std::span(m_buffer).first(ref.size);
        auto full = read_exact(*source, offset, buf);
        if (!full || !*full || hash_chunk(buf) != ref.hash) return false;
        if (auto r = write_everywhere(ref.hash, buf); !r) return tl::unexpected(r.error());
        return true;
    }

    ReadFile* open_source(const std::string& path) {
        const auto it = std::find_if(m_sources.begin(), m_sources.end(),
                                     [&](const auto& s) { return s.first == path; });
        if (it != m_sources.end()) return it->second.get();
        auto file = fs().open_read(path);
        if (!file) return nullptr;
        if (m_sources.size() == kOpenSources) m_sources.erase(m_sources.begin());
        m_sources.emplace_back(path, std::move(*file));
        return m_sources.back().second.get();
    }

    // Writes verified `data` at every still-missing index with `hash`.
    Result<void> write_everywhere(const ChunkHash& hash, std::span<const std::uint8_t> data) {
        for (const std::size_t i : m_same_hash.at(hash)) {
            if (m_present[i]) continue;
            if (auto r = m_file->write_at(m_offsets[i], data); !r) return in_context(r.error(), m_where);
            mark_present(i);
        }
        return {};
    }

    void mark_present(std::size_t i) {
        if (!m_present[i]) --m_missing;
        m_present[i] = true;
    }

    AssemblyContext m_context;
    FileRecord m_target;
    std::string m_temp;
    std::string m_where;  // error context: folder and path
    std::vector<std::uint64_t> m_offsets;
    std::vector<bool> m_present;
    std::size_t m_missing = 0;
    std::unordered_map<ChunkHash, std::vector<std::size_t>> m_same_hash;
    std::vector<std::uint8_t> m_buffer;
    std::unique_ptr<WriteFile> m_file;  // null once finished
    bool m_finished = false;            // finished and not yet published
    FileStat m_stat;                    // the finished file's
    std::vector<std::pair<std::string, std::unique_ptr<ReadFile>>> m_sources;
};

Result<void> check_target(const AssemblyContext& context, const FileRecord& target) {
    const std::string where = "folder " + context.folder_id + ": cannot build '" + printable_path(target.path) + "'";
    if (auto ok = check_writable_path(target.path, where); !ok) return ok;
    if (target.kind != FileKind::file || target.deleted)
        return fail(Errc::invalid_argument, where + ": the record is not a file's");
    std::uint64_t total = 0;
    for (const ChunkRef& ref : target.chunks) {
        if (ref.size == 0 || ref.size > kMaxChunkSize)
            return fail(Errc::invalid_argument, where + ": a chunk of " + std::to_string(ref.size) + " bytes");
        total += ref.size;
    }
    if (total != target.size)
        return fail(Errc::invalid_argument, where + ": its chunks hold " + std::to_string(total) +
                                                " bytes, the record says " + std::to_string(target.size));
    return {};
}

}  // namespace

std::string assembly_path(const FileRecord& target) {
    return temporary_path(target.path, derive_unique({target.path, encode_chunk_list(target.chunks)}));
}

Result<std::unique_ptr<FileAssembly>> assemble_file(const AssemblyContext& context, const FileRecord& target) {
    if (auto ok = check_target(context, target); !ok) return tl::unexpected(ok.error());
    auto assembly = std::make_unique<Assembly>(context, target);
    if (auto r = assembly->open(); !r) return tl::unexpected(r.error());
    if (auto r = assembly->copy_local_chunks(); !r) return tl::unexpected(r.error());
    return assembly;
}

}  // namespace ferry
