#include "crypto/key_file.hh"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ferry {
namespace {

constexpr std::string_view kMagic = "ferry-secret-key v1\n";
constexpr std::size_t kHex = 64;

// Text that held a secret: wiped before its memory is released.
class SecretText {
public:
    SecretText() = default;
    SecretText(const SecretText&) = delete;
    SecretText& operator=(const SecretText&) = delete;
    ~SecretText() { sodium_memzero(m_text.data(), m_text.size()); }
    std::string& text() { return m_text; }

private:
    std::string m_text;
};

Errc errc_of(int err) {
    switch (err) {
        case EACCES:
        case EPERM: return Errc::permission_denied;
        case ENOENT: return Errc::not_found;
        case ENOSPC:
        case EDQUOT: return Errc::no_space;
        default: return Errc::io;
    }
}

tl::unexpected<Error> os_failure(const std::string& what, const std::string& path, int err) {
    return fail(errc_of(err), what + " " + path + ": " + std::strerror(err));
}

std::string role_line(KeyRole role) {
    return std::string("role ") + key_role_name(role) + "\n";
}

std::size_t file_size(KeyRole role) {
    return kMagic.size() + role_line(role).size() + (5 + kHex + 1) + (7 + kHex + 1);
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    std::string out(bytes.size() * 2 + 1, '\0');
    sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
    out.pop_back();
    return out;
}

// Decodes exactly 64 lower-case hex digits into 32 bytes.
bool from_hex(std::string_view hex, std::span<std::uint8_t, 32> out) {
    if (hex.size() != kHex) return false;
    for (char c : hex) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    std::size_t written = 0;
    return sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), nullptr, &written,
                          nullptr) == 0 &&
           written == out.size();
}

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
    while (!data.empty()) {
        const ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_failure("cannot write", path, errno);
        }
        data.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

Result<void> sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return os_failure("cannot open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return os_failure("cannot sync directory", dir, err);
    return {};
}

std::string octal_mode(mode_t mode) {
    std::array<char, 8> buf{};
    std::snprintf(buf.data(), buf.size(), "%04o", static_cast<unsigned>(mode & 07777));
    return buf.data();
}

}  // namespace

Result<void> write_file_atomically(const std::string& path, std::string_view content) {
    std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.empty()) dir = ".";
    std::string tmp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(tmp.data());  // creates the file with mode 0600
    if (fd < 0) return os_failure("cannot create a temporary file next to", path, errno);
    auto written = write_all(fd, content, tmp);
    if (written && ::fsync(fd) != 0) written = os_failure("cannot sync", tmp, errno);
    if (::close(fd) != 0 && written) written = os_failure("cannot close", tmp, errno);
    if (written && ::rename(tmp.c_str(), path.c_str()) != 0) {
        written = os_failure("cannot rename " + tmp + " to", path, errno);
    }
    if (!written) {
        ::unlink(tmp.c_str());
        return written;
    }
    return sync_directory(dir);
}

const char* key_role_name(KeyRole role) {
    switch (role) {
        case KeyRole::device: return "device";
        case KeyRole::user: return "user";
        case KeyRole::relay: return "relay";
    }
    return "unknown";
}

Result<void> save_key(const std::string& path, const KeyPair& key, KeyRole role) {
    SecretText text;
    text.text().reserve(file_size(role));
    text.text().append(kMagic).append(role_line(role));
    text.text().append("seed ").append(to_hex(key.seed())).append("\n");
    text.text().append("public ").append(to_hex(key.public_key())).append("\n");
    return write_file_atomically(path, text.text());
}

Result<KeyPair> load_key(const std::string& path, KeyRole role) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        if (err == ELOOP) {
            return fail(Errc::permission_denied,
                        path +
                            " is a symbolic link; a key file must be a regular file: replace "
                            "the link with the file it points to");
        }
        return os_failure("cannot open key file", path, err);
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        const int err = errno;
        ::close(fd);
        return os_failure("cannot stat key file", path, err);
    }
    const std::size_t expected = file_size(role);
    SecretText text;
    text.text().resize(expected + 1);  // one more byte to notice a longer file
    std::size_t got = 0;
    while (S_ISREG(st.st_mode) && got < text.text().size()) {
        const ssize_t n = ::read(fd, text.text().data() + got, text.text().size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            return os_failure("cannot read key file", path, err);
        }
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    ::close(fd);

    if (!S_ISREG(st.st_mode)) {
        return fail(Errc::corrupt, path + " is not a regular file; a key file must be one");
    }
    if (st.st_uid != ::geteuid()) {
        return fail(Errc::permission_denied,
                    path + " belongs to user id " + std::to_string(st.st_uid) + ", not to you (" +
                        std::to_string(::geteuid()) +
                        "): it holds a secret key; run ferry as its owner, or `chown` it to you");
    }
    if ((st.st_mode & 077) != 0) {
        return fail(Errc::permission_denied,
                    path + " is accessible by other users (mode " + octal_mode(st.st_mode) +
                        "), but it holds a secret key: run `chmod 600 " + path +
                        "` (and consider whether someone may have copied it)");
    }
    const std::string what = std::string("ferry ") + key_role_name(role) + " key file";
    const std::string damaged = ": it is damaged or not a " + what + "; restore it from a backup";
    if (got != expected) {
        return fail(Errc::corrupt, path + " has " + (got > expected ? "more than " : "") +
                                       std::to_string(got) + " bytes where a " + what + " has " +
                                       std::to_string(expected) + damaged);
    }
    std::string_view rest(text.text().data(), expected);
    const std::string header = std::string(kMagic) + role_line(role);
    if (!rest.starts_with(header)) {
        return fail(Errc::corrupt, path + " does not start with '" +
                                       std::string(kMagic.substr(0, kMagic.size() - 1)) +
                                       "' and 'role " + key_role_name(role) + "'" + damaged);
    }
    rest.remove_prefix(header.size());
    std::array<std::uint8_t, KeyPair::kSeedBytes> seed{};
    std::array<std::uint8_t, KeyPair::kPublicBytes> stored_public{};
    const bool well_formed =
        rest.starts_with("seed ") && rest[5 + kHex] == '\n' &&
        from_hex(rest.substr(5, kHex), seed) && rest.substr(5 + kHex + 1).starts_with("public ") &&
        rest.back() == '\n' && from_hex(rest.substr(5 + kHex + 1 + 7, kHex), stored_public);
    if (!well_formed) {
        sodium_memzero(seed.data(), seed.size());
        return fail(Errc::corrupt, path + " has malformed 'seed' or 'public' lines" + damaged);
    }
    KeyPair key = KeyPair::from_seed(seed);
    sodium_memzero(seed.data(), seed.size());
    if (!std::equal(stored_public.begin(), stored_public.end(), key.public_key().begin())) {
        return fail(Errc::corrupt,
                    path + ": the public key does not match the secret seed" + damaged);
    }
    return key;
}

}  // namespace ferry
