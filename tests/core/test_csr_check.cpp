#include <funnel/core/error.hpp>
#include <funnel/core/views.hpp>

#include "core/csr_check.hpp"
#include "funnel_catch.hpp"

namespace {
// `rows` rows of 3 values each, columns 0, 1, 2 in every row.
funnel::csr_matrix rows_of_three(std::size_t rows) {
  funnel::csr_matrix x;
  x.cols = 3;
  for (std::size_t i = 0; i < rows; ++i) {
    for (std::uint32_t c = 0; c < 3; ++c) {
      x.indices.push_back(c);
      x.values.push_back(1.0F);
    }
    x.row_ptr.push_back(x.values.size());
  }
  return x;
}
}  // namespace

TEST_CASE("csr_check: a well-formed matrix passes, sorted or not") {
  const auto x = rows_of_three(6);
  CHECK_NOTHROW(funnel::detail::check_csr(x, "core.test", "x", true));
  CHECK_NOTHROW(funnel::detail::check_csr(x, "core.test", "x", false));
}

TEST_CASE(
    "csr_check: a lying row_ptr is named as such, not as the columns it makes look unsorted") {
  // Attack report L13 (40 rows of 3 values, row_ptr[5] = 100 <= 120 stored values): row 4 then
  // spans the values of rows 4 to 32, whose columns restart at 0; the message blamed the columns.
  auto x = rows_of_three(40);
  x.row_ptr[5] = 100;  // 0 3 6 9 12 100 18 ...: decreases from row 5 to row 6
  for (const bool sorted : {true, false}) {
    CHECK_THROWS_AS(funnel::detail::check_csr(x, "core.test", "x", sorted),
                    funnel::dimension_mismatch);
    CHECK_THROWS_WITH(funnel::detail::check_csr(x, "core.test", "x", sorted),
                      ContainsSubstring("x: csr row_ptr at row 5 goes from 100 to 18"));
  }
  // A column out of range after a lying row_ptr: still the row_ptr is named.
  x.indices[20] = 7;
  CHECK_THROWS_WITH(funnel::detail::check_csr(x, "core.test", "x", true),
                    ContainsSubstring("row_ptr at row 5"));
  // With row_ptr sound, the columns are checked and named.
  auto y = rows_of_three(40);
  y.indices[20] = 7;
  CHECK_THROWS_WITH(funnel::detail::check_csr(y, "core.test", "y", false),
                    ContainsSubstring("y: row 6 has column 7, not below its 3 columns"));
  auto z = rows_of_three(40);
  std::swap(z.indices[15], z.indices[16]);
  CHECK_THROWS_WITH(funnel::detail::check_csr(z, "core.test", "z", true),
                    ContainsSubstring("z: row 5 has column 0 after column 1"));
  CHECK_NOTHROW(funnel::detail::check_csr(z, "core.test", "z", false));
}
