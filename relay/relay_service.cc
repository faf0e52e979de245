// The local RelayService: requests checked against the limits, then handed
// to the MetadataStore (rows, quota, mailboxes) and the ChunkStore (bytes).
// Store order and crash repair: relay/local_service.hh.
#include <algorithm>
#include <mutex>
#include <set>

#include "core/bytes.hh"
#include "relay/account_token.hh"
#include "relay/chunk_store.hh"
#include "relay/local_service.hh"

namespace ferry::relay {

namespace {

constexpr std::size_t kMaxHelloRevocations = 4096;
constexpr std::uint32_t kMaxFetchMessages = 1000;

template <class... F>
struct Overloaded : F... {
    using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::int64_t system_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string device_text(const PublicKey& key) {
    return DeviceId::from_public_key(key).to_string();
}

wire::RelayReply reply(std::uint32_t id, wire::RelayCode code, std::string message,
                       const Usage& usage = {}) {
    return wire::RelayReply{id, code, std::move(message), usage.used_bytes, usage.quota_bytes};
}

wire::RelayReply error_reply(std::uint32_t id, const Error& error) {
    return reply(id, wire::RelayCode::error, "relay: " + error.message);
}

std::string quota_message(const Account& account, const Usage& usage) {
    return "relay full: account " + account.name + " uses " + std::to_string(usage.used_bytes) +
           " of " + std::to_string(usage.quota_bytes) + " bytes";
}

// Permission failures are the device's to read; the rest name the relay.
tl::unexpected<Error> denied(std::string message) {
    return fail(Errc::permission_denied, std::move(message));
}

}  // namespace

LocalService::LocalService(ServiceOptions options, std::unique_ptr<MetadataStore> meta,
                           std::unique_ptr<ChunkStore> chunks)
    : m_options(std::move(options)), m_meta(std::move(meta)), m_chunks(std::move(chunks)) {
    if (!m_options.now_ns) m_options.now_ns = system_now_ns;
}

bool LocalService::allowed(const DeviceSession& session) {
    auto account = session_account(session);
    return account && account->has_value();
}

Result<std::pair<DeviceSession, wire::RelayWelcome>> LocalService::hello(
    const DeviceCertificate& certificate, const wire::RelayHello& hello) {
    if (auto ok = certificate.verify(certificate.user_key); !ok) return denied(ok.error().message);
    if (hello.revocations.size() > kMaxHelloRevocations) {
        return fail(Errc::invalid_argument,
                    "relay: a hello carries at most " + std::to_string(kMaxHelloRevocations) +
                        " revocations, this one " + std::to_string(hello.revocations.size()));
    }
    auto found = m_meta->account_by_user_key(certificate.user_key);
    if (!found) return tl::unexpected(found.error());
    std::optional<Account> account = std::move(*found);
    if (!account) {
        if (hello.token.empty()) {
            return denied(
                "relay: no account here belongs to this user; ask the relay's operator "
                "for an account token (ferry-relay user add) and add the relay with it");
        }
        const auto hash = hash_token(hello.token);
        if (!hash) return denied("relay: the account token is malformed (64 hex digits expected)");
        auto bound = m_meta->bind_token(*hash, certificate.user_key);
        if (!bound) {
            if (bound.error().code == Errc::not_found)
                return denied("relay: unknown account token");
            if (bound.error().code == Errc::permission_denied ||
                bound.error().code == Errc::already_exists) {
                return denied("relay: " + bound.error().message);
            }
            return tl::unexpected(bound.error());
        }
        account = std::move(*bound);
    }
    std::vector<Revocation> revocations;
    for (const std::string& encoded : hello.revocations) {
        auto revocation = Revocation::decode(bytes_of(encoded));
        // One that does not decode or verify is not the user's: ignored.
        if (revocation && revocation->verify(*account->user_key))
            revocations.push_back(*revocation);
    }
    if (auto ok = m_meta->add_revocations(account->id, revocations); !ok)
        return tl::unexpected(ok.error());
    auto revoked = m_meta->is_revoked(account->id, certificate.device_key);
    if (!revoked) return tl::unexpected(revoked.error());
    if (*revoked) {
        return denied("relay: device " + device_text(certificate.device_key) +
                      " is revoked by its user");
    }
    if (auto ok = m_meta->device_seen(account->id, certificate.device_key, m_options.now_ns());
        !ok) {
        return tl::unexpected(ok.error());
    }
    DeviceSession session{account->name, certificate.device_key, certificate.user_key};
    wire::RelayWelcome welcome{account->name, account->used_bytes, account->quota_bytes};
    return std::pair{std::move(session), std::move(welcome)};
}

Result<std::optional<Account>> LocalService::session_account(const DeviceSession& session) {
    auto account = m_meta->account_by_name(session.account);
    if (!account) return account;
    // Removed, or removed and added again for another user: not this session's.
    if (!*account || (*account)->user_key != session.user_key) return std::optional<Account>();
    auto revoked = m_meta->is_revoked((*account)->id, session.device_key);
    if (!revoked) return tl::unexpected(revoked.error());
    if (*revoked) return std::optional<Account>();
    return account;
}

wire::Message LocalService::handle(const DeviceSession& session, const wire::Message& request,
                                   const std::function<void(const PublicKey&)>& on_posted) {
    const std::uint32_t id = std::visit(
        [](const auto& message) -> std::uint32_t {
            if constexpr (requires { message.id; }) {
                return message.id;
            } else {
                return 0;
            }
        },
        request);
    auto found = session_account(session);
    if (!found) return error_reply(id, found.error());
    if (!*found) {
        return reply(id, wire::RelayCode::refused,
                     "relay: device " + device_text(session.device_key) +
                         " may no longer use account " + session.account +
                         " (revoked, or the account was removed)");
    }
    const Account& account = **found;
    return std::visit(
        Overloaded{
            [&](const wire::ChunkPut& r) { return put(account, r); },
            [&](const wire::ChunkHave& r) { return have(account, r); },
            [&](const wire::ChunkGet& r) { return get(account, r); },
            [&](const wire::MailboxPost& r) { return post(account, session, r, on_posted); },
            [&](const wire::MailboxFetch& r) { return fetch(account, session, r); },
            [&](const wire::MailboxAck& r) { return ack(account, session, r); },
            [&](const auto&) -> wire::Message {
                return reply(id, wire::RelayCode::error, "relay: unexpected message");
            },
        },
        request);
}

std::optional<wire::RelayReply> LocalService::disk_refusal(std::uint32_t id) {
    auto used = m_chunks->used_fraction();
    if (!used) return error_reply(id, used.error());
    if (*used > m_options.max_disk_fraction) {
        return reply(id, wire::RelayCode::unavailable, "relay disk nearly full");
    }
    return std::nullopt;
}

std::optional<wire::RelayReply> LocalService::put_refusal(const wire::ChunkPut& request) {
    const auto too_large = [&](const std::string& why) {
        return reply(request.id, wire::RelayCode::too_large, "relay: " + why);
    };
    if (request.chunks.empty() || request.chunks.size() > wire::kMaxPutBatch) {
        return too_large("a ChunkPut carries 1 to " + std::to_string(wire::kMaxPutBatch) +
                         " chunks, this one " + std::to_string(request.chunks.size()));
    }
    std::size_t total = 0;
    for (const wire::SealedChunk& chunk : request.chunks) {
        if (chunk.data.size() > wire::kMaxSealedChunk) {
            return too_large("a chunk of " + std::to_string(chunk.data.size()) +
                             " bytes is over the limit of " +
                             std::to_string(wire::kMaxSealedChunk));
        }
        total += chunk.data.size();
    }
    if (total > wire::kMaxPutBytes) {
        return too_large("a ChunkPut of " + std::to_string(total) + " bytes is over the limit of " +
                         std::to_string(wire::kMaxPutBytes));
    }
    return disk_refusal(request.id);
}

wire::Message LocalService::put(const Account& account, const wire::ChunkPut& request) {
    if (auto refusal = put_refusal(request)) return *refusal;
    // A chunk named twice in one put is stored once, with its first data.
    std::vector<const wire::SealedChunk*> chunks;
    std::set<wire::RelayChunkId> seen;
    for (const wire::SealedChunk& chunk : request.chunks)
        if (seen.insert(chunk.chunk).second) chunks.push_back(&chunk);
    std::vector<ChunkSize> sizes;
    std::vector<std::string> keys;
    for (const wire::SealedChunk* chunk : chunks) {
        sizes.push_back(ChunkSize{chunk->chunk, chunk->data.size()});
        keys.push_back(chunk_key(account.id, chunk->chunk));
    }
    const auto held = m_locks.shared_all(keys);
    auto reservation = m_meta->reserve_chunks(account.id, sizes, m_options.now_ns());
    if (!reservation) return error_reply(request.id, reservation.error());
    if (reservation->quota_exceeded) {
        return reply(request.id, wire::RelayCode::quota_exceeded,
                     quota_message(account, reservation->usage), reservation->usage);
    }
    std::vector<ChunkObject> objects;
    std::vector<wire::RelayChunkId> written;
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        if (reservation->outcomes[i] == ReserveOutcome::stored) continue;
        objects.push_back(ChunkObject{keys[i], chunks[i]->data});
        written.push_back(chunks[i]->chunk);
    }
    // On failure the pending rows stay: a retry finishes them without a
    // second charge, or maintain() drops them.
    if (!objects.empty()) {
        if (auto ok = m_chunks->put(objects); !ok) return error_reply(request.id, ok.error());
        if (auto ok = m_meta->mark_stored(account.id, written); !ok)
            return error_reply(request.id, ok.error());
    }
    return reply(request.id, wire::RelayCode::ok, {}, reservation->usage);
}

wire::Message LocalService::have(const Account& account, const wire::ChunkHave& request) {
    if (request.chunks.size() > wire::kMaxHaveBatch) {
        return reply(request.id, wire::RelayCode::too_large,
                     "relay: ChunkHave asks for " + std::to_string(request.chunks.size()) +
                         " chunks, at most " + std::to_string(wire::kMaxHaveBatch) + " at once");
    }
    auto present = m_meta->stored(account.id, request.chunks);
    if (!present) return error_reply(request.id, present.error());
    return wire::ChunkHaveReply{request.id, std::move(*present)};
}

wire::Message LocalService::get(const Account& account, const wire::ChunkGet& request) {
    if (request.chunks.empty() || request.chunks.size() > wire::kMaxGetBatch) {
        return reply(request.id, wire::RelayCode::too_large,
                     "relay: a ChunkGet asks for 1 to " + std::to_string(wire::kMaxGetBatch) +
                         " chunks, this one for " + std::to_string(request.chunks.size()));
    }
    auto present = m_meta->stored(account.id, request.chunks);
    if (!present) return error_reply(request.id, present.error());
    wire::ChunkData out{request.id, wire::RelayCode::ok, {}};
    out.chunks.resize(request.chunks.size());
    for (std::size_t i = 0; i < request.chunks.size(); ++i) {
        if (!(*present)[i]) continue;
        auto data = m_chunks->get(chunk_key(account.id, request.chunks[i]));
        if (data) {
            out.chunks[i] = std::move(*data);
        } else if (data.error().code != Errc::not_found) {
            return error_reply(request.id, data.error());
        }
    }
    return out;
}

wire::Message LocalService::post(const Account& account, const DeviceSession& session,
                                 const wire::MailboxPost& request,
                                 const std::function<void(const PublicKey&)>& on_posted) {
    if (request.recipients.empty() || request.recipients.size() > wire::kMaxRecipients) {
        return reply(request.id, wire::RelayCode::too_large,
                     "relay: a message goes to 1 to " + std::to_string(wire::kMaxRecipients) +
                         " devices, this one to " + std::to_string(request.recipients.size()));
    }
    if (request.payload.size() > wire::kMaxMailboxPayload) {
        return reply(request.id, wire::RelayCode::too_large,
                     "relay: a message of " + std::to_string(request.payload.size()) +
                         " bytes is over the limit of " + std::to_string(wire::kMaxMailboxPayload));
    }
    if (auto refusal = disk_refusal(request.id)) return *refusal;
    std::vector<wire::DeviceKey> recipients;
    for (const auto& recipient : request.recipients) {
        if (std::find(recipients.begin(), recipients.end(), recipient) == recipients.end()) {
            recipients.push_back(recipient);
        }
    }
    const std::chrono::seconds ttl =
        request.ttl_seconds == 0
            ? m_options.default_ttl
            : std::min(std::chrono::seconds(request.ttl_seconds), m_options.max_ttl);
    const std::int64_t now = m_options.now_ns();
    PostRequest row;
    row.account = account.id;
    row.message_id = request.message_id;
    row.sender = session.device_key;
    row.recipients = recipients;
    row.payload = request.payload;
    row.chunks = request.chunks;
    row.posted_ns = now;
    row.expires_ns = now + ns_of(ttl);
    const MailboxLimits limits{m_options.max_mailbox_bytes, m_options.max_mailbox_messages};
    auto posted = m_meta->post(row, limits);
    if (!posted) return error_reply(request.id, posted.error());
    switch (posted->outcome) {
        case PostOutcome::quota_exceeded:
            return reply(request.id, wire::RelayCode::quota_exceeded,
                         quota_message(account, posted->usage), posted->usage);
        case PostOutcome::mailbox_full:
            return reply(
                request.id, wire::RelayCode::too_large,
                "relay: mailbox of device " + device_text(posted->full_mailbox) + " is full",
                posted->usage);
        case PostOutcome::posted: break;
    }
    if (on_posted) {
        for (const PublicKey& device : posted->delivered_to) on_posted(device);
    }
    return reply(request.id, wire::RelayCode::ok, {}, posted->usage);
}

wire::Message LocalService::fetch(const Account& account, const DeviceSession& session,
                                  const wire::MailboxFetch& request) {
    const std::uint32_t max_messages = request.max_messages == 0
                                           ? kMaxFetchMessages
                                           : std::min(request.max_messages, kMaxFetchMessages);
    // A batch must fit one frame: kMaxMailboxPayload of payloads at most.
    const std::uint64_t max_bytes =
        request.max_bytes == 0
            ? wire::kMaxMailboxPayload
            : std::min<std::uint64_t>(request.max_bytes, wire::kMaxMailboxPayload);
    auto batch = m_meta->fetch(account.id, session.device_key, max_messages, max_bytes);
    if (!batch) return error_reply(request.id, batch.error());
    return wire::MailboxBatch{request.id, std::move(batch->entries), batch->more};
}

wire::Message LocalService::ack(const Account& account, const DeviceSession& session,
                                const wire::MailboxAck& request) {
    auto usage = m_meta->ack(account.id, session.device_key, request.message_ids,
                             m_options.now_ns());
    if (!usage) return error_reply(request.id, usage.error());
    return reply(request.id, wire::RelayCode::ok, {}, *usage);
}

Result<std::unique_ptr<RelayService>> open_local_service(const std::string& data_dir,
                                                         ServiceOptions options) {
    auto meta = open_local_metadata(data_dir);
    if (!meta) return tl::unexpected(meta.error());
    auto chunks = open_local_chunk_store(data_dir);
    if (!chunks) return tl::unexpected(chunks.error());
    return std::unique_ptr<RelayService>(
        new LocalService(std::move(options), std::move(*meta), std::move(*chunks)));
}

}  // namespace ferry::relay
