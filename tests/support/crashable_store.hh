// A Store for the crash simulation: an in-memory SQLite database that
// outlives each Store opened on it, with crash points at commits.
//
// CrashableDatabase holds an idle "anchor" connection to a shared-cache
// in-memory database ("file:NAME?mode=memory&cache=shared"), so the data
// outlives every Store opened on it. A crash of the device is: destroy its
// Store (an open transaction is rolled back: lost, as a crash loses it),
// then open() again; every committed transaction is there and the schema is
// not migrated twice. No file is written.
//
// Crash points: the commits of writes through Stores from open() are
// counted (from the CrashableDatabase's creation, over all its Stores; not
// the commits made inside open() itself, such as the first migration). After
// crash_after_commits(n), n more commits go ahead; every one after that is
// turned into a rollback and fails with Errc::io, and the database is
// crashed(). `on_crash` runs once, at the n-th commit (inside SQLite, just
// before that commit completes; n == 0: at once, inside
// crash_after_commits). It must not use the Store: it is for setting flags,
// such as killing the device's FaultInjectingFilesystem.
//
// Thread rule: one thread (the simulation's) uses a CrashableDatabase and
// its Stores. It must outlive the Stores it opened.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/error.hh"
#include "store/store.hh"

struct sqlite3;

namespace ferry::test {

class CrashableDatabase {
public:
    // `name` tells databases apart in messages; each object gets a database
    // of its own even when names repeat.
    explicit CrashableDatabase(std::string name);
    ~CrashableDatabase();
    CrashableDatabase(const CrashableDatabase&) = delete;
    CrashableDatabase& operator=(const CrashableDatabase&) = delete;

    const std::string& uri() const { return m_uri; }

    // A Store on the database, its commits counted and checked.
    Result<std::unique_ptr<Store>> open();

    // Commits made so far through the Stores from open().
    std::uint64_t commits() const { return m_commits; }
    void crash_after_commits(std::uint64_t n, std::function<void()> on_crash = {});
    bool crashed() const { return m_crashed; }
    // Commits go ahead again (after the restart); no crash point is set.
    void revive();

private:
    bool allow_commit();

    std::string m_uri;
    sqlite3* m_anchor = nullptr;
    std::uint64_t m_commits = 0;
    std::optional<std::uint64_t> m_crash_at;  // the number of the last commit allowed
    bool m_crashed = false;
    std::function<void()> m_on_crash;
};

// Seeds SQLite's pseudo-random generator (random(), randomblob(): index ids)
// for the whole process, so seeded runs draw the same numbers in the same
// order. It is one generator shared by every connection. 0 goes back to
// seeding from the operating system.
void seed_sqlite_random(int seed);

}  // namespace ferry::test
