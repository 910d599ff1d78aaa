// Fuzz target: streaming change detectors and the sequential test (drift::adwin, page_hinkley,
// ddm, experiments::msprt ::from_json; the document's type picks which one accepts it), then a
// stream of updates including extremes, and a JSON round trip that must reproduce the state.
#include <funnel/drift/detectors.hpp>
#include <funnel/experiments/sequential.hpp>

#include <cstdlib>
#include <limits>

#include "fuzz_common.hpp"

namespace {

constexpr double stream[] = {0.0, 1.0, 0.5, -1.0, 1e300, -1e300, 3.0, 0.25, 0.0, 1.0, 1.0, 0.0};

/// A restored object must write the document it was restored from (the state round-trips).
template <class D>
void round_trip(const D& d) {
  const auto j = d.to_json();
  if (D::from_json(j).to_json() != j) std::abort();
}

template <class D, class Feed>
void use(D d, Feed feed) {
  round_trip(d);
  for (int rep = 0; rep < 8; ++rep) {
    for (const double x : stream) funnel::fuzz::expect_typed_errors([&] { feed(d, x); });
  }
  round_trip(d);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace fd = funnel::drift;
  funnel::fuzz::expect_typed_errors([&] {
    const auto j = funnel::fuzz::json_of(data, size);
    funnel::fuzz::expect_typed_errors([&] {
      use(fd::adwin::from_json(j), [](fd::adwin& d, double x) {
        (void)d.update(x);
        (void)d.estimation();
        (void)d.variance();
      });
    });
    funnel::fuzz::expect_typed_errors([&] {
      use(fd::page_hinkley::from_json(j), [](fd::page_hinkley& d, double x) {
        (void)d.update(x);
        (void)d.increase_statistic();
      });
    });
    funnel::fuzz::expect_typed_errors(
        [&] { use(fd::ddm::from_json(j), [](fd::ddm& d, double x) { (void)d.update(x > 0.4); }); });
    funnel::fuzz::expect_typed_errors([&] {
      use(funnel::experiments::msprt::from_json(j), [](funnel::experiments::msprt& t, double x) {
        t.add_a(x);
        t.add_b(x * 0.5);
        (void)t.look();
      });
    });
  });
  return 0;
}
