// Runs a fuzz target without libFuzzer, deterministically.
//
//   fuzz_NAME FILE...        replays these files only (a crash to reproduce)
//   fuzz_NAME DIR...         replays every file in these folders (sorted by
//                            name, README.md left out), then
//                            kInputs inputs from a seeded generator: random
//                            bytes, random printable text, and mutations of
//                            the replayed files (bytes flipped, set,
//                            inserted, deleted, repeated, spliced)
// meson.build passes tests/fuzz/corpus/NAME and tests/fuzz/regressions/NAME.
// FUZZ_SEED=N in the environment seeds the generator differently: another
// 20,000 inputs (longer runs without libFuzzer: one seed after another).
// When an input fails (a FUZZ_CHECK, a crash), it is written to
// NAME.failed-input in the working folder, ready for regressions/NAME/.
// Prints a Catch2-style summary line so ./dev test counts it as one test.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "fuzz_target.hh"

namespace {

using Bytes = std::vector<std::uint8_t>;
namespace fs = std::filesystem;

constexpr int kInputs = 20000;

// What the signal handler saves: set before each input.
std::string g_failed_path;
const Bytes* g_current = nullptr;

void save_current_input(int signal) {
    if (g_current != nullptr) {
        const int fd = ::open(g_failed_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            (void)!::write(fd, g_current->data(), g_current->size());
            ::close(fd);
        }
        static constexpr char kNote[] = "the failing input is in the file named *.failed-input\n";
        (void)!::write(STDERR_FILENO, kNote, sizeof kNote - 1);
    }
    std::signal(signal, SIG_DFL);
    std::raise(signal);
}

void run(const Bytes& input) {
    g_current = &input;
    LLVMFuzzerTestOneInput(input.data(), input.size());
    g_current = nullptr;
}

bool read_file(const fs::path& path, Bytes& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    out.assign(std::istreambuf_iterator<char>(in), {});
    return true;
}

Bytes random_input(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> len_dist(0, 300);
    std::uniform_int_distribution<int> kind_dist(0, 2);
    Bytes input(static_cast<std::size_t>(len_dist(rng)));
    static constexpr char text[] = "abc/.-_*?![]\\#~ \n\x01\xc3\xa9\xe2\x80\x8b";
    const int kind = kind_dist(rng);
    for (auto& byte : input) {
        if (kind == 0) {
            byte = static_cast<std::uint8_t>(rng());
        } else if (kind == 1) {
            byte = static_cast<std::uint8_t>(text[rng() % (sizeof text - 1)]);
        } else {
            byte = static_cast<std::uint8_t>(rng() % 4 == 0 ? rng() : rng() % 3);
        }
    }
    return input;
}

// One to four edits of a seed, each a few bytes wide (inputs stay small).
Bytes mutated(const std::vector<Bytes>& seeds, std::mt19937_64& rng) {
    Bytes out = seeds[rng() % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < edits; ++i) {
        const std::size_t at = out.empty() ? 0 : rng() % (out.size() + 1);
        const std::size_t span = 1 + rng() % 8;
        switch (rng() % 6) {
            case 0:  // flip one bit
                if (at < out.size()) out[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
                break;
            case 1:  // set a byte, often to a boundary value
                if (at < out.size()) {
                    static constexpr std::uint8_t kValues[] = {0, 1, 0x7f, 0x80, 0xff};
                    out[at] = rng() % 2 ? kValues[rng() % 5] : static_cast<std::uint8_t>(rng());
                }
                break;
            case 2:  // insert random bytes
                for (std::size_t k = 0; k < span; ++k) {
                    out.insert(out.begin() + static_cast<std::ptrdiff_t>(at),
                               static_cast<std::uint8_t>(rng()));
                }
                break;
            case 3:  // delete a run
                out.erase(out.begin() + static_cast<std::ptrdiff_t>(at),
                          out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), at + span)));
                break;
            case 4: {  // repeat a run
                const Bytes run(out.begin() + static_cast<std::ptrdiff_t>(at),
                                out.begin() + static_cast<std::ptrdiff_t>(std::min(out.size(), at + span)));
                out.insert(out.begin() + static_cast<std::ptrdiff_t>(at), run.begin(), run.end());
                break;
            }
            default: {  // splice: this seed's head, another's tail
                const Bytes& other = seeds[rng() % seeds.size()];
                const std::size_t from = other.empty() ? 0 : rng() % (other.size() + 1);
                out.resize(at);
                out.insert(out.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
            }
        }
    }
    return out;
}

// The files of `folder`, sorted; false when it cannot be listed.
bool files_in(const fs::path& folder, std::vector<fs::path>& out) {
    std::error_code error;
    fs::directory_iterator it(folder, error);
    if (error) return false;
    std::vector<fs::path> found;
    for (const auto& entry : it) {
        if (entry.is_regular_file() && entry.path().filename() != "README.md") {
            found.push_back(entry.path());
        }
    }
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    g_failed_path = fs::path(argv[0]).filename().string() + ".failed-input";
    std::signal(SIGABRT, save_current_input);
    std::signal(SIGSEGV, save_current_input);
    std::signal(SIGBUS, save_current_input);
    std::signal(SIGFPE, save_current_input);

    std::vector<fs::path> files;
    bool folders = false;
    for (int i = 1; i < argc; ++i) {
        const fs::path path(argv[i]);
        if (fs::is_directory(path)) {
            folders = true;
            if (!files_in(path, files)) {
                std::fprintf(stderr, "cannot list %s\n", argv[i]);
                return 1;
            }
        } else if (fs::exists(path)) {
            files.push_back(path);
        } else {
            std::fprintf(stderr, "%s does not exist (every target has its corpus and "
                                 "regressions folders)\n", argv[i]);
            return 1;
        }
    }

    std::vector<Bytes> seeds;
    for (const fs::path& path : files) {
        Bytes input;
        if (!read_file(path, input)) {
            std::fprintf(stderr, "cannot read %s\n", path.c_str());
            return 1;
        }
        run(input);
        seeds.push_back(std::move(input));
    }
    int inputs = static_cast<int>(files.size());
    if (argc == 1 || folders) {
        const char* seed = std::getenv("FUZZ_SEED");
        std::mt19937_64 rng(seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261125);
        for (int i = 0; i < kInputs; ++i) {
            // Half from the seeds when there are any, half from nothing.
            const Bytes input = !seeds.empty() && i % 2 == 1 ? mutated(seeds, rng) : random_input(rng);
            run(input);
        }
        inputs += kInputs;
    }
    std::printf("All tests passed (%d assertions in 1 test case)\n", inputs);
    return 0;
}
