// Temporary files a cut transfer leaves: the scanner reports them, and the
// folder writer removes those whose version no peer announces any more
// (replaced, deleted or renamed away), keeping the ones a transfer resumes.
#include "writer_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

constexpr ShortId kPeer{0xB2};

// A transfer of `target` cut after its first chunk; returns its temporary path.
std::string cut_transfer(Writer& w, const FileRecord& target, std::string_view content) {
    auto assembly = w.begin(target);
    REQUIRE(assembly->put_chunk(0, as_bytes(chunk_data(target, content, 0))));
    return assembly->temporary_path();
}

void announce(Store& store, FileRecord record, std::int64_t sequence) {
    record.version.increment(kPeer);
    record.modified_by = kPeer;
    record.sequence = Sequence{sequence};
    const std::vector<FileRecord> records{record};
    REQUIRE(store.put_announced(kFolder, kPeer, records, PeerIndexState{1, Sequence{sequence}}));
}

}  // namespace

TEMPLATE_TEST_CASE("stale temporaries: removed once no peer announces their version; one to "
                   "resume is kept",
                   "[writer][temporaries]", MemoryFolder, PosixFolder) {
    TestType t;
    Writer w(t.fs);
    REQUIRE(t.fs.make_dir("d", 0755));
    const std::string old_content = noise(600'000, 31);
    const std::string new_content = noise(600'000, 32);
    const FileRecord old_version = file_record("d/big.bin", old_content);
    const FileRecord new_version = file_record("d/big.bin", new_content);
    const std::string stale = cut_transfer(w, old_version, old_content);
    const std::string wanted = cut_transfer(w, new_version, new_content);
    REQUIRE(stale != wanted);
    announce(*w.store, new_version, 1);

    ScanOptions options;
    options.local_device = kDevice;
    options.now_ns = kNow;
    auto scanned = scan_folder(t.fs, *w.store, kFolder, options);
    REQUIRE(scanned);
    std::vector<std::string> found = scanned->temporaries;
    std::sort(found.begin(), found.end());
    std::vector<std::string> expected{stale, wanted};
    std::sort(expected.begin(), expected.end());
    CHECK(found == expected);

    auto removed = w.writer.remove_if_stale(stale);
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(!exists(t.fs, stale));
    removed = w.writer.remove_if_stale(wanted);
    REQUIRE(removed);
    CHECK(!*removed);
    CHECK(exists(t.fs, wanted));
    // Resumed as before.
    CHECK(w.begin(new_version)->missing().size() == new_version.chunks.size() - 1);

    // The peer deletes the file: nothing will resume it.
    FileRecord tombstone = new_version;
    tombstone.deleted = true;
    tombstone.size = 0;
    tombstone.chunks.clear();
    announce(*w.store, tombstone, 2);
    removed = w.writer.remove_if_stale(wanted);
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(!exists(t.fs, wanted));
    removed = w.writer.remove_if_stale(wanted);  // already gone
    REQUIRE(removed);
    CHECK(!*removed);

    put(t.fs, "d/plain.txt", "not a temporary file");
    const auto refused = w.writer.remove_if_stale("d/plain.txt");
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::invalid_argument);
    CHECK(exists(t.fs, "d/plain.txt"));
}
