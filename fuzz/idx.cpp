// Fuzz target: IDX arrays, plain or gzipped (funnel::parse_idx), then the image and label views
// read_idx_images / read_idx_labels build from the same bytes written to a file.
#include <funnel/core/idx.hpp>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto a = funnel::parse_idx(funnel::fuzz::text_of(data, size), "fuzz.idx");
    std::size_t n = 1;
    for (const auto d : a.dims) n *= d;
    if (n != a.data.size()) __builtin_trap();  // the documented invariant
  });
  static const auto path =
      std::filesystem::temp_directory_path() / ("funnel-fuzz-idx-" + std::to_string(::getpid()));
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  funnel::fuzz::expect_typed_errors([&] { (void)funnel::read_idx_images(path, 1.0F / 255.0F); });
  funnel::fuzz::expect_typed_errors([&] { (void)funnel::read_idx_labels(path); });
  return 0;
}
