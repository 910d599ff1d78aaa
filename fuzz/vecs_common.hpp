#pragma once
// What the vecs fuzz targets do with a parsed matrix: check its shape and, when small, build an
// exact index over it and search it with its first row (as a recall ground truth would).

#include <funnel/core/vecs.hpp>
#include <funnel/retrieval/exact_index.hpp>

#include <numeric>
#include <vector>

#include "fuzz_common.hpp"

namespace funnel::fuzz {

inline void use_vectors(const matrix& m) {
  if (m.rows() * m.cols() > (std::size_t{1} << 20) || m.rows() == 0 || m.cols() == 0) return;
  std::vector<std::uint64_t> ids(m.rows());
  std::iota(ids.begin(), ids.end(), std::uint64_t{0});
  for (const auto metric : {retrieval::metric::l2, retrieval::metric::cosine}) {
    expect_typed_errors([&] {
      const retrieval::exact_index index(ids, m.view(), metric);
      (void)index.search(row_view(m.data(), m.cols()), 3);
    });
  }
}

}  // namespace funnel::fuzz
