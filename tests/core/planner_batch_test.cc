// The planner on batches: rename pairing and the order of steps.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "core/conflict_name.hh"
#include "core/planner.hh"
#include "planner_fixtures.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

using Inputs = std::vector<std::pair<std::string, PathInput>>;

// Device B's view when A renamed or changed things: the local records are
// B's, the remote ones A's.
void add(Inputs& inputs, std::optional<FileRecord> local, std::optional<FileRecord> remote) {
    const std::string path = local ? local->path : remote->path;
    PathInput input;
    input.local = std::move(local);
    if (remote) input.remotes.push_back({kA, *remote});
    inputs.emplace_back(path, std::move(input));
}

std::vector<std::string> describe(const std::vector<PathStep>& steps) {
    std::vector<std::string> out;
    for (const PathStep& s : steps) {
        std::string line = std::string(step_kind_name(s.kind)) + " " + s.path;
        if (s.rename_from) line += " <- " + s.rename_from->path;
        out.push_back(line);
    }
    return out;
}

std::vector<PathStep> plan_batch(const Inputs& inputs, FolderMode mode = FolderMode::send_receive) {
    return plan_paths(inputs, PlanContext{kB, mode});
}

FileRecord moved(const FileRecord& r, std::string to) {
    FileRecord out = r;
    out.path = std::move(to);
    out.version = vv({{kA, 1}});
    out.modified_by = kA;
    return out;
}

FileRecord deleted_by_a(const FileRecord& r) {
    FileRecord out = r;
    out.deleted = true;
    out.chunks.clear();
    out.size = 0;
    out.version.increment(kA);
    out.modified_by = kA;
    return out;
}

}  // namespace

TEST_CASE("planner batch: a renamed file is renamed, not copied", "[planner]") {
    const FileRecord old_b = file("a.txt", vv({{kB, 1}}), kB, 10, 5, 0644);
    const FileRecord old_a = old_b;  // A had the same
    Inputs inputs;
    add(inputs, old_b, deleted_by_a(old_a));
    add(inputs, std::nullopt, moved(old_a, "b.txt"));
    const auto steps = plan_batch(inputs);
    REQUIRE(describe(steps) == std::vector<std::string>{"rename b.txt <- a.txt"});
    REQUIRE(steps[0].rename_from);
    CHECK(steps[0].rename_from->deleted);
    CHECK(steps[0].rename_from->version == vv({{kB, 1}, {kA, 1}}));
    CHECK(steps[0].target.path == "b.txt");
    CHECK(steps[0].sources == std::vector<ShortId>{kA});

    // The mode does not matter (the writer sets the target's); a case-only
    // rename is a rename too.
    Inputs chmod_and_case;
    FileRecord exec = moved(old_a, "A.TXT");
    exec.mode = 0755;
    add(chmod_and_case, old_b, deleted_by_a(old_a));
    add(chmod_and_case, std::nullopt, exec);
    CHECK(describe(plan_batch(chmod_and_case)) ==
          std::vector<std::string>{"rename A.TXT <- a.txt"});
}

TEST_CASE("planner batch: no rename without the same content", "[planner]") {
    const FileRecord old_b = file("a.txt", vv({{kB, 1}}), kB, 10, 5);
    Inputs other_content;
    add(other_content, old_b, deleted_by_a(old_b));
    add(other_content, std::nullopt, file("b.txt", vv({{kA, 1}}), kA, 10, 6));
    CHECK(describe(plan_batch(other_content)) ==
          std::vector<std::string>{"write_file b.txt", "remove a.txt"});

    // Same chunk hash, other size (a corrupt or hostile record): no.
    Inputs other_size;
    FileRecord bigger = moved(old_b, "b.txt");
    bigger.size += 1;
    add(other_size, old_b, deleted_by_a(old_b));
    add(other_size, std::nullopt, bigger);
    CHECK(describe(plan_batch(other_size)) ==
          std::vector<std::string>{"write_file b.txt", "remove a.txt"});

    // The removed path is a symlink here: nothing to rename.
    Inputs link;
    const FileRecord l = symlink("l", vv({{kB, 1}}), kB, 10, "t");
    add(link, l, deleted_by_a(l));
    add(link, std::nullopt, moved(old_b, "b.txt"));
    CHECK(describe(plan_batch(link)) == std::vector<std::string>{"write_file b.txt", "remove l"});
}

TEST_CASE("planner batch: several files with one content pair one to one", "[planner]") {
    Inputs inputs;
    for (const char* from : {"x1", "x2"}) {
        const FileRecord r = file(from, vv({{kB, 1}}), kB, 10, 9);
        add(inputs, r, deleted_by_a(r));
    }
    const FileRecord content = file("-", vv({{kB, 1}}), kB, 10, 9);
    for (const char* to : {"y1", "y2", "y3"}) add(inputs, std::nullopt, moved(content, to));
    CHECK(describe(plan_batch(inputs)) ==
          std::vector<std::string>{"rename y1 <- x1", "rename y2 <- x2", "write_file y3"});
}

