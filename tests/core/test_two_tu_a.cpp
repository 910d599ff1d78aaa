// With test_two_tu_b.cpp: two translation units include every core header and are linked into
// one program. A header that defined a non-inline function or variable would break this link
// (multiple definition), so the test exists by compiling and linking.
#include <funnel/core.hpp>

#include "funnel_catch.hpp"

namespace funnel::test {
std::size_t two_tu_b_rows();  // defined in test_two_tu_b.cpp
std::size_t two_tu_a_rows() {
  return funnel::parse_libsvm("1 1:1\n", "a.svm").features.rows();
}
}  // namespace funnel::test

TEST_CASE("headers: two translation units using every core header link into one program") {
  CHECK(funnel::test::two_tu_a_rows() == 1);
  CHECK(funnel::test::two_tu_b_rows() == 2);
}
