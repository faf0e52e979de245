#include "core/planner.hh"

#include <algorithm>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "planner_fixtures.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

PathStep plan(std::optional<FileRecord> local, std::vector<RemoteVersion> remotes,
              FolderMode mode = FolderMode::send_receive, ShortId device = kA) {
    const std::string path = local ? local->path : remotes.empty() ? "f" : remotes[0].record.path;
    return plan_path(path, PathInput{std::move(local), std::move(remotes)},
                     PlanContext{device, mode});
}

// The record the device ends with after the step.
FileRecord after(const PathStep& step) {
    return step.target;
}

}  // namespace

TEST_CASE("planner: nothing to do", "[planner]") {
    CHECK(plan(std::nullopt, {}).kind == StepKind::none);

    // A tombstone for a path never indexed here: nothing to delete.
    CHECK(plan(std::nullopt, {{kB, tombstone("f", vv({{kB, 2}}), kB, 5)}}).kind == StepKind::none);

    // The remote version equals the local one (the sequence is each device's own).
    FileRecord mine = file("f", vv({{kA, 1}}), kA, 10, 1);
    mine.sequence = Sequence{42};
    FileRecord theirs = mine;
    theirs.sequence = Sequence{7};
    const PathStep same = plan(mine, {{kB, theirs}});
    CHECK(same.kind == StepKind::none);
    CHECK(same.target == mine);
    CHECK_FALSE(same.conflict);

    // The local version is newer than every remote one.
    const FileRecord newer = file("f", vv({{kA, 2}, {kB, 1}}), kA, 5, 2);
    const PathStep ahead = plan(newer, {{kB, file("f", vv({{kA, 1}, {kB, 1}}), kB, 9, 1)},
                                        {kC, file("f", vv({{kA, 1}}), kA, 1, 3)}});
    CHECK(ahead.kind == StepKind::none);
    CHECK(ahead.target == newer);
}

TEST_CASE("planner: new remote files, directories and symlinks", "[planner]") {
    const FileRecord remote = file("docs/a.txt", vv({{kB, 1}}), kB, 10, 1);
    const PathStep step = plan(std::nullopt, {{kB, remote}, {kC, remote}});
    CHECK(step.kind == StepKind::write_file);
    CHECK(step.path == "docs/a.txt");
    CHECK(same_but_sequence(step.target, remote));
    CHECK(step.target.sequence == Sequence{});
    CHECK(step.sources == std::vector<ShortId>{kB, kC});
    CHECK_FALSE(step.conflict_copy);
    CHECK_FALSE(step.conflict);

    CHECK(plan(std::nullopt, {{kB, directory("d", vv({{kB, 1}}), kB, 1)}}).kind ==
          StepKind::make_directory);
    const PathStep link = plan(std::nullopt, {{kB, symlink("l", vv({{kB, 1}}), kB, 1, "../x")}});
    CHECK(link.kind == StepKind::make_symlink);
    CHECK(link.target.symlink_target == "../x");
    CHECK(link.sources.empty());
}

TEST_CASE("planner: a remote edit made over the local version", "[planner]") {
    const FileRecord local = file("f", vv({{kA, 1}}), kA, 10, 1);
    const FileRecord edit =
        file("f", vv({{kA, 1}, {kB, 1}}), kB, 5, 2);  // older mtime: causality wins
    const PathStep step = plan(local, {{kB, edit}});
    CHECK(step.kind == StepKind::write_file);
    CHECK_FALSE(step.conflict);
    CHECK_FALSE(step.conflict_copy);
    CHECK(same_but_sequence(step.target, edit));
    CHECK(step.sources == std::vector<ShortId>{kB});
}

TEST_CASE("planner: only peers with the target's content are sources", "[planner]") {
    const FileRecord target = file("f", vv({{kB, 2}}), kB, 10, 2);
    const PathStep step =
        plan(file("f", vv({{kB, 1}}), kB, 5, 1),
             {{kC, target}, {kB, target}, {ShortId{5}, file("f", vv({{kB, 1}}), kB, 5, 1)}});
    CHECK(step.kind == StepKind::write_file);
    CHECK(step.sources == std::vector<ShortId>{kB, kC});
}

