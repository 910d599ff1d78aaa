#include <funnel/core/views.hpp>

#include <cmath>

#include "funnel_catch.hpp"

TEST_CASE("matrix_view: rows, elements and the Eigen map share the caller's memory") {
  std::vector<float> data{1, 2, 3, 4, 5, 6};
  funnel::matrix_view v(std::span<const float>(data), 2, 3);
  CHECK(v.rows() == 2);
  CHECK(v.cols() == 3);
  CHECK(v(1, 2) == 6.0F);
  CHECK(v.row(1)[0] == 4.0F);
  auto e = v.as_eigen();
  CHECK(e(1, 1) == 5.0F);
  CHECK(e.data() == data.data());
  CHECK(v.middle_rows(1, 1)(0, 0) == 4.0F);
}

TEST_CASE("matrix_view: a stride skips padding between rows") {
  std::vector<float> data{1, 2, -1, 3, 4, -1};
  funnel::matrix_view v(data.data(), 2, 2, 3);
  CHECK(v(1, 1) == 4.0F);
  CHECK(v.as_eigen()(1, 0) == 3.0F);
  CHECK_THROWS_AS(funnel::matrix_view(data.data(), 2, 3, 2), funnel::dimension_mismatch);
}

TEST_CASE("matrix_view: a span of the wrong size is rejected") {
  std::vector<float> data(5);
  CHECK_THROWS_AS(funnel::matrix_view(std::span<const float>(data), 2, 3),
                  funnel::dimension_mismatch);
}

TEST_CASE("matrix: owns its values, appends rows of its width only") {
  funnel::matrix m;
  std::vector<float> r1{1, 2};
  std::vector<float> r2{3, 4};
  std::vector<float> bad{5};
  m.push_row(r1);
  m.push_row(r2);
  CHECK(m.rows() == 2);
  CHECK(m(1, 0) == 3.0F);
  CHECK_THROWS_AS(m.push_row(bad), funnel::dimension_mismatch);
  funnel::matrix_view v = m;
  CHECK(v(0, 1) == 2.0F);
  CHECK_THROWS_AS(funnel::matrix(std::vector<float>(3), 2, 2), funnel::dimension_mismatch);
}

TEST_CASE("csr_matrix: dense copy marks absent entries") {
  funnel::csr_matrix s;
  s.cols = 3;
  s.indices = {0, 2, 1};
  s.values = {1, 2, 3};
  s.row_ptr = {0, 2, 3};
  CHECK(s.rows() == 2);
  auto d = s.to_dense(std::nanf(""));
  CHECK(d(0, 0) == 1.0F);
  CHECK(std::isnan(d(0, 1)));
  CHECK(d(1, 1) == 3.0F);
  CHECK(s.row(0).indices.size() == 2);
}
