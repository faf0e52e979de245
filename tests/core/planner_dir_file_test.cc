// The planner's rule for a directory with live entries and a file (or
// symlink) at the same path: the directory is never replaced while an entry
// beneath it is live; the file is kept as a conflict copy by its holders.
// And the reverse: a file replaced by a directory while another device
// edits it keeps the edit.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "core/planner.hh"
#include "planner_fixtures.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Plans "a" on `device`, where PlanContext::live_beneath answers `entries`
// (and counts how often it was asked).
struct Planner {
    ShortId device = kA;
    bool entries = false;
    int asked = 0;

    PlanContext context() {
        PlanContext out{device, FolderMode::send_receive};
        out.live_beneath = [this](std::string_view dir) {
            CHECK(dir == "a");
            ++asked;
            return entries;
        };
        return out;
    }
    PathStep plan(std::optional<FileRecord> local, std::vector<RemoteVersion> remotes) {
        return plan_path("a", PathInput{std::move(local), std::move(remotes)}, context());
    }
};

}  // namespace

TEST_CASE("planner: a directory with live entries is not replaced by a newer file",
          "[planner][dir-file]") {
    // A made a/x, then replaced the directory by a file (rm -r a; a file a)
    // without seeing the entry B added meanwhile (a/y).
    const FileRecord dir = directory("a", vv({{kA, 1}}), kA, 10, 0700);
    const FileRecord replacing = file("a", vv({{kA, 2}}), kA, 20, 7);

    SECTION("on the device that holds the file: the directory comes back, the file is copied") {
        Planner on_a{kA, true};
        const PathStep step = on_a.plan(replacing, {{kB, dir}});
        CHECK(step.kind == StepKind::make_directory);
        CHECK(step.conflict);
        CHECK(step.conflict_copy == conflict_copy_path("a", replacing.mtime_ns, kA));
        CHECK(step.target.kind == FileKind::directory);
        CHECK(step.target.mode == 0700);              // the directory's own
        CHECK(step.target.version == vv({{kA, 2}}));  // newer than the file it replaces here
        CHECK(step.sources.empty());
    }
    SECTION("on the device that holds the directory: it stays as it is") {
        Planner on_b{kB, true};
        const PathStep step = on_b.plan(dir, {{kA, replacing}});
        CHECK(step.kind == StepKind::none);
        CHECK(step.target == dir);
        // The directory's vector does not cover the file's change here: a
        // later change on B cannot make the file look seen where no copy
        // was made.
        CHECK(step.target.version.compare(replacing.version) == Ordering::older);
        const auto global = global_version("a", PathInput{dir, {{kA, replacing}}}, on_b.context());
        REQUIRE(global);
        CHECK(global->kind == FileKind::directory);
    }
    SECTION("once the holder's directory is announced, every device takes it") {
        Planner on_a{kA, true};
        const FileRecord kept = on_a.plan(replacing, {{kB, dir}}).target;
        Planner on_b{kB, true};
        const PathStep step = on_b.plan(dir, {{kA, kept}});
        CHECK(step.kind == StepKind::adopt);
        CHECK(step.target.version == kept.version);
        // A third device that still holds the file keeps it too: same copy name.
        Planner on_c{kC, true};
        const PathStep third = on_c.plan(replacing, {{kA, kept}, {kB, dir}});
        CHECK(third.kind == StepKind::make_directory);
        CHECK(third.conflict_copy == conflict_copy_path("a", replacing.mtime_ns, kA));
    }
    SECTION("every entry deleted by versions that saw them: the file wins as before") {
        Planner on_b{kB, false};
        const PathStep step = on_b.plan(dir, {{kA, replacing}});
        CHECK(step.kind == StepKind::write_file);
        CHECK_FALSE(step.conflict_copy);
        CHECK_FALSE(step.conflict);
        CHECK(step.target.kind == FileKind::file);
        CHECK(on_b.asked == 1);
    }
}

TEST_CASE("planner: a concurrent file with a later mtime does not bury live entries",
          "[planner][dir-file]") {
    const FileRecord dir = directory("a", vv({{kB, 1}}), kB, 10);
    const FileRecord later = file("a", vv({{kA, 1}}), kA, 30, 5);
    Planner on_a{kA, true};
    const PathStep step = on_a.plan(later, {{kB, dir}});
    CHECK(step.kind == StepKind::make_directory);
    CHECK(step.conflict_copy == conflict_copy_path("a", later.mtime_ns, kA));
    CHECK(step.target.version == vv({{kA, 1}, {kB, 1}}));
    CHECK(step.target.modified_by == kB);

    // Without live entries the later file wins and the empty directory goes.
    Planner empty{kB, false};
    const PathStep replaced = empty.plan(dir, {{kA, later}});
    CHECK(replaced.kind == StepKind::write_file);
    CHECK_FALSE(replaced.conflict_copy);
}

