#include "core/csr_check.hpp"

#include <funnel/core/error.hpp>

#include <algorithm>

namespace funnel::detail {

void check_csr(const csr_matrix& x, std::string_view where, std::string_view what, bool sorted) {
  if (x.row_ptr.empty() || x.row_ptr.front() != 0) {
    raise<dimension_mismatch>(where, "{}: csr row_ptr must start with 0", what);
  }
  if (x.indices.size() != x.values.size() || x.row_ptr.back() != x.values.size()) {
    raise<dimension_mismatch>(where,
                              "{}: csr sizes disagree: row_ptr ends at {}, {} indices, {} values",
                              what, x.row_ptr.back(), x.indices.size(), x.values.size());
  }
  // The whole of row_ptr first: a row_ptr that jumps ahead and comes back makes a row span other
  // rows' values, whose columns would then be blamed for the fault.
  for (std::size_t i = 0; i + 1 < x.row_ptr.size(); ++i) {
    if (x.row_ptr[i + 1] < x.row_ptr[i] || x.row_ptr[i + 1] > x.values.size()) {
      raise<dimension_mismatch>(where,
                                "{}: csr row_ptr at row {} goes from {} to {}: it must not "
                                "decrease nor pass the {} stored values",
                                what, i, x.row_ptr[i], x.row_ptr[i + 1], x.values.size());
    }
  }
  for (std::size_t i = 0; i + 1 < x.row_ptr.size(); ++i) {
    for (std::size_t k = x.row_ptr[i]; k < x.row_ptr[i + 1]; ++k) {
      if (x.indices[k] >= x.cols) {
        raise<dimension_mismatch>(where, "{}: row {} has column {}, not below its {} columns", what,
                                  i, x.indices[k], x.cols);
      }
      if (sorted && k > x.row_ptr[i] && x.indices[k] <= x.indices[k - 1]) {
        raise<dimension_mismatch>(where,
                                  "{}: row {} has column {} after column {} (columns must "
                                  "increase within a row)",
                                  what, i, x.indices[k], x.indices[k - 1]);
      }
    }
  }
}

void check_trainable_width(const csr_matrix& x, std::string_view where, std::string_view what) {
  constexpr std::size_t floor = std::size_t{1} << 20;
  constexpr std::size_t per_value = 64;
  const std::size_t limit = std::max(floor, per_value * (x.nonzeros() + x.rows()));
  if (x.cols > limit) {
    raise<invalid_argument>(where,
                            "{}: {} columns for {} stored values in {} rows; at most max({}, {} x "
                            "(values + rows)) = {} (renumber the columns that hold values)",
                            what, x.cols, x.nonzeros(), x.rows(), floor, per_value, limit);
  }
}

}  // namespace funnel::detail