TEST_CASE("planner: deletes", "[planner]") {
    const FileRecord local = file("f", vv({{kA, 1}}), kA, 10, 1);
    const FileRecord deleted = tombstone("f", vv({{kA, 1}, {kB, 1}}), kB, 11);
    const PathStep removal = plan(local, {{kB, deleted}});
    CHECK(removal.kind == StepKind::remove);
    CHECK(removal.target.deleted);
    CHECK(removal.target.version == deleted.version);
    CHECK_FALSE(removal.conflict_copy);

    // A local tombstone takes a newer or concurrent remote tombstone's record.
    const FileRecord gone_here = tombstone("f", vv({{kA, 2}}), kA, 12);
    const PathStep newer = plan(tombstone("f", vv({{kA, 1}}), kA, 3), {{kB, deleted}});
    CHECK(newer.kind == StepKind::adopt);
    const PathStep concurrent = plan(tombstone("f", vv({{kA, 2}}), kA, 9), {{kB, deleted}});
    CHECK(concurrent.kind == StepKind::adopt);
    CHECK(concurrent.conflict);
    CHECK(concurrent.target.deleted);
    CHECK(concurrent.target.modified_by == kB);
    CHECK(concurrent.target.version == vv({{kA, 2}, {kB, 1}}));
    CHECK_FALSE(concurrent.conflict_copy);
    // The local tombstone wins (later mtime): nothing here; the peer adopts.
    const PathStep wins = plan(gone_here, {{kB, deleted}});
    CHECK(wins.kind == StepKind::none);
    CHECK(wins.conflict);

    // A local tombstone that is newer: nothing.
    CHECK(plan(gone_here, {{kB, local}}).kind == StepKind::none);
}

TEST_CASE("planner: a delete concurrent with an edit keeps the edit", "[planner]") {
    const VersionVector base = vv({{kC, 1}});
    VersionVector edited = base;
    edited.increment(kA);
    VersionVector deleted = base;
    deleted.increment(kB);
    const FileRecord edit = file("f", edited, kA, 10, 2);
    const FileRecord tomb = tombstone("f", deleted, kB, 99);  // even with a later mtime

    const PathStep keeps = plan(edit, {{kB, tomb}});
    CHECK(keeps.kind == StepKind::none);
    CHECK(keeps.conflict);

    const PathStep restores =
        plan(tombstone("f", deleted, kB, 99), {{kA, edit}}, FolderMode::send_receive, kB);
    CHECK(restores.kind == StepKind::write_file);
    CHECK_FALSE(restores.conflict_copy);
    CHECK(restores.target.version == edited.merged(deleted));
    CHECK(restores.target.chunks == edit.chunks);
    CHECK(restores.target.modified_by == kA);
}

TEST_CASE("planner: concurrent edits: later mtime wins, the local loser is kept", "[planner]") {
    const FileRecord local = file("dir/r.txt", vv({{kC, 1}, {kA, 1}}), kA, 100, 1);
    const FileRecord remote = file("dir/r.txt", vv({{kC, 1}, {kB, 1}}), kB, 200, 2);

    const PathStep loses = plan(local, {{kB, remote}});
    CHECK(loses.kind == StepKind::write_file);
    CHECK(loses.conflict);
    REQUIRE(loses.conflict_copy);
    CHECK(*loses.conflict_copy == conflict_copy_path("dir/r.txt", local.mtime_ns, kA));
    CHECK(loses.target.chunks == remote.chunks);
    CHECK(loses.target.mtime_ns == remote.mtime_ns);
    CHECK(loses.target.modified_by == kB);
    CHECK(loses.target.version == vv({{kC, 1}, {kA, 1}, {kB, 1}}));
    CHECK(loses.sources == std::vector<ShortId>{kB});

    // The same two versions seen from the winner's side: nothing to do.
    const PathStep wins = plan(remote, {{kA, local}}, FolderMode::send_receive, kB);
    CHECK(wins.kind == StepKind::none);
    CHECK(wins.conflict);
    CHECK(wins.target == remote);

    // Then the winner takes the loser's merged record: only the record changes.
    const PathStep merged = plan(remote, {{kA, after(loses)}}, FolderMode::send_receive, kB);
    CHECK(merged.kind == StepKind::adopt);
    CHECK_FALSE(merged.conflict);
    CHECK(same_but_sequence(merged.target, after(loses)));
}

