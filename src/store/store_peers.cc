// Store: the user's other devices, revocations, invites and index ids.
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "store/store_impl.hh"

namespace ferry {

namespace {

using sqlite::ResetOnExit;
using sqlite::Statement;
using sqlite::Transaction;
using store::error_of;

// A device key in messages: its first 8 bytes (enough to tell the user's
// devices apart, short enough to read).
std::string key_text(std::span<const std::uint8_t> key) {
    std::uint64_t prefix = 0;
    for (std::size_t i = 0; i < 8 && i < key.size(); ++i) prefix = (prefix << 8) | key[i];
    return store::id_text(prefix);
}

// Addresses are stored newline-separated: a "host:port" never holds one.
Result<std::string> join_addresses(const std::string& db_path, const DeviceRecord& device) {
    std::string out;
    for (const auto& address : device.addresses) {
        if (address.empty() || address.find('\n') != std::string::npos) {
            return fail(Errc::invalid_argument,
                        db_path + ": device '" + device.name + "' (" + key_text(device.key) +
                            "): the address '" + address + "' is not of the form host:port");
        }
        if (!out.empty()) out += '\n';
        out += address;
    }
    return out;
}

std::vector<std::string> split_addresses(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        const auto end = text.find('\n');
        out.emplace_back(text.substr(0, end));
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
    return out;
}

constexpr const char* k_device_columns =
    "key, certificate, name, addresses, last_seen_ns, bytes_in, bytes_out";

Result<DeviceRecord> read_device(const std::string& db_path, const Statement& row) {
    DeviceRecord device;
    const auto key = row.column_blob(0);
    if (key.size() != device.key.size()) {
        return fail(Errc::corrupt, db_path + ": a device key of " + std::to_string(key.size()) +
                                       " bytes instead of 32; the index is damaged");
    }
    std::copy(key.begin(), key.end(), device.key.begin());
    const auto certificate = row.column_blob(1);
    device.certificate.assign(certificate.begin(), certificate.end());
    device.name = std::string(row.column_text(2));
    device.addresses = split_addresses(row.column_text(3));
    device.last_seen_ns = row.column_int(4);
    device.bytes_in = static_cast<std::uint64_t>(row.column_int(5));
    device.bytes_out = static_cast<std::uint64_t>(row.column_int(6));
    return device;
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> read_fixed(const std::string& db_path, const Statement& row,
                                               int column, const char* what) {
    const auto bytes = row.column_blob(column);
    std::array<std::uint8_t, N> out{};
    if (bytes.size() != N) {
        return fail(Errc::corrupt, db_path + ": " + what + " of " + std::to_string(bytes.size()) +
                                       " bytes instead of " + std::to_string(N) +
                                       "; the index is damaged");
    }
    std::copy(bytes.begin(), bytes.end(), out.begin());
    return out;
}

Result<InviteRecord> read_invite(const std::string& db_path, const Statement& row) {
    InviteRecord invite;
    auto id = read_fixed<16>(db_path, row, 0, "an invite id");
    if (!id) return error_of(id);
    auto secret = read_fixed<32>(db_path, row, 1, "an invite secret");
    if (!secret) return error_of(secret);
    invite.id = *id;
    invite.secret = *secret;
    invite.expires_ns = row.column_int(2);
    invite.used = row.column_int(3) != 0;
    return invite;
}

}  // namespace

std::string store::id_text(std::uint64_t value) {
    char text[17];
    std::snprintf(text, sizeof text, "%016" PRIx64, value);
    return text;
}

// ---- devices ----

Result<void> Store::put_device(const DeviceRecord& device) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto addresses = join_addresses(db.path(), device);
    if (!addresses) return error_of(addresses);
    // Statistics only grow: a record carried in from elsewhere (a join, a
    // peer's config) never lowers what this device counted itself.
    auto stmt = db.prepare(
        std::string("INSERT INTO devices (") + k_device_columns +
            ") VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET certificate = excluded.certificate, "
            "name = excluded.name, addresses = excluded.addresses, "
            "last_seen_ns = max(last_seen_ns, excluded.last_seen_ns), "
            "bytes_in = max(bytes_in, excluded.bytes_in), "
            "bytes_out = max(bytes_out, excluded.bytes_out)",
        "store device '" + device.name + "' (" + key_text(device.key) + ")");
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, device.key);
    stmt->bind_blob(2, device.certificate);
    stmt->bind_text(3, device.name);
    stmt->bind_text(4, *addresses);
    stmt->bind_int(5, device.last_seen_ns);
    stmt->bind_int(6, static_cast<std::int64_t>(device.bytes_in));
    stmt->bind_int(7, static_cast<std::int64_t>(device.bytes_out));
    return stmt->run();
}

Result<std::vector<DeviceRecord>> Store::devices() {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare(std::string("SELECT ") + k_device_columns + " FROM devices ORDER BY key",
                           "list devices");
    if (!stmt) return error_of(stmt);
    std::vector<DeviceRecord> out;
    for (;;) {
        auto row = stmt->step();
        if (!row) return error_of(row);
        if (!*row) break;
        auto device = read_device(db.path(), *stmt);
        if (!device) return error_of(device);
        out.push_back(std::move(*device));
    }
    return out;
}

Result<std::optional<DeviceRecord>> Store::device(const KeyBytes& key) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare(std::string("SELECT ") + k_device_columns + " FROM devices WHERE key = ?",
                           "read device " + key_text(key));
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, key);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<DeviceRecord>();
    auto device = read_device(db.path(), *stmt);
    if (!device) return error_of(device);
    return std::optional<DeviceRecord>(std::move(*device));
}