TEST_CASE("planner: a symlink does not bury live entries either (and is not copied)",
          "[planner][dir-file]") {
    const FileRecord dir = directory("a", vv({{kB, 1}}), kB, 10);
    const FileRecord link = symlink("a", vv({{kA, 1}}), kA, 30, "elsewhere");
    Planner on_a{kA, true};
    const PathStep step = on_a.plan(link, {{kB, dir}});
    CHECK(step.kind == StepKind::make_directory);
    CHECK_FALSE(step.conflict_copy);  // as for any losing symlink
    Planner on_b{kB, true};
    CHECK(on_b.plan(dir, {{kA, link}}).kind == StepKind::none);
}

TEST_CASE("planner: entries are looked up only when a file would replace a live directory",
          "[planner][dir-file]") {
    Planner on_a{kA, true};
    // Two files; a directory replaced by its own device after seeing it; a tombstone.
    on_a.plan(file("a", vv({{kA, 1}}), kA, 10, 1), {{kB, file("a", vv({{kA, 2}}), kA, 20, 2)}});
    on_a.plan(tombstone("a", vv({{kA, 1}}), kA, 10), {{kB, file("a", vv({{kA, 2}}), kA, 20, 2)}});
    on_a.plan(file("a", vv({{kA, 1}}), kA, 10, 1), {{kB, directory("a", vv({{kA, 2}}), kA, 20)}});
    CHECK(on_a.asked == 0);
}

// The reverse: B edits file a while A replaces it by a directory with an
// entry (rm a; mkdir a; a/z). The edit is never lost.
TEST_CASE("planner: a file replaced by a directory while another device edits it",
          "[planner][dir-file]") {
    const FileRecord dir = directory("a", vv({{kA, 2}}), kA, 20);
    SECTION("the directory is later: the edit is kept as a conflict copy") {
        const FileRecord edit = file("a", vv({{kA, 1}, {kB, 1}}), kB, 15, 9);
        Planner on_b{kB, true};
        const PathStep step = on_b.plan(edit, {{kA, dir}});
        CHECK(step.kind == StepKind::make_directory);
        CHECK(step.conflict_copy == conflict_copy_path("a", edit.mtime_ns, kB));
    }
    SECTION("the edit is later: the directory stays for its entry, the edit is copied") {
        const FileRecord edit = file("a", vv({{kA, 1}, {kB, 1}}), kB, 25, 9);
        Planner on_b{kB, true};
        const PathStep step = on_b.plan(edit, {{kA, dir}});
        CHECK(step.kind == StepKind::make_directory);
        CHECK(step.conflict_copy == conflict_copy_path("a", edit.mtime_ns, kB));
        Planner on_a{kA, true};
        CHECK(on_a.plan(dir, {{kB, edit}}).kind == StepKind::none);
    }
    SECTION("the edit is later and the directory empty: the edit replaces it") {
        const FileRecord edit = file("a", vv({{kA, 1}, {kB, 1}}), kB, 25, 9);
        Planner on_a{kA, false};
        const PathStep step = on_a.plan(dir, {{kB, edit}});
        CHECK(step.kind == StepKind::write_file);
        CHECK(step.target.chunks == edit.chunks);
    }
}

TEST_CASE("planner: live_globally", "[planner][dir-file]") {
    CHECK_FALSE(live_globally(PathInput{}));
    CHECK(live_globally(PathInput{file("a/y", vv({{kB, 1}}), kB, 1, 1), {}}));
    // A delete that saw the entry.
    CHECK_FALSE(live_globally(PathInput{file("a/x", vv({{kA, 1}}), kA, 1, 1),
                                        {{kA, tombstone("a/x", vv({{kA, 2}}), kA, 2)}}}));
    // An edit the delete did not see beats it.
    CHECK(live_globally(PathInput{file("a/x", vv({{kA, 1}, {kB, 1}}), kB, 1, 2),
                                  {{kA, tombstone("a/x", vv({{kA, 2}}), kA, 2)}}}));
}
