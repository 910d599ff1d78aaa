// Fuzz target: bvecs bytes (funnel::parse_bvecs, also with a row limit), then use_vectors.
#include "vecs_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = funnel::fuzz::text_of(data, size);
  funnel::fuzz::expect_typed_errors(
      [&] { funnel::fuzz::use_vectors(funnel::parse_bvecs(bytes, "fuzz.bvecs")); });
  funnel::fuzz::expect_typed_errors([&] {
    funnel::vecs_options o;
    o.max_rows = 2;
    o.max_dim = 64;
    (void)funnel::parse_bvecs(bytes, "fuzz.bvecs", o);
  });
  return 0;
}