Result<void> Store::remove_device(const KeyBytes& key) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare("DELETE FROM devices WHERE key = ? RETURNING key",
                           "remove device " + key_text(key));
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(*stmt);
    stmt->bind_blob(1, key);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) {
        return fail(Errc::not_found, db.path() + ": no device " + key_text(key) +
                                         " is known (see `ferry devices`)");
    }
    return {};
}

Result<void> Store::note_device_activity(const KeyBytes& key, std::int64_t now_ns,
                                         std::uint64_t bytes_in, std::uint64_t bytes_out) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare(
        "UPDATE devices SET last_seen_ns = max(last_seen_ns, ?2), bytes_in = bytes_in + ?3, "
        "bytes_out = bytes_out + ?4 WHERE key = ?1 RETURNING key",
        "record the activity of device " + key_text(key));
    if (!stmt) return error_of(stmt);
    ResetOnExit reset(*stmt);
    stmt->bind_blob(1, key);
    stmt->bind_int(2, now_ns);
    stmt->bind_int(3, static_cast<std::int64_t>(bytes_in));
    stmt->bind_int(4, static_cast<std::int64_t>(bytes_out));
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) {
        return fail(Errc::not_found, db.path() + ": activity of device " + key_text(key) +
                                         ", which is not known: store the device first");
    }
    return {};
}

// ---- revocations ----

Result<void> Store::add_revocation(const KeyBytes& device_key, std::string_view encoded) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare(
        "INSERT INTO revocations (device_key, revocation) VALUES (?, ?) "
        "ON CONFLICT (device_key) DO NOTHING",
        "store the revocation of device " + key_text(device_key));
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, device_key);
    stmt->bind_blob(2, encoded);
    return stmt->run();
}

Result<std::vector<std::string>> Store::revocations() {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare("SELECT revocation FROM revocations ORDER BY device_key",
                                    "list revocations");
    if (!stmt) return error_of(stmt);
    std::vector<std::string> out;
    for (;;) {
        auto row = stmt->step();
        if (!row) return error_of(row);
        if (!*row) break;
        const auto blob = stmt->column_blob(0);
        out.emplace_back(blob.begin(), blob.end());
    }
    return out;
}

Result<bool> Store::is_revoked(const KeyBytes& device_key) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare("SELECT 1 FROM revocations WHERE device_key = ?",
                                    "check whether device " + key_text(device_key) +
                                        " is revoked");
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, device_key);
    return stmt->step();
}

// ---- invites ----

Result<void> Store::add_invite(const InviteRecord& invite) {
    std::lock_guard lock(m_impl->mutex);
    auto stmt = m_impl->db->prepare(
        "INSERT INTO invites (id, secret, expires_ns, used) VALUES (?, ?, ?, ?)",
        "store invite " + key_text(invite.id));
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, invite.id);
    stmt->bind_blob(2, invite.secret);
    stmt->bind_int(3, invite.expires_ns);
    stmt->bind_int(4, invite.used ? 1 : 0);
    return stmt->run();
}

Result<std::optional<InviteRecord>> Store::invite(const std::array<std::uint8_t, 16>& id) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare("SELECT id, secret, expires_ns, used FROM invites WHERE id = ?",
                           "read invite " + key_text(id));
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, id);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) return std::optional<InviteRecord>();
    auto invite = read_invite(db.path(), *stmt);
    if (!invite) return error_of(invite);
    return std::optional<InviteRecord>(*invite);
}

Result<InviteRecord> Store::claim_invite(const std::array<std::uint8_t, 16>& id,
                                         std::int64_t now_ns) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    const std::string purpose = "claim invite " + key_text(id);
    // The write lock is taken before the read: two daemons (or two joiners
    // racing on one daemon) cannot both see the invite unused.
    auto txn = Transaction::begin(db, purpose);
    if (!txn) return error_of(txn);
    auto stmt = db.prepare("SELECT id, secret, expires_ns, used FROM invites WHERE id = ?", purpose);
    if (!stmt) return error_of(stmt);
    stmt->bind_blob(1, id);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) {
        return fail(Errc::not_found, db.path() + ": invite " + key_text(id) +
                                         " was not made on this device: ask for a new code");
    }
    auto invite = read_invite(db.path(), *stmt);
    if (!invite) return error_of(invite);
    stmt->reset();
    if (invite->used) {
        return fail(Errc::already_exists, db.path() + ": invite " + key_text(id) +
                                              " was used already: ask for a new code");
    }
    if (invite->expires_ns <= now_ns) {
        return fail(Errc::changed, db.path() + ": invite " + key_text(id) +
                                       " has expired: ask for a new code");
    }
    auto mark = db.prepare("UPDATE invites SET used = 1 WHERE id = ?", purpose);
    if (!mark) return error_of(mark);
    mark->bind_blob(1, id);
    if (auto ok = mark->run(); !ok) return error_of(ok);
    if (auto ok = txn->commit(); !ok) return error_of(ok);
    invite->used = true;
    return *invite;
}

// ---- index ids ----

Result<std::uint64_t> Store::index_id(std::string_view folder_id) {
    std::lock_guard lock(m_impl->mutex);
    auto& db = *m_impl->db;
    auto stmt = db.prepare("SELECT index_id FROM folders WHERE folder_id = ?",
                           "read the index id of folder '" + std::string(folder_id) + "'");
    if (!stmt) return error_of(stmt);
    stmt->bind_text(1, folder_id);
    auto row = stmt->step();
    if (!row) return error_of(row);
    if (!*row) {
        return fail(Errc::not_found, db.path() + ": no folder '" + std::string(folder_id) +
                                         "' in the index (see `ferry folder list`)");
    }
    return static_cast<std::uint64_t>(stmt->column_int(0));
}

}  // namespace ferry
