#include "support/crashable_store.hh"

#include <sqlite3.h>

#include <atomic>
#include <stdexcept>
#include <utility>

namespace ferry::test {

namespace {

std::string unique_uri(const std::string& name) {
    static std::atomic<std::uint64_t> next{0};
    return "file:ferry-crashable-" + name + "-" + std::to_string(next++) + "?mode=memory&cache=shared";
}

}  // namespace

CrashableDatabase::CrashableDatabase(std::string name) : m_uri(unique_uri(name)) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI;
    if (sqlite3_open_v2(m_uri.c_str(), &m_anchor, flags, nullptr) != SQLITE_OK) {
        const std::string why = m_anchor ? sqlite3_errmsg(m_anchor) : "out of memory";
        sqlite3_close_v2(m_anchor);
        throw std::runtime_error(m_uri + ": cannot open the in-memory database: " + why);
    }
}

CrashableDatabase::~CrashableDatabase() { sqlite3_close_v2(m_anchor); }

Result<std::unique_ptr<Store>> CrashableDatabase::open() {
    auto store = Store::open(m_uri);
    if (!store) return store;
    (*store)->set_commit_check([this] { return allow_commit(); });
    return store;
}

void CrashableDatabase::crash_after_commits(std::uint64_t n, std::function<void()> on_crash) {
    m_crash_at = m_commits + n;
    m_on_crash = std::move(on_crash);
    if (n == 0) {
        m_crashed = true;
        if (m_on_crash) std::exchange(m_on_crash, nullptr)();
    }
}

void CrashableDatabase::revive() {
    m_crash_at.reset();
    m_crashed = false;
    m_on_crash = nullptr;
}

bool CrashableDatabase::allow_commit() {
    if (m_crashed) return false;
    ++m_commits;
    if (m_commits == m_crash_at) {
        m_crashed = true;
        if (m_on_crash) std::exchange(m_on_crash, nullptr)();
    }
    return true;
}

void seed_sqlite_random(int seed) {
    // With a null connection the seed is `seed` (with one, SQLite would take
    // that database's schema cookie instead); the next draw reseeds from it.
    sqlite3_test_control(SQLITE_TESTCTRL_PRNG_SEED, seed, static_cast<sqlite3*>(nullptr));
}

}  // namespace ferry::test
