// Index records between the store and the wire, for the engine: what goes
// out to a peer (with chunk-list deltas against the peer's own version when
// shorter) and what comes in (checked, deltas resolved, stored as the
// peer's announced records).
//
// Thread rule: blocking (they use the Store); called on worker threads.
// Failures of the store are returned; bad records from a peer are not
// failures but problems, one per record, and the rest is stored.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hh"
#include "core/folder_mode.hh"
#include "net/messages.hh"
#include "store/store.hh"
#include "sync/engine.hh"

namespace ferry::engine_detail {

// At most this many records go in one IndexUpdate.
inline constexpr std::size_t kRecordsPerUpdate = 1000;

struct Outgoing {
    wire::IndexUpdate update;  // may hold no record (all skipped)
    Sequence last;             // the peer has everything up to here once sent
};

// The next records of `folder_id` after `after` for `peer`, in sequence
// order. Receive-only folders skip local changes (modified_by == local).
Result<Outgoing> collect_outgoing(Store& store, const std::string& folder_id,
                                  std::uint64_t index_id, ShortId peer, Sequence after,
                                  FolderMode mode, ShortId local);

// The current records of `paths` with whole chunk lists (a ResendRequest).
Result<wire::IndexUpdate> collect_resend(Store& store, const std::string& folder_id,
                                         std::uint64_t index_id,
                                         const std::vector<std::string>& paths, Sequence sent);

// `record` as sent to `peer`: a delta against the peer's announced
// version of the path when that is shorter than the whole list.
Result<wire::WireRecord> to_wire(Store& store, const std::string& folder_id, ShortId peer,
                                 const FileRecord& record);

// Why a received record (chunks resolved) cannot be accepted, if it cannot.
std::optional<std::string> record_problem(const FileRecord& record);

// What this device still waits for from a peer's index of one folder, over
// one connection: records that came as deltas against a list it did not
// have, asked for again (ResendRequest). Until they come, the sequence
// stored as the peer's mark stays below the first of them, so that if the
// connection ends first (the request lost with it), the peer sends them
// again from there over the next one.
struct AwaitedRecords {
    std::map<std::string, Sequence> paths;  // path -> the peer's sequence of it
    Sequence received;                      // the highest last_sequence over this connection
};

struct Absorbed {
    std::vector<std::string> stored;    // paths stored
    std::vector<std::string> touched;   // of those, the ones to plan: not at our version
    std::vector<PathProblem> problems;  // refused records
    std::vector<std::string> resend;    // deltas whose base did not match
    bool replaced_index = false;        // the peer's index id changed: plan everything
    AwaitedRecords awaited;             // after this update
};

// Checks and stores a peer's IndexUpdate (Store::put_announced); `awaited`
// is what the updates before it over this connection left awaited.
Result<Absorbed> absorb_update(Store& store, const std::string& folder_id, ShortId peer,
                               const std::string& peer_name, const wire::IndexUpdate& update,
                               AwaitedRecords awaited);

}  // namespace ferry::engine_detail
