// Fuzz target: ivecs bytes (funnel::parse_ivecs, also with a row limit), then the shape
// invariant and every row (as recall ground truth reads them).
#include "vecs_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto bytes = funnel::fuzz::text_of(data, size);
  funnel::fuzz::expect_typed_errors([&] {
    const auto m = funnel::parse_ivecs(bytes, "fuzz.ivecs");
    if (m.values.size() != m.rows * m.cols) __builtin_trap();
    long long sum = 0;
    for (std::size_t i = 0; i < m.rows; ++i) {
      for (const auto v : m.row(i)) sum += v;
    }
    (void)sum;
  });
  funnel::fuzz::expect_typed_errors([&] {
    funnel::vecs_options o;
    o.max_rows = 2;
    o.max_dim = 64;
    (void)funnel::parse_ivecs(bytes, "fuzz.ivecs", o);
  });
  return 0;
}
