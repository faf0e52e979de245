// Names a case-insensitive filesystem takes for one: sync refuses to write
// "Readme" over a "README" it has no record of, and a case-only rename is a
// rename, not a clash.
#include <catch2/catch.hpp>

#include "case_folding_filesystem.hh"
#include "sync/engine_steps.hh"
#include "writer_test_util.hh"

using namespace ferry;
using namespace ferry::test;

TEST_CASE("name clash: a name the disk takes for another is refused, naming it", "[writer][clash]") {
    MemoryFilesystem disk;
    CaseFoldingFilesystem fs(disk);
    Writer w(fs);
    put(fs, "README", "the readme\n");
    REQUIRE(fs.make_dir("Docs", 0755));
    w.scan();

    auto clash = w.writer.check_unchanged("Readme", std::nullopt);
    REQUIRE(!clash);
    CHECK(clash.error().code == Errc::already_exists);
    CHECK_THAT(clash.error().message, Catch::Contains("'Readme' clashes with 'README'"));
    auto in_dir = w.writer.check_unchanged("docs/new.txt", std::nullopt);  // through "Docs": no clash
    CHECK(in_dir.value());
    auto deep = w.writer.check_unchanged("DOCS", std::nullopt);
    REQUIRE(!deep);
    CHECK_THAT(deep.error().message, Catch::Contains("'Docs'"));
    // Literally there: a change since the scan, not a clash.
    CHECK(!w.writer.check_unchanged("README", std::nullopt).value());
    // The source of a case-only rename is not in the way of its target.
    CHECK(w.writer.check_unchanged("Readme", std::nullopt, "README").value());

    // Planned as a step, the clash is refused and nothing is written.
    engine_detail::PlannedStep planned;
    planned.step.kind = StepKind::make_directory;
    planned.step.path = "readme";
    planned.step.target.path = "readme";
    planned.step.target.kind = FileKind::directory;
    planned.step.target.mode = 0755;
    std::vector<FileUpdate> copies;
    auto refused =
        engine_detail::apply_local_step(w.writer, fs, *w.store, kFolder, planned, kDevice,
                                        FolderMode::send_receive, copies);
    REQUIRE(!refused);
    CHECK(copies.empty());
    CHECK(refused.error().code == Errc::already_exists);
    CHECK(read_all(fs, "README") == "the readme\n");
}

TEST_CASE("name clash: a case-only rename renames the entry", "[writer][clash]") {
    MemoryFilesystem disk;
    CaseFoldingFilesystem fs(disk);
    Writer w(fs);
    put(fs, "README", "the readme\n");
    w.scan();
    const FileRecord old = w.local("README");

    engine_detail::PlannedStep planned;
    planned.step.kind = StepKind::rename;
    planned.step.path = "Readme";
    planned.step.target = old;
    planned.step.target.path = "Readme";
    planned.step.target.version.increment(ShortId{0xB2});
    FileRecord tombstone = old;
    tombstone.deleted = true;
    tombstone.size = 0;
    tombstone.chunks.clear();
    planned.step.rename_from = tombstone;
    planned.from_local = old;
    std::vector<FileUpdate> copies;
    auto renamed =
        engine_detail::apply_local_step(w.writer, fs, *w.store, kFolder, planned, kDevice,
                                        FolderMode::send_receive, copies);
    CHECK(copies.empty());
    if (!renamed) FAIL(renamed.error().message);
    auto listing = disk.list_dir("");
    REQUIRE(listing);
    REQUIRE(listing->size() == 1);
    CHECK(listing->front().name == "Readme");
    CHECK(read_all(disk, "Readme") == "the readme\n");
}
