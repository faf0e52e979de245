// The relay's untrusted text: relay URLs (gossiped between devices in
// ClusterConfig), account tokens and names (RelayHello, the command line),
// byte sizes (the command line). An accepted URL prints in a form that
// parses back to the same URL; nothing crashes.
#include <string_view>

#include "core/byte_size.hh"
#include "fuzz_target.hh"
#include "net/relay_url.hh"
#include "relay/account_token.hh"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    if (auto url = ferry::RelayUrl::parse(text)) {
        const std::string shown = url->to_string();
        FUZZ_CHECK(shown.size() <= ferry::RelayUrl::kMaxLength);
        auto again = ferry::RelayUrl::parse(shown);
        FUZZ_CHECK(again && *again == *url);
    }
    if (auto hash = ferry::relay::hash_token(text)) {
        FUZZ_CHECK(ferry::relay::hash_token(text) == hash);  // the same token, the same hash
    }
    (void)ferry::relay::check_account_name(text);
    (void)ferry::parse_byte_size(text);
    return 0;
}