TEST_CASE("planner batch: a directory rename never leaves data nowhere", "[planner]") {
    // B has d/, d/f, d/g/, d/g/h; A renamed d to e.
    Inputs inputs;
    const FileRecord d = directory("d", vv({{kB, 1}}), kB, 1);
    const FileRecord dg = directory("d/g", vv({{kB, 1}}), kB, 1);
    const FileRecord df = file("d/f", vv({{kB, 1}}), kB, 1, 1);
    const FileRecord dgh = file("d/g/h", vv({{kB, 1}}), kB, 1, 2);
    for (const FileRecord& r : {d, dg, df, dgh}) add(inputs, r, deleted_by_a(r));
    add(inputs, std::nullopt, moved(d, "e"));
    add(inputs, std::nullopt, moved(dg, "e/g"));
    add(inputs, std::nullopt, moved(df, "e/f"));
    add(inputs, std::nullopt, moved(dgh, "e/g/h"));
    CHECK(describe(plan_batch(inputs)) ==
          std::vector<std::string>{"make_directory e", "make_directory e/g", "rename e/f <- d/f",
                                   "rename e/g/h <- d/g/h", "remove d/g", "remove d"});
}

namespace {

// B's view when A renamed its d/ (d/f, d/g/, d/g/h, d/l -> f) to e/.
struct MovedTree {
    Inputs inputs;
    std::map<std::string, std::size_t> live;  // what B's index holds beneath each directory

    explicit MovedTree(std::string to = "e") {
        const FileRecord d = directory("d", vv({{kB, 1}}), kB, 1);
        const std::vector<FileRecord> beneath = {
            file("d/f", vv({{kB, 1}}), kB, 1, 1), directory("d/g", vv({{kB, 1}}), kB, 1),
            file("d/g/h", vv({{kB, 1}}), kB, 1, 2), symlink("d/l", vv({{kB, 1}}), kB, 1, "f")};
        add(inputs, d, deleted_by_a(d));
        add(inputs, std::nullopt, moved(d, to));
        for (const FileRecord& r : beneath) {
            add(inputs, r, deleted_by_a(r));
            add(inputs, std::nullopt, moved(r, to + r.path.substr(1)));
        }
        live = {{"d", 4}, {"d/g", 1}};
    }

    std::vector<PathStep> plan() const {
        PlanContext context{kB, FolderMode::send_receive};
        context.live_entries_beneath = [this](std::string_view dir) -> std::optional<std::size_t> {
            auto it = live.find(std::string(dir));
            return it == live.end() ? std::nullopt : std::optional<std::size_t>(it->second);
        };
        return plan_paths(inputs, context);
    }
};

}  // namespace

TEST_CASE("planner batch: a directory whose whole tree moved is renamed as one", "[planner]") {
    MovedTree tree;
    // A also made e/f executable: the move sets the target's mode.
    for (auto& [path, input] : tree.inputs)
        if (path == "e/f") input.remotes[0].record.mode = 0755;
    const auto steps = tree.plan();
    REQUIRE(describe(steps) == std::vector<std::string>{"rename e <- d"});
    CHECK(steps[0].rename_from->deleted);
    CHECK(steps[0].target.kind == FileKind::directory);
    std::vector<std::string> moved;
    for (const MovedEntry& entry : steps[0].moved) {
        moved.push_back(entry.removed.path + " -> " + entry.target.path);
        CHECK(entry.removed.deleted);
        CHECK(entry.removed.version == vv({{kB, 1}, {kA, 1}}));
        CHECK(entry.from_local.path == entry.removed.path);
        CHECK(!entry.from_local.deleted);
    }
    CHECK(moved ==
          std::vector<std::string>{"d/f -> e/f", "d/g -> e/g", "d/g/h -> e/g/h", "d/l -> e/l"});
    CHECK(steps[0].moved[0].target.mode == 0755);

    // A sibling that sorts between the directory and its entries ("d-x"
    // before "d/f") changes nothing.
    MovedTree with_sibling;
    const FileRecord sibling = file("d-x", vv({{kB, 1}}), kB, 1, 7);
    add(with_sibling.inputs, sibling, deleted_by_a(sibling));
    CHECK(describe(with_sibling.plan()) == std::vector<std::string>{"rename e <- d", "remove d-x"});

    // A case-only rename of a directory is one too.
    CHECK(describe(MovedTree("D").plan()) == std::vector<std::string>{"rename D <- d"});
}

