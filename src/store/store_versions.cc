// Store: every path's versions, this device's and each peer's, in one walk
// over both tables (for whole-folder comparisons such as per-device
// progress). Two keyset-paged cursors, merged by (parent, name): a lookup per
// path would cost a B-tree descent per path and per table.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "store/store_impl.hh"

namespace ferry {

namespace {

using sqlite::Statement;
using store::error_of;

// The columns read_record() expects, with NULL for the chunk list: the walk
// compares versions and sizes, and chunk lists are most of a record's bytes.
constexpr const char* k_version_columns =
    "parent, name, kind, size, mtime_ns, mode, deleted, version, NULL, symlink_target, "
    "sequence, modified_by";

// One table's rows in key order, read a page per lock hold.
template <class Value>
class PagedCursor {
public:
    using Reader = std::function<Result<void>(store::PageKey&, std::vector<Value>&)>;
    explicit PagedCursor(Reader reader) : m_reader(std::move(reader)) {}

    // The next row's value, or nullptr after the last.
    Result<Value*> peek() {
        if (m_next == m_page.size() && m_more) {
            m_page.clear();
            m_next = 0;
            if (auto ok = m_reader(m_after, m_page); !ok) return error_of(ok);
            m_more = m_page.size() == static_cast<std::size_t>(store::k_page_rows);
        }
        return m_next < m_page.size() ? &m_page[m_next] : nullptr;
    }
    void pop() { ++m_next; }

private:
    Reader m_reader;
    store::PageKey m_after;
    std::vector<Value> m_page;
    std::size_t m_next = 0;
    bool m_more = true;
};

// Orders paths as the tables' keys do: by (parent, name), byte-wise.
bool key_less(std::string_view a, std::string_view b) {
    const store::PathParts x = store::split_path(a);
    const store::PathParts y = store::split_path(b);
    return std::pair(x.parent, x.name) < std::pair(y.parent, y.name);
}

}  // namespace

Result<void> store::prepare_version_statements(store::State& impl) {
    const std::string columns = k_version_columns;
    const store::StatementSpec statements[] = {
        {&impl.file_versions_page,
         "SELECT " + columns +
             " FROM files WHERE folder = ?1 AND (parent, name) > (?2, ?3) "
             "ORDER BY parent, name LIMIT ?4",
         "read a folder's versions"},
        {&impl.announced_versions_page,
         "SELECT " + columns +
             ", device FROM announced WHERE folder = ?1 AND (parent, name, device) > (?2, ?3, ?4) "
             "ORDER BY parent, name, device LIMIT ?5",
         "read the versions peers announced"},
    };
    return store::prepare_all(*impl.db, statements);
}

Result<void> Store::for_each_path_versions(
    std::string_view folder_id, const std::function<Result<void>(const PathVersions&)>& fn) {
    auto& impl = *m_impl;
    constexpr int k_device_column = 12;  // after the 12 record columns
    PagedCursor<FileRecord> locals([&](store::PageKey& after, std::vector<FileRecord>& out) {
        return store::read_page(
            impl, impl.file_versions_page, folder_id, -1, after,
            [&](const Statement& row) { return store::read_record(impl, row, 0, folder_id); }, out);
    });
    PagedCursor<AnnouncedRecord> remotes([&](store::PageKey& after,
                                             std::vector<AnnouncedRecord>& out) {
        return store::read_page(
            impl, impl.announced_versions_page, folder_id, k_device_column, after,
            [&](const Statement& row) -> Result<AnnouncedRecord> {
                auto record = store::read_record(impl, row, 0, folder_id);
                if (!record) return error_of(record);
                return AnnouncedRecord{
                    ShortId{static_cast<std::uint64_t>(row.column_int(k_device_column))},
                    std::move(*record)};
            },
            out);
    });
    PathVersions current;
    for (;;) {
        auto local = locals.peek();
        if (!local) return error_of(local);
        auto remote = remotes.peek();
        if (!remote) return error_of(remote);
        if (*local == nullptr && *remote == nullptr) return {};
        const bool local_first = *remote == nullptr ||
                                 (*local != nullptr && !key_less((*remote)->record.path, (*local)->path));
        current.path = local_first ? (*local)->path : (*remote)->record.path;
        current.local.reset();
        current.announced.clear();
        if (local_first) {
            current.local = std::move(**local);
            locals.pop();
        }
        for (;;) {
            auto next = remotes.peek();
            if (!next) return error_of(next);
            if (*next == nullptr || (*next)->record.path != current.path) break;
            current.announced.push_back(std::move(**next));
            remotes.pop();
        }
        if (auto ok = fn(std::as_const(current)); !ok) return ok;
    }
}

}  // namespace ferry
