// Fuzz target: fvecs bytes (funnel::parse_fvecs, also with a row limit), then use_vectors.
#include "vecs_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = funnel::fuzz::text_of(data, size);
  funnel::fuzz::expect_typed_errors(
      [&] { funnel::fuzz::use_vectors(funnel::parse_fvecs(bytes, "fuzz.fvecs")); });
  funnel::fuzz::expect_typed_errors([&] {
    funnel::vecs_options o;
    o.max_rows = 2;
    o.max_dim = 64;
    (void)funnel::parse_fvecs(bytes, "fuzz.fvecs", o);
  });
  return 0;
}