TEST_CASE("planner: equal mtimes: the higher device id wins", "[planner]") {
    const FileRecord by_a = file("f", vv({{kA, 1}}), kA, 50, 1);
    const FileRecord by_b = file("f", vv({{kB, 1}}), kB, 50, 2);
    const PathStep at_a = plan(by_a, {{kB, by_b}});
    CHECK(at_a.kind == StepKind::write_file);
    CHECK(at_a.conflict_copy);
    CHECK(plan(by_b, {{kA, by_a}}, FolderMode::send_receive, kB).kind == StepKind::none);
}

TEST_CASE("planner: concurrent identical content merges without a copy", "[planner]") {
    const FileRecord by_a = file("f", vv({{kA, 1}}), kA, 50, 7);
    const FileRecord by_b = file("f", vv({{kB, 1}}), kB, 50, 7);
    const PathStep step = plan(by_a, {{kB, by_b}});
    CHECK(step.kind == StepKind::adopt);
    CHECK(step.conflict);
    CHECK_FALSE(step.conflict_copy);
    CHECK(step.target.version == vv({{kA, 1}, {kB, 1}}));
    CHECK(step.target.modified_by == kB);

    // With other permission bits the file's mode changes, not its content.
    const FileRecord exec_b = file("f", vv({{kB, 1}}), kB, 50, 7, 0755);
    const PathStep chmod = plan(by_a, {{kB, exec_b}});
    CHECK(chmod.kind == StepKind::set_metadata);
    CHECK(chmod.target.mode == 0755);
    CHECK_FALSE(chmod.conflict_copy);

    // Directories created on both sides.
    const PathStep dirs =
        plan(directory("d", vv({{kA, 1}}), kA, 1), {{kB, directory("d", vv({{kB, 1}}), kB, 2)}});
    CHECK(dirs.kind == StepKind::adopt);
    CHECK_FALSE(dirs.conflict_copy);
}

TEST_CASE("planner: metadata changes", "[planner]") {
    const FileRecord local = file("f", vv({{kA, 1}}), kA, 10, 1, 0644);
    const PathStep chmod = plan(local, {{kB, file("f", vv({{kA, 1}, {kB, 1}}), kB, 10, 1, 0600)}});
    CHECK(chmod.kind == StepKind::set_metadata);
    CHECK(chmod.target.mode == 0600);

    const PathStep touch = plan(local, {{kB, file("f", vv({{kA, 1}, {kB, 1}}), kB, 11, 1, 0644)}});
    CHECK(touch.kind == StepKind::set_metadata);
    CHECK(touch.target.mtime_ns == seconds(11));

    // A directory's mtime follows its entries: only its mode is set.
    const FileRecord dir = directory("d", vv({{kA, 1}}), kA, 10, 0755);
    CHECK(plan(dir, {{kB, directory("d", vv({{kA, 1}, {kB, 1}}), kB, 20, 0755)}}).kind ==
          StepKind::adopt);
    CHECK(plan(dir, {{kB, directory("d", vv({{kA, 1}, {kB, 1}}), kB, 20, 0700)}}).kind ==
          StepKind::set_metadata);
    // A symlink's mode means nothing on Linux.
    const FileRecord link = symlink("l", vv({{kA, 1}}), kA, 10, "t");
    FileRecord relinked = symlink("l", vv({{kA, 1}, {kB, 1}}), kB, 10, "t");
    relinked.mode = 0755;
    CHECK(plan(link, {{kB, relinked}}).kind == StepKind::adopt);
}

TEST_CASE("planner: kind changes", "[planner]") {
    const FileRecord f = file("p", vv({{kA, 1}}), kA, 10, 1);
    const FileRecord d = directory("p", vv({{kA, 1}, {kB, 1}}), kB, 11);
    CHECK(plan(f, {{kB, d}}).kind == StepKind::make_directory);
    CHECK(plan(directory("p", vv({{kA, 1}}), kA, 10),
               {{kB, file("p", vv({{kA, 1}, {kB, 1}}), kB, 11, 1)}})
              .kind == StepKind::write_file);
    CHECK(plan(f, {{kB, symlink("p", vv({{kA, 1}, {kB, 1}}), kB, 11, "x")}}).kind ==
          StepKind::make_symlink);
    CHECK(plan(symlink("p", vv({{kA, 1}}), kA, 10, "x"),
               {{kB, symlink("p", vv({{kA, 1}, {kB, 1}}), kB, 11, "y")}})
              .kind == StepKind::make_symlink);

    // A losing local directory or symlink is not a file: no conflict copy.
    const PathStep dir_loses =
        plan(directory("p", vv({{kA, 1}}), kA, 10), {{kB, file("p", vv({{kB, 1}}), kB, 11, 1)}});
    CHECK(dir_loses.kind == StepKind::write_file);
    CHECK(dir_loses.conflict);
    CHECK_FALSE(dir_loses.conflict_copy);
    const PathStep link_loses =
        plan(symlink("p", vv({{kA, 1}}), kA, 10, "x"), {{kB, file("p", vv({{kB, 1}}), kB, 11, 1)}});
    CHECK(link_loses.kind == StepKind::write_file);
    CHECK_FALSE(link_loses.conflict_copy);

    // A local file losing to a directory is kept.
    const PathStep file_loses = plan(f, {{kB, directory("p", vv({{kB, 1}}), kB, 11)}});
    CHECK(file_loses.kind == StepKind::make_directory);
    CHECK(file_loses.conflict_copy);
}

