// The second translation unit of test_two_tu_a.cpp.
#include <funnel/core.hpp>

namespace funnel::test {
std::size_t two_tu_b_rows() {
  funnel::rng r(1);
  funnel::matrix m(2, 3, static_cast<float>(r.uniform()));
  return m.rows();
}
}  // namespace funnel::test
