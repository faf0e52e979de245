// tests/support/crashable_store.hh: an in-memory database that outlives its
// Stores, crash points at commits, and seeding SQLite's random().
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "store_test_util.hh"
#include "support/crashable_store.hh"

using namespace ferry;
using namespace ferry::test;

namespace {

std::unique_ptr<Store> open_on(CrashableDatabase& db) {
    auto store = db.open();
    if (!store) FAIL(store.error().message);
    return std::move(*store);
}

// Writes setting "kN" for each N below `n`, one commit each; the results.
std::vector<Result<void>> write_settings(Store& store, int n) {
    std::vector<Result<void>> out;
    for (int i = 0; i < n; ++i) out.push_back(store.set_setting("k" + std::to_string(i), "v"));
    return out;
}

int settings_present(Store& store, int n) {
    int present = 0;
    for (int i = 0; i < n; ++i) {
        auto value = store.get_setting("k" + std::to_string(i));
        REQUIRE(value);
        if (*value) ++present;
    }
    return present;
}

}  // namespace

TEST_CASE("crashable store: committed data outlives the Store, and reopening migrates nothing",
          "[store][crash]") {
    CrashableDatabase db("reopen");
    auto store = open_on(db);
    const int schema = store->schema_version();
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(1);
    REQUIRE_OK(put(*store, "f", {dir_record("d"), file_record("d/a", {{random_hash(rng), 10}})}));
    const auto index_id = store->index_id("f").value();

    for (int restart = 0; restart < 3; ++restart) {
        store.reset();
        store = open_on(db);
        CHECK(store->schema_version() == schema);
        CHECK(store->index_id("f").value() == index_id);
        const auto file = store->get_file("f", "d/a");
        REQUIRE(file);
        REQUIRE(*file);
        CHECK((*file)->size == 10);
        // Writes still work on the reopened database (no lock is left behind).
        REQUIRE_OK(store->set_setting("restart", std::to_string(restart)));
    }
    CHECK(store->get_setting("restart").value() == std::optional<std::string>("2"));

    // Another CrashableDatabase is another database, even with the same name.
    CrashableDatabase other("reopen");
    CHECK(other.uri() != db.uri());
    auto fresh = open_on(other);
    CHECK(fresh->folders().value().empty());
}

TEST_CASE("crashable store: the idle anchor does not get in the way of reads and writes", "[store][crash]") {
    CrashableDatabase db("busy");
    auto store = open_on(db);
    add_folder(*store, "f", "/f");
    std::mt19937_64 rng(2);
    std::vector<FileRecord> records;
    for (int i = 0; i < 2500; ++i) records.push_back(file_record("p" + std::to_string(i), {{random_hash(rng), 5}}));
    REQUIRE_OK(put(*store, "f", records));
    // A paged walk (read transactions) with writes between its pages.
    int seen = 0;
    REQUIRE_OK(store->for_each_file("f", [&](const FileRecord&) -> Result<void> {
        if (++seen % 1000 == 0) return store->set_setting("seen", std::to_string(seen));
        return {};
    }));
    CHECK(seen == 2500);
    CHECK(store->get_setting("seen").value() == std::optional<std::string>("2000"));
    REQUIRE_OK(store->remove_folder("f"));
    CHECK(store->folders().value().empty());
}

TEST_CASE("crashable store: commits after the crash point fail and are lost", "[store][crash]") {
    CrashableDatabase db("point");
    auto store = open_on(db);
    CHECK(db.commits() == 0);  // open's own migrations are not counted
    REQUIRE_OK(store->set_setting("before", "1"));
    CHECK(db.commits() == 1);

    int calls = 0;
    db.crash_after_commits(2, [&] { ++calls; });
    REQUIRE_OK(store->set_setting("a", "1"));
    CHECK(!db.crashed());
    add_folder(*store, "f", "/f");  // the second: goes ahead, and is the crash point
    CHECK(db.crashed());
    CHECK(calls == 1);

    const auto refused = store->set_setting("b", "1");
    REQUIRE(!refused);
    CHECK(refused.error().code == Errc::io);
    std::mt19937_64 rng(3);
    CHECK(!put(*store, "f", {file_record("x", {{random_hash(rng), 1}})}));
    CHECK(calls == 1);
    CHECK(db.commits() == 3);
    // A crashed device's store reads what it has (it is about to be dropped).
    CHECK(store->get_setting("a").value() == std::optional<std::string>("1"));

    // The restart: what was committed is there, what was refused is not.
    store.reset();
    db.revive();
    store = open_on(db);
    CHECK(store->get_setting("a").value() == std::optional<std::string>("1"));
    CHECK(store->folder("f").value().has_value());
    CHECK(!store->get_setting("b").value());
    CHECK(!store->get_file("f", "x").value());
    REQUIRE_OK(store->set_setting("b", "2"));
    CHECK(store->get_setting("b").value() == std::optional<std::string>("2"));
}

TEST_CASE("crashable store: a crash point at 0 refuses the next commit at once", "[store][crash]") {
    CrashableDatabase db("now");
    auto store = open_on(db);
    bool called = false;
    db.crash_after_commits(0, [&] { called = true; });
    CHECK(called);
    CHECK(db.crashed());
    CHECK(!store->set_setting("k", "v"));
    store.reset();
    db.revive();
    store = open_on(db);
    CHECK(!store->get_setting("k").value());
}

TEST_CASE("crashable store: counting the commits of a run, then crashing after each in turn",
          "[store][crash]") {
    constexpr int kWrites = 5;
    std::uint64_t total = 0;
    {
        CrashableDatabase db("count");
        auto store = open_on(db);
        for (const auto& r : write_settings(*store, kWrites)) REQUIRE_OK(r);
        total = db.commits();
    }
    REQUIRE(total == kWrites);
    for (std::uint64_t n = 0; n <= total; ++n) {
        INFO("crash after commit " << n);
        CrashableDatabase db("replay");
        auto store = open_on(db);
        db.crash_after_commits(n);
        const auto results = write_settings(*store, kWrites);
        for (int i = 0; i < kWrites; ++i) CHECK(static_cast<bool>(results[i]) == (i < static_cast<int>(n)));
        store.reset();
        db.revive();
        store = open_on(db);
        CHECK(settings_present(*store, kWrites) == static_cast<int>(n));
    }
}

TEST_CASE("crashable store: seeded runs draw the same index ids", "[store][crash]") {
    auto index_id_after_seed = [](int seed) {
        seed_sqlite_random(seed);
        CrashableDatabase db("seed");
        auto store = open_on(db);
        add_folder(*store, "f", "/f");
        add_folder(*store, "g", "/g");
        return std::pair(store->index_id("f").value(), store->index_id("g").value());
    };
    const auto first = index_id_after_seed(7);
    const auto again = index_id_after_seed(7);
    const auto other = index_id_after_seed(8);
    seed_sqlite_random(0);  // back to the operating system's randomness
    CHECK(first == again);
    CHECK(first.first != first.second);
    CHECK(other != first);
}