TEST_CASE("planner batch: a directory is renamed as one only when all of it moves", "[planner]") {
    // Then d/g, all of whose tree moves, is the largest renamed as one.
    const std::vector<std::string> inner_only = {"make_directory e",  "rename e/f <- d/f",
                                                 "rename e/g <- d/g", "make_symlink e/l",
                                                 "remove d/l",        "remove d"};
    SECTION("the index holds more beneath it than the batch removes") {
        MovedTree tree;
        tree.live["d"] = 5;
        CHECK(describe(tree.plan()) == inner_only);
    }
    SECTION("one entry arrives with other content") {
        MovedTree tree;
        for (auto& [path, input] : tree.inputs)
            if (path == "e/l") input.remotes[0].record.symlink_target = "elsewhere";
        CHECK(describe(tree.plan()) == inner_only);
    }
    SECTION("what is beneath it is not known: one by one") {
        MovedTree tree;
        tree.live.clear();
        CHECK(describe(tree.plan()) ==
              std::vector<std::string>{"make_directory e", "make_directory e/g",
                                       "rename e/f <- d/f", "rename e/g/h <- d/g/h",
                                       "make_symlink e/l", "remove d/g", "remove d/l", "remove d"});
    }
    SECTION("one entry is not moved") {
        MovedTree tree;
        std::erase_if(tree.inputs, [](const auto& in) { return in.first == "e/g/h"; });
        const auto steps = describe(tree.plan());
        CHECK(std::find(steps.begin(), steps.end(), "remove d/g/h") != steps.end());
        CHECK(std::find(steps.begin(), steps.end(), "remove d") != steps.end());
    }
}

TEST_CASE("planner batch: a directory renamed and copied is renamed once", "[planner]") {
    MovedTree tree;
    // A also made a copy of it as c/ (before e/ in path order: it gets the rename).
    for (const auto& [path, input] : MovedTree("c").inputs)
        if (path == "c" || path.starts_with("c/")) tree.inputs.emplace_back(path, input);
    CHECK(describe(tree.plan()) ==
          std::vector<std::string>{"make_directory e", "make_directory e/g", "rename c <- d",
                                   "write_file e/f", "write_file e/g/h", "make_symlink e/l"});

    // Empty directories: a rename too.
    Inputs empty;
    const FileRecord x = directory("x", vv({{kB, 1}}), kB, 1);
    add(empty, x, deleted_by_a(x));
    add(empty, std::nullopt, moved(x, "y"));
    PlanContext context{kB, FolderMode::send_receive};
    context.live_entries_beneath = [](std::string_view) { return std::optional<std::size_t>(0); };
    CHECK(describe(plan_paths(empty, context)) == std::vector<std::string>{"rename y <- x"});
}

TEST_CASE("planner batch: order of mixed steps", "[planner]") {
    Inputs inputs;
    const FileRecord old_dir = directory("p", vv({{kB, 1}}), kB, 1);
    const FileRecord child = file("p/c", vv({{kB, 1}}), kB, 1, 3);
    add(inputs, old_dir,
        file("p", vv({{kB, 1}, {kA, 1}}), kA, 5, 4));  // a directory becomes a file
    add(inputs, child, deleted_by_a(child));
    add(inputs, std::nullopt, directory("n/m", vv({{kA, 1}}), kA, 1));
    add(inputs, std::nullopt, directory("n", vv({{kA, 1}}), kA, 1));
    add(inputs, std::nullopt, file("n/m/w", vv({{kA, 1}}), kA, 1, 5));
    add(inputs, std::nullopt, symlink("n/s", vv({{kA, 1}}), kA, 1, "w"));
    const FileRecord plain = file("q", vv({{kB, 1}}), kB, 1, 6);
    add(inputs, plain, file("q", vv({{kB, 1}, {kA, 1}}), kA, 1, 6, 0600));
    const FileRecord same = file("z", vv({{kB, 1}}), kB, 1, 8);
    add(inputs, same, same);  // nothing to do: left out
    const FileRecord old_file = file("r", vv({{kB, 1}}), kB, 1, 7);
    add(inputs, old_file,
        directory("r", vv({{kB, 1}, {kA, 1}}), kA, 2));  // a file becomes a directory
    CHECK(describe(plan_batch(inputs)) ==
          std::vector<std::string>{"make_directory n", "make_directory r", "make_directory n/m",
                                   "write_file n/m/w", "make_symlink n/s", "set_metadata q",
                                   "remove p/c", "write_file p"});
}

TEST_CASE("planner batch: no rename onto a local directory", "[planner]") {
    Inputs inputs;
    const FileRecord f = file("a", vv({{kB, 1}}), kB, 1, 3);
    const FileRecord dir = directory("b", vv({{kB, 1}}), kB, 1);
    add(inputs, f, deleted_by_a(f));
    FileRecord into = moved(f, "b");
    into.version = vv({{kB, 1}, {kA, 1}});
    add(inputs, dir, into);
    CHECK(describe(plan_batch(inputs)) == std::vector<std::string>{"remove a", "write_file b"});
}

