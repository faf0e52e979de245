#include "core/conflict_copy.hh"

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "core/planner.hh"
#include "planner_fixtures.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

// Two saves by C within one second (an editor's autosave): one copy name
// stands for both.
FileRecord first_save() {
    FileRecord r = file("f", vv({{kC, 1}}), kC, 100, 1);
    r.mtime_ns += 100'000'000;
    return r;
}
FileRecord second_save() {
    FileRecord r = file("f", vv({{kC, 2}}), kC, 100, 2);
    r.mtime_ns += 600'000'000;
    return r;
}

const std::string kCopy = conflict_copy_path("f", seconds(100), kC);

}  // namespace

TEST_CASE("conflict copy: copies of two saves of one second are ordered, not in conflict",
          "[conflict_copy]") {
    // B held the first save and C the second when A's concurrent edit won:
    // each keeps its content under the one name (ferry-sim seeds 897, 918).
    REQUIRE(conflict_copy_path("f", first_save().mtime_ns, kC) == kCopy);
    REQUIRE(conflict_copy_path("f", second_save().mtime_ns, kC) == kCopy);
    const auto on_b = conflict_copy_record(first_save(), kCopy, std::nullopt, kB, false);
    const auto on_c = conflict_copy_record(second_save(), kCopy, std::nullopt, kC, false);
    REQUIRE(on_b);
    REQUIRE(on_c);
    CHECK(on_c->version.compare(on_b->version) == Ordering::newer);

    // Each device plans the copy's path: the later save's copy, and no
    // conflict copy of the conflict copy.
    const PathStep at_b = plan_path(kCopy, PathInput{*on_b, {RemoteVersion{kC, *on_c}}},
                                    PlanContext{kB, FolderMode::send_receive});
    CHECK_FALSE(at_b.conflict);
    CHECK_FALSE(at_b.conflict_copy);
    CHECK(at_b.kind == StepKind::write_file);
    CHECK(at_b.target.chunks == second_save().chunks);
    const PathStep at_c = plan_path(kCopy, PathInput{*on_c, {RemoteVersion{kB, *on_b}}},
                                    PlanContext{kC, FolderMode::send_receive});
    CHECK(at_c.kind == StepKind::none);
}

TEST_CASE("conflict copy: every device keeping one losing version makes the same record",
          "[conflict_copy]") {
    const auto on_a = conflict_copy_record(second_save(), kCopy, std::nullopt, kA, false);
    const auto on_b = conflict_copy_record(second_save(), kCopy, std::nullopt, kB, false);
    REQUIRE(on_a);
    REQUIRE(on_b);
    CHECK(*on_a == *on_b);
    CHECK(on_a->path == kCopy);
    CHECK(on_a->version == second_save().version);
    CHECK(on_a->modified_by == kC);
    CHECK(on_a->chunks == second_save().chunks);
}

TEST_CASE("conflict copy: none is made where the record there has seen the losing version",
          "[conflict_copy]") {
    // The later save's copy is there already.
    const auto later = conflict_copy_record(second_save(), kCopy, std::nullopt, kC, false);
    REQUIRE(later);
    CHECK_FALSE(conflict_copy_record(first_save(), kCopy, later, kB, false));
    // The same copy.
    CHECK_FALSE(conflict_copy_record(second_save(), kCopy, later, kB, false));
    // Deleted by a user who had it.
    const FileRecord deleted = tombstone(kCopy, vv({{kA, 1}, {kC, 2}}), kA, 120);
    CHECK_FALSE(conflict_copy_record(second_save(), kCopy, deleted, kB, false));
}

TEST_CASE("conflict copy: over an older record it takes the losing version's history",
          "[conflict_copy]") {
    const auto earlier = conflict_copy_record(first_save(), kCopy, std::nullopt, kB, false);
    REQUIRE(earlier);
    const auto copy = conflict_copy_record(second_save(), kCopy, earlier, kC, false);
    REQUIRE(copy);
    CHECK(copy->version == second_save().version);
    CHECK(copy->modified_by == kC);
}

TEST_CASE("conflict copy: a new local version over a concurrent record, or when asked",
          "[conflict_copy]") {
    // Something else at that name that has not seen the losing version.
    const FileRecord other = file(kCopy, vv({{kA, 3}}), kA, 90, 7);
    const auto copy = conflict_copy_record(second_save(), kCopy, other, kB, false);
    REQUIRE(copy);
    CHECK(copy->version.compare(other.version) == Ordering::newer);
    CHECK(copy->version.compare(second_save().version) == Ordering::newer);
    CHECK(copy->modified_by == kB);
    CHECK(copy->version.counter(kB) == 1);

    // Receive-only: the copy is this device's own change (never sent).
    const auto own = conflict_copy_record(second_save(), kCopy, std::nullopt, kB, true);
    REQUIRE(own);
    CHECK(own->modified_by == kB);
    CHECK(own->version == vv({{kB, 1}, {kC, 2}}));
}
