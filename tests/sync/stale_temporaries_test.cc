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

TEMPLATE_TEST_CASE("stale temporaries: removed when this device holds or has seen the announced "
                   "version",
                   "[writer][temporaries]", MemoryFolder, PosixFolder) {
    TestType t;
    Writer w(t.fs);
    REQUIRE(t.fs.make_dir("d", 0755));
    const std::string content = noise(600'000, 33);
    const FileRecord version = file_record("d/big.bin", content);
    const std::string temporary = cut_transfer(w, version, content);
    announce(*w.store, version, 1);
    auto removed = w.writer.remove_if_stale(temporary);
    REQUIRE(removed);
    CHECK(!*removed);

    // The same content is made here too (concurrent with the peer's, found
    // by sim seed 411881): the two versions merge without a transfer, and
    // the peer keeps announcing it.
    put(t.fs, "d/big.bin", content);
    w.scan();
    REQUIRE(w.local("d/big.bin").chunks == version.chunks);
    removed = w.writer.remove_if_stale(temporary);
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(!exists(t.fs, temporary));

    // The peer edits the file, and this device replaces that edit; until
    // the peer hears of it, it still announces its edit.
    const std::string older_content = noise(600'000, 34);
    FileRecord older = file_record("d/big.bin", older_content);
    older.version.increment(kPeer);
    const std::string older_temporary = cut_transfer(w, older, older_content);
    announce(*w.store, older, 2);
    FileRecord newer = w.local("d/big.bin");
    newer.version = newer.version.merged(w.store->announced_file(kFolder, kPeer, "d/big.bin")->value().version);
    newer.version.increment(kDevice);
    std::vector<FileUpdate> updates{FileUpdate{newer, 0}};
    REQUIRE(w.store->put_files(kFolder, updates));
    removed = w.writer.remove_if_stale(older_temporary);
    REQUIRE(removed);
    CHECK(*removed);
    CHECK(!exists(t.fs, older_temporary));
}
