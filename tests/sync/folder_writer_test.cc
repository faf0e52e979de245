// The folder writer on the in-memory and on a real filesystem: files built
// from fetched and from local chunks, resumed after an interruption, never
// visible half-written; the old content kept as a version; symlink swaps,
// full disks and local edits refused without damage.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "core/ignore.hh"
#include "fs/fault_filesystem.hh"
#include "fs/scanner.hh"
#include "net/clock.hh"
#include "sync/folder_writer.hh"
#include "writer_test_util.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Puts every missing chunk of `assembly` from `content`; returns the bytes put.
std::size_t fetch_all(FileAssembly& assembly, const FileRecord& target, std::string_view content) {
    std::size_t bytes = 0;
    for (const std::size_t i : assembly.missing()) {
        const std::string data = chunk_data(target, content, i);
        REQUIRE(assembly.put_chunk(i, as_bytes(data)));
        bytes += data.size();
    }
    return bytes;
}

// Names in `dir` that are temporary files.
std::size_t temporaries(Filesystem& fs, std::string_view dir) {
    auto entries = fs.list_dir(dir);
    REQUIRE(entries);
    return static_cast<std::size_t>(std::count_if(entries->begin(), entries->end(),
                                                  [](const DirEntry& e) { return is_internal_path(e.name); }));
}

}  // namespace

#define BOTH_FOLDERS MemoryFolder, PosixFolder

