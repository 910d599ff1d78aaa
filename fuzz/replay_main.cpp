// Replays fuzz inputs outside libFuzzer: every regular file under each folder given on the
// command line (missing folders are skipped) goes through LLVMFuzzerTestOneInput, in name order.
// An input that crashes, or throws anything but funnel::error, fails the process (ctest fuzz.*).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::size_t replayed = 0;
  for (int a = 1; a < argc; ++a) {
    const fs::path dir = argv[a];
    if (!fs::is_directory(dir)) {
      std::printf("skip %s (no such folder)\n", dir.c_str());
      continue;
    }
    std::vector<fs::path> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files.push_back(e.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                    std::istreambuf_iterator<char>());
      std::printf("replay %s (%zu bytes)\n", f.c_str(), bytes.size());
      std::fflush(stdout);
      // A non-null pointer even for an empty input, as libFuzzer passes.
      static const std::uint8_t empty = 0;
      const auto* p = bytes.empty() ? &empty : reinterpret_cast<const std::uint8_t*>(bytes.data());
      LLVMFuzzerTestOneInput(p, bytes.size());
      ++replayed;
    }
  }
  std::printf("replayed %zu inputs\n", replayed);
  return 0;
}
