// Fuzz target: libsvm text (funnel::parse_libsvm), then the invariants a reader relies on (one
// label per row, qids all or none, indices below cols) and a dense copy of small results.
#include <funnel/core/libsvm.hpp>

#include "fuzz_common.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  funnel::fuzz::expect_typed_errors([&] {
    const auto d = funnel::parse_libsvm(funnel::fuzz::text_of(data, size), "fuzz.svm");
    const auto& f = d.features;
    if (d.labels.size() != f.rows()) __builtin_trap();
    if (!d.qids.empty() && d.qids.size() != f.rows()) __builtin_trap();
    for (std::size_t i = 0; i < f.rows(); ++i) {
      const auto r = f.row(i);
      for (const auto c : r.indices) {
        if (c >= f.cols) __builtin_trap();
      }
    }
    if (f.rows() * f.cols <= (std::size_t{1} << 20)) (void)f.to_dense(0.0F);
  });
  return 0;
}
