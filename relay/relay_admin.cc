// The local RelayAdmin: accounts in the MetadataStore; removing one deletes
// its rows first, then its chunk objects (an object left by a crash in
// between is an orphan the relay's maintain() deletes).
#include <chrono>

#include "relay/account_token.hh"
#include "relay/chunk_store.hh"
#include "relay/metadata_store.hh"
#include "relay/relay_service.hh"

namespace ferry::relay {

namespace {

class LocalAdmin final : public RelayAdmin {
public:
    LocalAdmin(std::unique_ptr<MetadataStore> meta, std::unique_ptr<ChunkStore> chunks)
        : m_meta(std::move(meta)), m_chunks(std::move(chunks)) {}

    Result<std::string> add_user(const std::string& name, std::uint64_t quota_bytes) override {
        if (auto ok = check_account_name(name); !ok) return tl::unexpected(ok.error());
        std::string token = new_token();
        const auto hash = hash_token(token);
        const std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        if (auto ok = m_meta->add_account(name, *hash, quota_bytes, now); !ok) {
            return tl::unexpected(ok.error());
        }
        return token;
    }

    Result<std::vector<AccountInfo>> users() override { return m_meta->accounts(); }

    Result<void> remove_user(const std::string& name) override {
        auto chunks = m_meta->remove_account(name);
        if (!chunks) return tl::unexpected(chunks.error());
        for (const ChunkRef& ref : *chunks) {
            if (auto ok = m_chunks->remove(chunk_key(ref.account, ref.chunk)); !ok) return ok;
        }
        return {};
    }

    Result<void> set_quota(const std::string& name, std::uint64_t quota_bytes) override {
        return m_meta->set_quota(name, quota_bytes);
    }

    Result<RelayTotals> totals() override { return m_meta->totals(); }

private:
    std::unique_ptr<MetadataStore> m_meta;
    std::unique_ptr<ChunkStore> m_chunks;
};

}  // namespace

Result<std::unique_ptr<RelayAdmin>> open_local_admin(const std::string& data_dir) {
    auto meta = open_local_metadata(data_dir);
    if (!meta) return tl::unexpected(meta.error());
    auto chunks = open_local_chunk_store(data_dir);
    if (!chunks) return tl::unexpected(chunks.error());
    return std::unique_ptr<RelayAdmin>(new LocalAdmin(std::move(*meta), std::move(*chunks)));
}

}  // namespace ferry::relay