TEST_CASE("planner: a merged version does not bring back content edited since", "[planner]") {
    // c merged A's first edit (which won) with B's first; then A and B each
    // edited again without seeing c. c is concurrent with both edits but its
    // content is A's first, which A itself replaced: it must not win, even
    // with the latest mtime.
    const FileRecord c = file("f", vv({{kA, 1}, {kB, 1}}), kA, 900, 1);
    const FileRecord a2 = file("f", vv({{kA, 2}}), kA, 100, 2);
    const FileRecord b2 = file("f", vv({{kB, 2}}), kB, 200, 3);
    const PathStep step =
        plan(std::nullopt, {{kC, c}, {kA, a2}, {kB, b2}}, FolderMode::send_receive, kC);
    CHECK(step.kind == StepKind::write_file);
    CHECK(step.target.chunks == b2.chunks);
    CHECK(step.conflict);

    // The holder of c has nothing to keep: its content was edited over.
    const PathStep holder = plan(c, {{kA, a2}, {kB, b2}}, FolderMode::send_receive, kC);
    CHECK(holder.target.chunks == b2.chunks);
    CHECK_FALSE(holder.conflict_copy);
}

TEST_CASE("planner: the loser merges only its own vector, so a third loser keeps its copy",
          "[planner]") {
    const FileRecord x = file("f", vv({{kA, 1}}), kA, 100, 1);
    const FileRecord z = file("f", vv({{kB, 1}}), kB, 300, 2);  // the winner
    const FileRecord w = file("f", vv({{kC, 1}}), kC, 200, 3);

    const PathStep at_a = plan(x, {{kB, z}, {kC, w}});
    CHECK(at_a.conflict_copy);
    CHECK(at_a.target.version == vv({{kA, 1}, {kB, 1}}));

    // C sees A's merged record (and nothing else): still concurrent with w,
    // so C keeps w before taking z.
    const PathStep at_c = plan(w, {{kA, after(at_a)}}, FolderMode::send_receive, kC);
    CHECK(at_c.kind == StepKind::write_file);
    REQUIRE(at_c.conflict_copy);
    CHECK(*at_c.conflict_copy == conflict_copy_path("f", w.mtime_ns, kC));
    CHECK(at_c.target.chunks == z.chunks);
}

TEST_CASE("planner: the holder keeps its content even under a peer's further merged record",
          "[planner]") {
    // A's x won against C's old version at B, which merged it ({A1,B1}, x's
    // dot). Now z from D (concurrent, later) beats x. A's own record of x is
    // dominated by B's merged one, yet A holds x and must keep it.
    constexpr ShortId kD{0xD000000000000004};
    const FileRecord x = file("f", vv({{kA, 1}}), kA, 100, 1);
    FileRecord x_merged = x;
    x_merged.version = vv({{kA, 1}, {kB, 1}});
    const FileRecord z = file("f", vv({{kD, 1}}), kD, 200, 2);
    const PathStep step = plan(x, {{kB, x_merged}, {kD, z}});
    CHECK(step.kind == StepKind::write_file);
    REQUIRE(step.conflict_copy);
    CHECK(*step.conflict_copy == conflict_copy_path("f", x.mtime_ns, kA));
    CHECK(step.target.version == vv({{kA, 1}, {kD, 1}}));
}

