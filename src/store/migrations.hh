// The index schema as numbered migrations embedded in the binary.
//
// Migration N (1-based) is the N-th SQL text; PRAGMA user_version holds the
// number of the last one applied. Each migration runs in its own transaction
// together with its version bump, so a crash leaves the database at a whole
// version. Never edit a published migration: append a new one.
// Thread rule: the caller owns the Database exclusively while migrating.
#pragma once

#include "core/error.hh"
#include "store/sqlite.hh"

namespace ferry::store {

// The newest schema version this build knows.
int latest_schema_version();

// Brings the database up to `target` (latest_schema_version() but in tests
// that make an old database) and returns the version it is at. Fails with
// Errc::too_new when the database was written by a newer ferry.
Result<int> migrate(sqlite::Database& db);
Result<int> migrate(sqlite::Database& db, int target);

}  // namespace ferry::store
