#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/key_file.hh"

using namespace ferry;

namespace {

// A temporary directory removed with its contents at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / "ferry-crypto-XXXXXX").string();
        REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
        m_path = tmpl;
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    std::string file(const std::string& name) const { return m_path + "/" + name; }
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
    ::chmod(path.c_str(), 0600);
}

}  // namespace

TEST_CASE("a moved-from key pair holds no secret", "[identity]") {
    KeyPair a = KeyPair::generate();
    const DeviceId id = a.device_id();
    KeyPair b = std::move(a);
    CHECK(b.device_id() == id);
    const auto seed = a.seed();  // NOLINT(bugprone-use-after-move): checking the wipe
    CHECK(std::all_of(seed.begin(), seed.end(), [](std::uint8_t v) { return v == 0; }));
}

TEST_CASE("a saved key loads back as the same key pair, mode 0600", "[identity]") {
    TempDir dir;
    const std::string path = dir.file("device.key");
    const KeyPair key = KeyPair::generate();
    REQUIRE(save_key(path, key, KeyRole::device));

    struct stat st {};
    REQUIRE(::stat(path.c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);
    CHECK(read_text(path).starts_with("ferry-secret-key v1\nrole device\nseed "));

    auto loaded = load_key(path, KeyRole::device);
    REQUIRE(loaded);
    CHECK(loaded->device_id() == key.device_id());
    CHECK(std::equal(key.seed().begin(), key.seed().end(), loaded->seed().begin()));

    // Saving again replaces the key atomically and leaves no temporary file.
    const KeyPair other = KeyPair::generate();
    REQUIRE(save_key(path, other, KeyRole::device));
    auto reloaded = load_key(path, KeyRole::device);
    REQUIRE(reloaded);
    CHECK(reloaded->device_id() == other.device_id());
    CHECK(std::distance(std::filesystem::directory_iterator(dir.path()),
                        std::filesystem::directory_iterator()) == 1);
}

TEST_CASE("loading refuses a key file readable by others and says what to do", "[identity]") {
    TempDir dir;
    const std::string path = dir.file("user.key");
    REQUIRE(save_key(path, KeyPair::generate(), KeyRole::user));
    for (mode_t mode : {0640, 0604, 0644, 0620, 0602}) {
        REQUIRE(::chmod(path.c_str(), mode) == 0);
        auto loaded = load_key(path, KeyRole::user);
        INFO("mode " << std::oct << mode);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == Errc::permission_denied);
        CHECK_THAT(loaded.error().message, Catch::Contains(path) && Catch::Contains("chmod 600"));
    }
    // Only the owner's bits matter: 0400 (read-only) is fine.
    REQUIRE(::chmod(path.c_str(), 0400) == 0);
    CHECK(load_key(path, KeyRole::user));
}

TEST_CASE("loading refuses a missing, damaged or mismatched key file", "[identity]") {
    TempDir dir;
    const std::string path = dir.file("device.key");

    auto missing = load_key(path, KeyRole::device);
    REQUIRE_FALSE(missing);
    CHECK(missing.error().code == Errc::not_found);
    CHECK_THAT(missing.error().message, Catch::Contains(path));

    REQUIRE(save_key(path, KeyPair::generate(), KeyRole::device));
    const std::string good = read_text(path);

    SECTION("wrong role") {
        auto as_user = load_key(path, KeyRole::user);
        REQUIRE_FALSE(as_user);
        CHECK(as_user.error().code == Errc::corrupt);
    }
    SECTION("truncated") {
        write_text(path, good.substr(0, good.size() - 1));
        auto loaded = load_key(path, KeyRole::device);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == Errc::corrupt);
        CHECK_THAT(loaded.error().message, Catch::Contains("bytes"));
    }
    SECTION("longer") {
        write_text(path, good + "x");
        auto loaded = load_key(path, KeyRole::device);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == Errc::corrupt);
    }
    SECTION("not hex") {
        std::string bad = good;
        bad[bad.find("seed ") + 5] = 'g';
        write_text(path, bad);
        auto loaded = load_key(path, KeyRole::device);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == Errc::corrupt);
    }
    SECTION("seed and public key disagree") {
        std::string bad = good;
        char& c = bad[bad.find("seed ") + 5];
        c = c == '0' ? '1' : '0';
        write_text(path, bad);
        auto loaded = load_key(path, KeyRole::device);
        REQUIRE_FALSE(loaded);
        CHECK(loaded.error().code == Errc::corrupt);
        CHECK_THAT(loaded.error().message, Catch::Contains("does not match"));
    }
    SECTION("a symbolic link") {
        const std::string link = dir.file("link.key");
        REQUIRE(::symlink(path.c_str(), link.c_str()) == 0);
        auto loaded = load_key(link, KeyRole::device);
        REQUIRE_FALSE(loaded);
        CHECK_THAT(loaded.error().message, Catch::Contains("symbolic link"));
    }
}

TEST_CASE("saving into a missing directory fails with the path", "[identity]") {
    TempDir dir;
    const std::string path = dir.file("absent/device.key");
    auto saved = save_key(path, KeyPair::generate(), KeyRole::device);
    REQUIRE_FALSE(saved);
    CHECK(saved.error().code == Errc::not_found);
    CHECK_THAT(saved.error().message, Catch::Contains(path));
}