TEST_CASE("planner: a directory's mtime is each device's own", "[planner]") {
    // The same version of a directory, recorded where its entries gave it
    // other mtimes: nothing to do (an adopt would record the local mtime
    // again, and the peers would plan it again, for ever).
    const FileRecord here = directory("d", vv({{kB, 1}}), kB, 100);
    const FileRecord there = directory("d", vv({{kB, 1}}), kB, 250);
    CHECK(plan(here, {{kB, there}}).kind == StepKind::none);
    // A newer version is still adopted.
    FileRecord newer = there;
    newer.version = vv({{kB, 2}});
    CHECK(plan(here, {{kB, newer}}).kind == StepKind::adopt);
}

TEST_CASE("planner: equal vectors with different content settle on one", "[planner]") {
    // Made when two devices settle a conflict among different contenders
    // (each saw other merged versions) and reach one merged vector, or by a
    // device that lost its database: both sides must pick the same content,
    // and stop there.
    const FileRecord mine = file("f", vv({{kA, 1}, {kB, 1}}), kA, 100, 1);
    const FileRecord theirs = file("f", vv({{kA, 1}, {kB, 1}}), kB, 200, 2);
    const PathStep at_a = plan(mine, {{kB, theirs}});
    const PathStep at_b = plan(theirs, {{kA, mine}}, FolderMode::send_receive, kB);
    CHECK(at_a.kind == StepKind::write_file);
    CHECK(at_a.conflict_copy);  // kept, in case it was the only copy
    CHECK(at_b.kind == StepKind::none);
    CHECK(at_a.target.chunks == theirs.chunks);
    // Once settled, nothing more.
    CHECK(plan(after(at_a), {{kB, theirs}}).kind == StepKind::none);
}

TEST_CASE("planner: a record without its own device in the vector", "[planner]") {
    FileRecord odd = file("f", vv({{kB, 1}}), kC, 100, 1);  // modified_by not in the vector
    const FileRecord other = file("f", vv({{kA, 1}}), kA, 50, 2);
    const PathStep step = plan(other, {{kB, odd}});
    CHECK(step.kind == StepKind::write_file);
    CHECK(step.target.chunks == odd.chunks);
}

TEST_CASE("planner: receive-only leaves local changes alone", "[planner]") {
    constexpr auto ro = FolderMode::receive_only;
    const FileRecord base = file("f", vv({{kB, 1}}), kB, 10, 1);

    // A local edit no peer has: left alone and flagged, whatever peers say.
    const FileRecord edit = file("f", vv({{kB, 1}, {kA, 1}}), kA, 20, 2);
    const PathStep kept = plan(edit, {{kB, base}}, ro);
    CHECK(kept.kind == StepKind::none);
    CHECK(kept.local_change);
    CHECK(kept.target == edit);
    const PathStep kept_conflict = plan(edit, {{kB, file("f", vv({{kB, 2}}), kB, 99, 3)}}, ro);
    CHECK(kept_conflict.kind == StepKind::none);
    CHECK(kept_conflict.local_change);
    CHECK_FALSE(kept_conflict.conflict_copy);

    // A local delete likewise.
    const PathStep deleted = plan(tombstone("f", vv({{kB, 1}, {kA, 1}}), kA, 20), {{kB, base}}, ro);
    CHECK(deleted.kind == StepKind::none);
    CHECK(deleted.local_change);

    // A version made here that peers have (sent before the mode changed) is
    // not a local change; a newer remote version applies.
    CHECK_FALSE(plan(edit, {{kB, edit}}, ro).local_change);
    const PathStep newer = plan(edit, {{kB, file("f", vv({{kB, 2}, {kA, 1}}), kB, 30, 3)}}, ro);
    CHECK(newer.kind == StepKind::write_file);
    CHECK_FALSE(newer.local_change);

    // Remote changes over records made elsewhere apply as usual.
    const PathStep update = plan(base, {{kB, file("f", vv({{kB, 2}}), kB, 30, 3)}}, ro);
    CHECK(update.kind == StepKind::write_file);
    CHECK_FALSE(update.local_change);
}

