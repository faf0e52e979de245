// Group commit: concurrent callers share one durable commit.
//
// Each caller queues its item with submit(). The first caller to take the
// commit lock runs `commit` for every item queued by then (its own included)
// and sets each one's outcome; callers whose item a commit took return that
// outcome without committing again. While one commit syncs, the next batch
// gathers, so N concurrent callers pay for about two syncs, not N.
//
// Promise: submit() returns the outcome `commit` gave the caller's item, and
// every item is in exactly one commit. `commit` must set every outcome of
// the batch it is given. Thread-safe; commits never overlap.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace ferry::relay {

template <class Item, class Outcome>
class GroupCommit {
public:
    struct Entry {
        Item item;
        std::optional<Outcome> outcome;
    };
    using Batch = std::vector<std::shared_ptr<Entry>>;

    // `commit` is callable as void(Batch&).
    template <class Commit>
    Outcome submit(Item item, Commit&& commit) {
        auto mine = std::make_shared<Entry>(Entry{std::move(item), std::nullopt});
        {
            std::lock_guard queue(m_queue_mutex);
            m_queue.push_back(mine);
        }
        std::lock_guard committing(m_commit_mutex);
        if (!mine->outcome) {
            Batch batch;
            {
                std::lock_guard queue(m_queue_mutex);
                batch.swap(m_queue);
            }
            commit(batch);
        }
        return std::move(*mine->outcome);
    }

private:
    std::mutex m_queue_mutex;
    Batch m_queue;
    std::mutex m_commit_mutex;
};

}  // namespace ferry::relay