TEMPLATE_TEST_CASE("folder writer: a file built from fetched chunks appears whole, with mode and mtime",
                   "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    REQUIRE(t.fs.make_dir("dir", 0755));
    const std::string content = noise(900'000, 7);
    const FileRecord target = file_record("dir/data.bin", content, 0640, 1'650'000'000'123'456'789);
    REQUIRE(target.chunks.size() > 3);

    auto assembly = w.begin(target);
    CHECK(assembly->missing().size() == target.chunks.size());
    CHECK(temporaries(t.fs, "dir") == 1);
    for (const std::size_t i : assembly->missing()) {
        CHECK(!exists(t.fs, "dir/data.bin"));  // never visible before commit
        REQUIRE(assembly->put_chunk(i, as_bytes(chunk_data(target, content, i))));
    }
    CHECK(assembly->missing().empty());
    CHECK(!exists(t.fs, "dir/data.bin"));
    auto st = w.commit(*assembly);
    REQUIRE(st);
    CHECK(read_all(t.fs, "dir/data.bin") == content);
    CHECK(st->mode == 0640);
    CHECK(st->mtime_ns == 1'650'000'000'123'456'789);
    CHECK(st->size == content.size());
    CHECK(st->inode == t.fs.lstat("dir/data.bin")->inode);
    CHECK(temporaries(t.fs, "dir") == 0);
    CHECK(!exists(t.fs, ".ferry"));  // nothing was replaced, so no version
    CHECK(assembly->finish().error().code == Errc::invalid_argument);  // once
    CHECK(assembly->publish().error().code == Errc::invalid_argument);

    // An empty file has no chunks and is committed at once.
    auto empty = w.begin(file_record("empty", "", 0600));
    CHECK(empty->missing().empty());
    REQUIRE(w.commit(*empty));
    CHECK(t.fs.lstat("empty")->size == 0);
}

TEMPLATE_TEST_CASE("folder writer: a chunk with wrong data is refused and nothing is written", "[writer]",
                   BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    const std::string content = noise(300'000, 3);
    const FileRecord target = file_record("f", content);
    auto assembly = w.begin(target);
    const std::string good = chunk_data(target, content, 1);
    std::string bad = good;
    bad[bad.size() / 2] ^= 1;

    auto wrong = assembly->put_chunk(1, as_bytes(bad));
    REQUIRE(!wrong);
    CHECK(wrong.error().code == Errc::corrupt);
    CHECK_THAT(wrong.error().message, Catch::Contains("docs") && Catch::Contains("'f'") &&
                                          Catch::Contains("chunk 1"));
    CHECK(assembly->put_chunk(1, as_bytes(good.substr(1))).error().code == Errc::corrupt);  // short
    CHECK(assembly->put_chunk(0, as_bytes(good)).error().code == Errc::corrupt);  // another chunk's
    CHECK(assembly->put_chunk(99, as_bytes(good)).error().code == Errc::invalid_argument);
    CHECK(assembly->missing().size() == target.chunks.size());
    auto entries = t.fs.list_dir("");
    REQUIRE(entries);
    REQUIRE(entries->size() == 1);
    CHECK(t.fs.lstat(entries->front().name)->size == 0);  // not a byte in the temporary file
    auto early = w.commit(*assembly);
    REQUIRE(!early);
    CHECK_THAT(early.error().message, Catch::Contains("still missing"));
    CHECK(!exists(t.fs, "f"));

    // Records that cannot describe a file are refused before anything is made.
    FileRecord lying = target;
    lying.size += 1;
    CHECK(w.writer.begin_file(lying).error().code == Errc::invalid_argument);
    FileRecord internal = target;
    internal.path = ".ferry/versions/x";
    CHECK(w.writer.begin_file(internal).error().code == Errc::invalid_argument);
    FileRecord escape = target;
    escape.path = "../escape";
    CHECK(w.writer.begin_file(escape).error().code == Errc::invalid_argument);
}

TEMPLATE_TEST_CASE("folder writer: chunks some local file has are copied, not fetched", "[writer]",
                   BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    const std::string original = noise(1'000'000, 11);
    put(t.fs, "original.bin", original);
    w.scan();  // the index now knows where each chunk of original.bin is

    // A copy: everything is local.
    const FileRecord copy = file_record("copy.bin", original);
    auto whole = w.begin(copy);
    CHECK(whole->missing().empty());
    REQUIRE(w.commit(*whole));
    CHECK(read_all(t.fs, "copy.bin") == original);

    // 1 KiB inserted in the middle: only the chunks around it are missing.
    const std::string edited = original.substr(0, 500'000) + noise(1024, 12) + original.substr(500'000);
    const FileRecord target = file_record("original.bin", edited, 0644, kNow);
    auto assembly = w.begin(target);
    const auto missing = assembly->missing();
    CHECK(!missing.empty());
    CHECK(missing.size() <= 2);
    const std::size_t fetched = fetch_all(*assembly, target, edited);
    CHECK(fetched < 2 * kChunkerParams.max_size);
    CHECK(fetched < edited.size() / 3);
    REQUIRE(w.commit(*assembly));
    CHECK(read_all(t.fs, "original.bin") == edited);
    // The replaced original is a version now.
    auto versions = w.versions.list("original.bin");
    REQUIRE(versions);
    REQUIRE(versions->size() == 1);
    CHECK(read_all(t.fs, versions->front().version_path) == original);

    // A local file that changed since the scan is not trusted: its chunks are
    // verified, and the changed ones must be fetched.
    put(t.fs, "other.bin", noise(400'000, 5));
    w.scan();
    const FileRecord other = w.local("other.bin");
    put(t.fs, "other.bin", noise(400'000, 6));  // same size, other bytes, not rescanned
    FileRecord again = other;
    again.path = "again.bin";
    auto stale = w.begin(again);
    CHECK(stale->missing().size() == other.chunks.size());
}

TEMPLATE_TEST_CASE("folder writer: an interrupted assembly resumes from the chunks already written",
                   "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    const std::string content = noise(1'200'000, 21);
    const FileRecord target = file_record("big.bin", content);
    const std::size_t n = target.chunks.size();
    REQUIRE(n >= 6);
    {
        auto first = w.begin(target);
        for (std::size_t i = 0; i < n; i += 2) REQUIRE(first->put_chunk(i, as_bytes(chunk_data(target, content, i))));
        // destroyed without commit: an interrupted transfer
    }
    CHECK(!exists(t.fs, "big.bin"));
    CHECK(temporaries(t.fs, "") == 1);
    {
        auto second = w.begin(target);
        std::vector<std::size_t> odd;
        for (std::size_t i = 1; i < n; i += 2) odd.push_back(i);
        CHECK(second->missing() == odd);
        // Chunk 1 arrives, then the transfer is cut again.
        REQUIRE(second->put_chunk(1, as_bytes(chunk_data(target, content, 1))));
    }
    // A different version of the file does not pick up this one's chunks.
    const std::string other_content = noise(1'200'000, 22);
    auto other = w.begin(file_record("big.bin", other_content));
    CHECK(other->missing().size() == file_record("big.bin", other_content).chunks.size());
    other.reset();

    auto third = w.begin(target);
    const auto missing = third->missing();
    CHECK(missing.size() == n / 2 - 1);
    CHECK(std::find(missing.begin(), missing.end(), 1) == missing.end());
    fetch_all(*third, target, content);
    REQUIRE(w.commit(*third));
    CHECK(read_all(t.fs, "big.bin") == content);
    CHECK(temporaries(t.fs, "") == 1);  // the other version's, left for cleanup
}

TEMPLATE_TEST_CASE("folder writer: a chunk repeated in a file is fetched once", "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    const std::string block = noise(70'000, 31);
    FileRecord target;
    target.path = "repeats";
    target.mode = 0644;
    const ChunkRef ref{hash_chunk(as_bytes(block)), static_cast<std::uint32_t>(block.size())};
    target.chunks = {ref, ref, ref};
    target.size = 3 * block.size();
    auto assembly = w.begin(target);
    CHECK(assembly->missing().size() == 3);
    REQUIRE(assembly->put_chunk(2, as_bytes(block)));
    CHECK(assembly->missing().empty());
    REQUIRE(w.commit(*assembly));
    CHECK(read_all(t.fs, "repeats") == block + block + block);
}

TEMPLATE_TEST_CASE("folder writer: the target keeps its old content until commit, which keeps it as a version",
                   "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    put(t.fs, "doc.txt", "the old text", 0600);
    const std::string content = noise(400'000, 41);
    const FileRecord target = file_record("doc.txt", content, 0644);
    auto assembly = w.begin(target);
    for (const std::size_t i : assembly->missing()) {
        REQUIRE(assembly->put_chunk(i, as_bytes(chunk_data(target, content, i))));
        CHECK(read_all(t.fs, "doc.txt") == "the old text");
    }
    REQUIRE(w.commit(*assembly));
    CHECK(read_all(t.fs, "doc.txt") == content);
    auto versions = w.versions.list("doc.txt");
    REQUIRE(versions);
    REQUIRE(versions->size() == 1);
    CHECK(versions->front().version_path == ".ferry/versions/doc~20261125-161747.txt");
    CHECK(read_all(t.fs, versions->front().version_path) == "the old text");

    // A directory with entries in the way is not replaced.
    REQUIRE(t.fs.make_dir("d", 0755));
    put(t.fs, "d/inside", "x");
    const FileRecord over_dir = file_record("d", "content");
    auto blocked = w.begin(over_dir);
    fetch_all(*blocked, over_dir, "content");
    auto r = w.commit(*blocked);
    REQUIRE(!r);
    CHECK(r.error().code == Errc::busy);
    CHECK(read_all(t.fs, "d/inside") == "x");
}

TEST_CASE("folder writer: a directory swapped for a symlink cannot redirect writes", "[writer]") {
    TempDir folder;
    TempDir outside;
    PosixFilesystem fs(folder.path());
    Writer w(fs);
    REQUIRE(fs.make_dir("dir", 0755));
    put(fs, "dir/victim", "victim");
    put(fs, "here", "here");
    REQUIRE(fs.make_symlink("x", "link"));
    const std::string content = noise(300'000, 51);
    const FileRecord target = file_record("dir/new.bin", content);
    auto assembly = w.begin(target);
    REQUIRE(assembly->put_chunk(0, as_bytes(chunk_data(target, content, 0))));

    // Between check and use: dir becomes a symlink to a directory outside.
    std::filesystem::rename(folder / "dir", folder / "moved");
    std::filesystem::create_directory_symlink(outside.path(), folder / "dir");

    for (std::size_t i = 1; i < target.chunks.size(); ++i)
        (void)assembly->put_chunk(i, as_bytes(chunk_data(target, content, i)));  // into the open file
    auto committed = w.commit(*assembly);
    REQUIRE(!committed);
    CHECK_THAT(committed.error().message, Catch::Contains("symlink"));

    FileRecord moved = file_record("dir/here", "here");
    FileRecord directory;
    directory.path = "dir/sub";
    directory.kind = FileKind::directory;
    directory.mode = 0755;
    FileRecord link;
    link.path = "dir/link";
    link.kind = FileKind::symlink;
    link.symlink_target = "/etc/passwd";
    CHECK(!w.writer.begin_file(file_record("dir/other", "other")));
    CHECK(!w.writer.rename("here", moved));
    CHECK(!w.writer.rename("dir/victim", file_record("stolen", "victim")));
    CHECK(!w.writer.make_directory(directory));
    CHECK(!w.writer.make_symlink(link));
    CHECK(!w.writer.remove("dir/victim"));
    CHECK(!w.writer.keep_conflict_copy("here", "dir/here.sync-conflict"));
    CHECK(!w.writer.set_metadata(file_record("dir/victim", "victim")));
    CHECK(!w.writer.check_unchanged("dir/victim", file_record("dir/victim", "victim")));
    // A symlink at the path itself is replaced as an entry, never followed.
    FileRecord over_link = file_record("link", "plain file now");
    auto replace_link = w.begin(over_link);
    fetch_all(*replace_link, over_link, "plain file now");
    REQUIRE(w.commit(*replace_link));
    CHECK(fs.lstat("link")->kind == EntryKind::file);

    CHECK(std::filesystem::is_empty(outside.path()));
    CHECK(read_all(fs, "here") == "here");
    CHECK(read_all(fs, "moved/victim") == "victim");
    CHECK(!exists(fs, "stolen"));
}

TEMPLATE_TEST_CASE("folder writer: check_unchanged sees edits made since the scan", "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    put(t.fs, "f", "scanned");
    REQUIRE(t.fs.make_dir("d", 0755));
    REQUIRE(t.fs.make_symlink("target", "l"));
    w.scan();
    const FileRecord f = w.local("f");
    CHECK(w.writer.check_unchanged("f", f).value());
    CHECK(w.writer.check_unchanged("d", w.local("d")).value());
    CHECK(w.writer.check_unchanged("l", w.local("l")).value());
    CHECK(w.writer.check_unchanged("nothing", std::nullopt).value());
    CHECK(!w.writer.check_unchanged("f", std::nullopt).value());  // something appeared
    FileRecord tombstone = f;
    tombstone.deleted = true;
    CHECK(!w.writer.check_unchanged("f", tombstone).value());
    CHECK(!w.writer.check_unchanged("gone", f).value());  // it vanished
    CHECK(!w.writer.check_unchanged("d", f).value());     // another kind

    put(t.fs, "f", "edited!");  // same size, new mtime
    CHECK(!w.writer.check_unchanged("f", f).value());
    REQUIRE(t.fs.set_mode("f", 0600));
    REQUIRE(t.fs.set_mtime("f", f.mtime_ns));
    CHECK(!w.writer.check_unchanged("f", f).value());  // the mode changed
    REQUIRE(t.fs.set_mode("d", 0700));
    CHECK(!w.writer.check_unchanged("d", w.local("d")).value());
    REQUIRE(t.fs.remove("l"));
    REQUIRE(t.fs.make_symlink("elsewhere", "l"));
    CHECK(!w.writer.check_unchanged("l", w.local("l")).value());
}

TEMPLATE_TEST_CASE("folder writer: a file replaced by one with the same size and mtime is a change",
                   "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    put(t.fs, "f", "aaaa");
    w.scan();
    const FileRecord f = w.local("f");
    put(t.fs, "g", "bbbb");
    REQUIRE(t.fs.set_mtime("g", f.mtime_ns));
    REQUIRE(t.fs.rename("g", "f"));  // an editor's save: a new inode
    CHECK(t.fs.lstat("f")->mtime_ns == f.mtime_ns);
    CHECK(!w.writer.check_unchanged("f", f).value());
}

TEST_CASE("folder writer: a full disk mid-file leaves the target untouched", "[writer]") {
    MemoryFilesystem inner;
    FaultInjectingFilesystem fs(inner);
    Writer w(fs);
    put(inner, "f", "precious old content");
    const std::string content = noise(600'000, 61);
    const FileRecord target = file_record("f", content);
    int writes = 0;
    fs.set_hook([&](FsOp op, std::string_view path) -> Result<void> {
        if (op == FsOp::write && is_internal_path(path) && ++writes == 2)
            return fail(Errc::no_space, std::string(path) + ": No space left on device");
        return {};
    });
    auto assembly = w.begin(target);
    Result<void> failed;
    for (const std::size_t i : assembly->missing()) {
        failed = assembly->put_chunk(i, as_bytes(chunk_data(target, content, i)));
        if (!failed) break;
    }
    REQUIRE(!failed);
    CHECK(failed.error().code == Errc::no_space);
    CHECK_THAT(failed.error().message, Catch::Contains("docs") && Catch::Contains("'f'"));
    CHECK(assembly->missing().size() == target.chunks.size() - 1);
    CHECK(inner.contents("f").value() == "precious old content");

    // A failing sync of the finished file: still nothing replaced, nothing versioned.
    fs.set_hook([&](FsOp op, std::string_view) -> Result<void> {
        if (op == FsOp::sync_paths) return fail(Errc::io, "syncfs failed");
        return {};
    });
    fetch_all(*assembly, target, content);
    CHECK(w.commit(*assembly).error().code == Errc::io);
    CHECK(inner.contents("f").value() == "precious old content");
    CHECK(!exists(inner, ".ferry"));

    // Space again: the next attempt resumes and succeeds.
    fs.clear();
    auto retry = w.begin(target);
    CHECK(retry->missing().empty());
    REQUIRE(w.commit(*retry));
    CHECK(inner.contents("f").value() == content);
}

TEMPLATE_TEST_CASE("folder writer: directories, symlinks, metadata", "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    FileRecord dir;
    dir.path = "d";
    dir.kind = FileKind::directory;
    dir.mode = 0750;
    auto made = w.writer.make_directory(dir);
    REQUIRE(made);
    CHECK(made->kind == EntryKind::directory);
    CHECK(made->mode == 0750);
    dir.mode = 0700;
    CHECK(w.writer.make_directory(dir)->mode == 0700);  // there already: mode follows

    FileRecord link;
    link.path = "d/l";
    link.kind = FileKind::symlink;
    link.symlink_target = "../somewhere";
    REQUIRE(w.writer.make_symlink(link));
    CHECK(t.fs.read_link("d/l").value() == "../somewhere");
    link.symlink_target = "elsewhere";
    REQUIRE(w.writer.make_symlink(link));  // replaces the old link, kept as a version
    CHECK(t.fs.read_link("d/l").value() == "elsewhere");
    CHECK(w.versions.list("d/l").value().size() == 1);
    put(t.fs, "d/file", "a file in the way");
    link.path = "d/file";
    REQUIRE(w.writer.make_symlink(link));
    CHECK(t.fs.lstat("d/file")->kind == EntryKind::symlink);
    CHECK(read_all(t.fs, w.versions.list("d/file").value().front().version_path) == "a file in the way");
    CHECK(temporaries(t.fs, "d") == 0);
    link.symlink_target.clear();
    CHECK(w.writer.make_symlink(link).error().code == Errc::invalid_argument);

    put(t.fs, "f", "data", 0644);
    FileRecord meta = file_record("f", "data", 0600, 1'234'567'890'123'456'789);
    auto st = w.writer.set_metadata(meta);
    REQUIRE(st);
    CHECK(st->mode == 0600);
    CHECK(st->mtime_ns == 1'234'567'890'123'456'789);
    // Never setuid or setgid, whatever a peer's record says.
    meta.mode = 06755;
    CHECK(w.writer.set_metadata(meta)->mode == 0755);
    FileRecord sticky = dir;
    sticky.path = "shared";
    sticky.mode = 03777;
    CHECK(w.writer.make_directory(sticky)->mode == 01777);
    const FileRecord setuid = file_record("setuid", "#!/bin/sh\n", 04755);
    auto assembly = w.begin(setuid);
    fetch_all(*assembly, setuid, "#!/bin/sh\n");
    CHECK(w.commit(*assembly)->mode == 0755);

    CHECK(w.writer.set_metadata(file_record("d", "")).error().code == Errc::changed);
    CHECK(w.writer.set_metadata(file_record("missing", "")).error().code == Errc::not_found);
}

TEMPLATE_TEST_CASE("folder writer: a symlink gets its record's mtime, made, renamed or updated",
                   "[writer]", BOTH_FOLDERS) {
    // Recorded with the time it was made here instead, one version would
    // have other mtimes on other devices, which then resolved a concurrent
    // edit differently and never converged (ferry-sim seed 1601).
    TestType t;
    Writer w(t.fs);
    FileRecord link;
    link.path = "l";
    link.kind = FileKind::symlink;
    link.symlink_target = "f0";
    link.mode = 0777;
    link.mtime_ns = 1'600'000'000'123'456'789;
    auto made = w.writer.make_symlink(link);
    REQUIRE(made);
    CHECK(made->mtime_ns == link.mtime_ns);
    CHECK(t.fs.lstat("l")->mtime_ns == link.mtime_ns);

    FileRecord moved = link;
    moved.path = "m";
    moved.mtime_ns = 1'650'000'000'000'000'001;
    auto renamed = w.writer.rename("l", moved);
    REQUIRE(renamed);
    CHECK(renamed->mtime_ns == moved.mtime_ns);

    moved.mtime_ns = 1'660'000'000'000'000'002;
    auto updated = w.writer.set_metadata(moved);
    REQUIRE(updated);
    CHECK(updated->mtime_ns == moved.mtime_ns);
    CHECK(t.fs.read_link("m").value() == "f0");
}

TEMPLATE_TEST_CASE("folder writer: a parent directory that is gone is made again", "[writer]",
                   BOTH_FOLDERS) {
    // An edit beat a concurrent delete of its directory: what the edit needs
    // beneath that directory is written all the same.
    TestType t;
    Writer w(t.fs);
    FileRecord dir;
    dir.path = "gone/sub";
    dir.kind = FileKind::directory;
    dir.mode = 0700;
    REQUIRE(w.writer.make_directory(dir));
    CHECK(t.fs.lstat("gone/sub")->mode == 0700);

    FileRecord link;
    link.path = "lost/l";
    link.kind = FileKind::symlink;
    link.symlink_target = "x";
    REQUIRE(w.writer.make_symlink(link));
    CHECK(t.fs.read_link("lost/l").value() == "x");

    const std::string content = noise(100'000, 3);
    const FileRecord target = file_record("away/deep/f.bin", content);
    auto assembly = w.begin(target);
    fetch_all(*assembly, target, content);
    REQUIRE(w.commit(*assembly));
    CHECK(read_all(t.fs, "away/deep/f.bin") == content);
}

TEMPLATE_TEST_CASE("folder writer: rename moves without copying and keeps what it replaces", "[writer]",
                   BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    const std::string content = noise(200'000, 71);
    put(t.fs, "a.bin", content, 0644);
    const auto inode = t.fs.lstat("a.bin")->inode;
    REQUIRE(t.fs.make_dir("sub", 0755));
    put(t.fs, "sub/b.bin", "in the way");

    const FileRecord target = file_record("sub/b.bin", content, 0600, 1'700'000'000'000'000'000);
    auto st = w.writer.rename("a.bin", target);
    REQUIRE(st);
    CHECK(st->inode == inode);
    CHECK(st->mode == 0600);
    CHECK(st->mtime_ns == 1'700'000'000'000'000'000);
    CHECK(!exists(t.fs, "a.bin"));
    CHECK(read_all(t.fs, "sub/b.bin") == content);
    CHECK(read_all(t.fs, w.versions.list("sub/b.bin").value().front().version_path) == "in the way");

    // A directory moves with everything in it.
    put(t.fs, "sub/c", "c");
    FileRecord moved_dir;
    moved_dir.path = "renamed";
    moved_dir.kind = FileKind::directory;
    moved_dir.mode = 0755;
    REQUIRE(w.writer.rename("sub", moved_dir));
    CHECK(read_all(t.fs, "renamed/c") == "c");

    // A source that no longer matches the record is left alone.
    put(t.fs, "x", "12345");
    CHECK(w.writer.rename("x", file_record("y", "123")).error().code == Errc::changed);
    CHECK(w.writer.rename("renamed", file_record("y", "123")).error().code == Errc::changed);
    CHECK(w.writer.rename("nope", file_record("y", "123")).error().code == Errc::not_found);
    CHECK(exists(t.fs, "x"));
}

TEMPLATE_TEST_CASE("folder writer: remove keeps files as versions and removes only empty directories",
                   "[writer]", BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    REQUIRE(t.fs.make_dir("d", 0755));
    put(t.fs, "d/f", "content");
    REQUIRE(t.fs.make_symlink("t", "d/l"));

    auto busy = w.writer.remove("d");
    REQUIRE(!busy);
    CHECK(busy.error().code == Errc::busy);
    CHECK_THAT(busy.error().message, Catch::Contains("'d'"));
    REQUIRE(w.writer.remove("d/f"));
    REQUIRE(w.writer.remove("d/l"));
    CHECK(read_all(t.fs, w.versions.list("d/f").value().front().version_path) == "content");
    CHECK(w.versions.list("d/l").value().size() == 1);
    // An abandoned transfer's temporary file does not keep a directory alive.
    const std::string content = noise(100'000, 81);
    const FileRecord target = file_record("d/partial", content);
    {
        auto assembly = w.begin(target);
        REQUIRE(assembly->put_chunk(0, as_bytes(chunk_data(target, content, 0))));
    }
    CHECK(temporaries(t.fs, "d") == 1);
    REQUIRE(w.writer.remove("d"));
    CHECK(!exists(t.fs, "d"));
    REQUIRE(w.writer.remove("d"));  // nothing there: done already
    CHECK(w.writer.remove(".ferry/versions").error().code == Errc::invalid_argument);
}

TEMPLATE_TEST_CASE("folder writer: keep_conflict_copy renames the local content aside", "[writer]",
                   BOTH_FOLDERS) {
    TestType t;
    Writer w(t.fs);
    put(t.fs, "report.txt", "mine");
    const auto inode = t.fs.lstat("report.txt")->inode;
    const std::string copy = "report.sync-conflict-20261125-161747-ABCDEFG.txt";
    auto st = w.writer.keep_conflict_copy("report.txt", copy);
    REQUIRE(st);
    CHECK(st->inode == inode);
    CHECK(!exists(t.fs, "report.txt"));
    CHECK(read_all(t.fs, copy) == "mine");

    // The same copy again (an older one is there): the older is kept as a version.
    put(t.fs, "report.txt", "mine again");
    REQUIRE(w.writer.keep_conflict_copy("report.txt", copy));
    CHECK(read_all(t.fs, copy) == "mine again");
    CHECK(w.versions.list(copy).value().size() == 1);
    REQUIRE(t.fs.make_dir("d", 0755));
    CHECK(w.writer.keep_conflict_copy("d", "d.sync-conflict").error().code == Errc::unsupported);
    CHECK(w.writer.keep_conflict_copy("gone", copy).error().code == Errc::not_found);
}