TEST_CASE("planner batch: modes", "[planner]") {
    Inputs inputs;
    add(inputs, std::nullopt, file("new", vv({{kA, 1}}), kA, 1, 1));
    const FileRecord f = file("gone", vv({{kB, 1}}), kB, 1, 2);
    add(inputs, f, deleted_by_a(f));
    CHECK(plan_batch(inputs, FolderMode::send_only).empty());
    CHECK(describe(plan_batch(inputs, FolderMode::receive_only)) ==
          std::vector<std::string>{"write_file new", "remove gone"});

    // Receive-only: the local change is left out of the steps.
    Inputs local_change;
    const FileRecord edit = file("e", vv({{kA, 1}, {kB, 1}}), kB, 5, 3);
    add(local_change, edit, file("e", vv({{kA, 2}}), kA, 9, 4));
    CHECK(plan_batch(local_change, FolderMode::receive_only).empty());
    CHECK(describe(plan_batch(local_change)) == std::vector<std::string>{"write_file e"});
}

TEST_CASE("planner batch: the plan does not depend on the order of the inputs", "[planner]") {
    Inputs inputs;
    for (const char* from : {"x1", "x2", "d/x3"}) {
        const FileRecord r = file(from, vv({{kB, 1}}), kB, 10, 9);
        add(inputs, r, deleted_by_a(r));
    }
    const FileRecord content = file("-", vv({{kB, 1}}), kB, 10, 9);
    for (const char* to : {"y2", "y1", "e/y3"}) add(inputs, std::nullopt, moved(content, to));
    add(inputs, std::nullopt, directory("e", vv({{kA, 1}}), kA, 1));
    const FileRecord d = directory("d", vv({{kB, 1}}), kB, 1);
    add(inputs, d, deleted_by_a(d));

    const std::vector<std::string> expected{"make_directory e", "rename e/y3 <- d/x3",
                                            "rename y1 <- x1", "rename y2 <- x2", "remove d"};
    CHECK(describe(plan_batch(inputs)) == expected);
    std::reverse(inputs.begin(), inputs.end());
    CHECK(describe(plan_batch(inputs)) == expected);
    std::rotate(inputs.begin(), inputs.begin() + 3, inputs.end());
    CHECK(describe(plan_batch(inputs)) == expected);
}

TEST_CASE("planner batch: a conflict copy another device made already is made once", "[planner]") {
    // B holds A's version of f.txt, which loses to C's later concurrent one;
    // A, holding it too, has already kept it as the conflict copy.
    const FileRecord losing = file("f.txt", vv({{kA, 1}}), kA, 10, 2);
    const FileRecord winning = file("f.txt", vv({{kC, 1}}), kC, 20, 3);
    const std::string copy_path = conflict_copy_path("f.txt", seconds(10), kA);
    const FileRecord copy = file(copy_path, vv({{kA, 2}}), kA, 10, 2);
    const auto plan = [&](std::optional<FileRecord> local_copy, FileRecord announced_copy) {
        Inputs inputs;
        PathInput f;
        f.local = losing;
        f.remotes = {{kA, losing}, {kC, winning}};
        inputs.emplace_back("f.txt", f);
        add(inputs, std::move(local_copy), std::move(announced_copy));
        return plan_batch(inputs);
    };

    SECTION("announced with the content kept: the copy brings it, nothing is fetched") {
        const auto steps = plan(std::nullopt, copy);
        REQUIRE(describe(steps) == std::vector<std::string>{"write_file f.txt"});
        CHECK(steps[0].conflict_copy == copy_path);
    }
    SECTION("already here: not made again") {
        const auto steps = plan(copy, copy);
        REQUIRE(describe(steps) == std::vector<std::string>{"write_file f.txt"});
        CHECK_FALSE(steps[0].conflict_copy);
    }
    SECTION("deleted since by a device that held it: not made again") {
        const auto steps = plan(std::nullopt, deleted_by_a(copy));
        REQUIRE(describe(steps) == std::vector<std::string>{"write_file f.txt"});
        CHECK_FALSE(steps[0].conflict_copy);
    }
    SECTION("edited over since: not made again, the edit is fetched") {
        FileRecord edited = file(copy_path, vv({{kA, 3}}), kA, 30, 4);
        const auto steps = plan(std::nullopt, edited);
        REQUIRE(describe(steps) ==
                std::vector<std::string>{"write_file " + copy_path, "write_file f.txt"});
        CHECK_FALSE(steps[1].conflict_copy);
    }
}