TEST_CASE("planner: send-only applies nothing and says where peers differ", "[planner]") {
    constexpr auto so = FolderMode::send_only;
    const FileRecord local = file("f", vv({{kA, 1}}), kA, 10, 1);

    const PathStep remote_newer =
        plan(local, {{kB, file("f", vv({{kA, 1}, {kB, 1}}), kB, 11, 2)}}, so);
    CHECK(remote_newer.kind == StepKind::none);
    CHECK(remote_newer.needs_override);
    CHECK(remote_newer.target == local);
    CHECK_FALSE(remote_newer.conflict_copy);
    CHECK(remote_newer.sources.empty());

    CHECK(plan(local, {{kB, tombstone("f", vv({{kA, 1}, {kB, 1}}), kB, 11)}}, so).needs_override);
    CHECK(plan(std::nullopt, {{kB, file("f", vv({{kB, 1}}), kB, 11, 2)}}, so).needs_override);

    // Where this device is ahead, or peers only delete what it never had: nothing.
    CHECK_FALSE(plan(local, {{kB, file("f", vv({}), kB, 1, 0)}}, so).needs_override);
    CHECK_FALSE(plan(local, {{kB, local}}, so).needs_override);
    CHECK_FALSE(
        plan(std::nullopt, {{kB, tombstone("f", vv({{kB, 1}}), kB, 11)}}, so).needs_override);
    // Concurrent, local wins: peers come to us.
    CHECK_FALSE(plan(local, {{kB, file("f", vv({{kB, 1}}), kB, 5, 2)}}, so).needs_override);
}

TEST_CASE("planner: override_record makes peers take the local version", "[planner]") {
    const FileRecord local = file("f", vv({{kA, 1}}), kA, 10, 1);
    const std::vector<RemoteVersion> remotes{{kB, file("f", vv({{kA, 1}, {kB, 3}}), kB, 50, 2)},
                                             {kC, file("f", vv({{kC, 2}}), kC, 60, 3)}};
    const FileRecord forced = override_record(local, remotes, kA);
    CHECK(forced.version == vv({{kA, 2}, {kB, 3}, {kC, 2}}));
    CHECK(forced.modified_by == kA);
    CHECK(forced.chunks == local.chunks);
    CHECK(forced.mtime_ns == local.mtime_ns);
    for (const RemoteVersion& r : remotes) {
        const PathStep step = plan(r.record, {{kA, forced}}, FolderMode::send_receive, r.device);
        CHECK(step.kind == StepKind::write_file);
        CHECK_FALSE(step.conflict);
        CHECK_FALSE(step.conflict_copy);
        CHECK(step.target.chunks == local.chunks);
    }
}

TEST_CASE("planner: step kind names", "[planner]") {
    CHECK(std::string(step_kind_name(StepKind::none)) == "none");
    CHECK(std::string(step_kind_name(StepKind::adopt)) == "adopt");
    CHECK(std::string(step_kind_name(StepKind::set_metadata)) == "set_metadata");
    CHECK(std::string(step_kind_name(StepKind::make_directory)) == "make_directory");
    CHECK(std::string(step_kind_name(StepKind::make_symlink)) == "make_symlink");
    CHECK(std::string(step_kind_name(StepKind::write_file)) == "write_file");
    CHECK(std::string(step_kind_name(StepKind::rename)) == "rename");
    CHECK(std::string(step_kind_name(StepKind::remove)) == "remove");
}

// ---- batches ----

TEST_CASE("planner: a conflict copy that loses a conflict is not copied again", "[planner]") {
    // Two losing versions kept under one name (saved within one second on
    // one device), the earlier brought back here by a power cut that undid
    // its deletion (simulation seed 368575): truly concurrent, but a copy
    // of the copy would only be a worse name for the same content. The
    // step replaces it; the folder writer keeps it as a version.
    const std::string path = conflict_copy_path("dir/r.txt", seconds(10), kC);
    const FileRecord local = file(path, vv({{kC, 1}, {kA, 5}}), kA, 100, 1);
    const FileRecord remote = file(path, vv({{kC, 2}, {kB, 1}, {kA, 4}}), kC, 200, 2);
    const PathStep loses = plan(local, {{kC, remote}});
    CHECK(loses.kind == StepKind::write_file);
    CHECK(loses.conflict);
    CHECK_FALSE(loses.conflict_copy);
    CHECK(loses.target.chunks == remote.chunks);
    CHECK(loses.target.version == vv({{kC, 2}, {kB, 1}, {kA, 5}}));

    // Seen from the winner's side: nothing to do.
    CHECK(plan(remote, {{kA, local}}, FolderMode::send_receive, kC).kind == StepKind::none);
}
