// The float distance kernels chosen at run time (retrieval/float_kernels.hpp): each kernel this CPU
// runs against a double-precision reference on odd dimensions, exactly equal on integer-valued
// vectors, the selection by name, and the graph walk on them against hnswlib's own searchKnn.
#include <funnel/core/random.hpp>
#include <funnel/retrieval.hpp>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>

#include "funnel_catch.hpp"
#include "retrieval/float_kernels.hpp"
#include "retrieval/hnsw_reference.hpp"
#include "retrieval/sq8.hpp"
#include "retrieval_test_data.hpp"
#include "simd/isa.hpp"

using namespace funnel;
using namespace funnel::retrieval;
namespace rd = funnel::retrieval::detail;

namespace {

constexpr std::size_t odd_dims[] = {1, 7, 15, 16, 17, 31, 33, 784, 1000};

// Vectors of exactly `n` floats (no slack after them), as the walk's rows are.
std::vector<float> random_vector(rng& r, std::size_t n, bool integers) {
  std::vector<float> v(n);
  for (float& x : v) {
    x = integers ? static_cast<float>(r() % 31) - 15.0F : static_cast<float>(r.normal(0.0, 1.0));
  }
  return v;
}

struct reference {
  double l2 = 0.0;
  double dot = 0.0;
  double magnitude = 0.0;  // sum of |terms|: the scale of the rounding error
};

reference reference_sums(const std::vector<float>& a, const std::vector<float>& b) {
  reference s;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = static_cast<double>(a[i]) - static_cast<double>(b[i]);
    const double p = static_cast<double>(a[i]) * static_cast<double>(b[i]);
    s.l2 += d * d;
    s.dot += p;
    s.magnitude += d * d + std::abs(p);
  }
  return s;
}

}  // namespace

TEST_CASE("float kernels: every kernel this CPU runs matches a double reference on odd dimensions",
          "[float_kernels]") {
  rng r(11);
  const auto kernels = rd::float_kernels();
  REQUIRE(kernels.front().name == "portable");
  INFO("kernels: " << kernels.size() << ", searches use " << rd::float_best().name);
  for (const std::size_t n : odd_dims) {
    for (int trial = 0; trial < 5; ++trial) {
      const auto a = random_vector(r, n, false);
      const auto b = random_vector(r, n, false);
      const reference ref = reference_sums(a, b);
      // Any summation order of n float terms errs by at most about n * 2^-24 of their magnitude.
      const double tolerance = static_cast<double>(n + 2) * 6e-8 * ref.magnitude;
      for (const auto& k : kernels) {
        CAPTURE(k.name, n, trial);
        CHECK(std::abs(static_cast<double>(k.l2(a.data(), b.data(), n)) - ref.l2) <= tolerance);
        CHECK(std::abs(static_cast<double>(k.dot(a.data(), b.data(), n)) - ref.dot) <= tolerance);
      }
    }
  }
}

TEST_CASE(
    "float kernels: on integer-valued vectors every kernel is exact, so all agree bit for bit",
    "[float_kernels]") {
  rng r(12);
  for (const std::size_t n : odd_dims) {
    const auto a = random_vector(r, n, true);
    const auto b = random_vector(r, n, true);
    const reference ref = reference_sums(a, b);
    for (const auto& k : rd::float_kernels()) {
      CAPTURE(k.name, n);
      CHECK(k.l2(a.data(), b.data(), n) == static_cast<float>(ref.l2));
      CHECK(k.dot(a.data(), b.data(), n) == static_cast<float>(ref.dot));
    }
  }
  // Empty vectors: every kernel returns 0.
  for (const auto& k : rd::float_kernels()) CHECK(k.l2(nullptr, nullptr, 0) == 0.0F);
}

TEST_CASE("float kernels: the bounded L2 equals the full sum below the bound, stops at or above it",
          "[float_kernels]") {
  rng r(13);
  for (const std::size_t n : odd_dims) {
    const auto a = random_vector(r, n, false);
    const auto b = random_vector(r, n, false);
    for (const auto& k : rd::float_kernels()) {
      CAPTURE(k.name, n);
      const float full = k.l2(a.data(), b.data(), n);
      // Below the bound: the same bits as the unbounded kernel.
      CHECK(k.l2_bounded(a.data(), b.data(), n, full * 1.0001F + 1e-30F) == full);
      CHECK(k.l2_bounded(a.data(), b.data(), n, std::numeric_limits<float>::infinity()) == full);
      // At or above: some partial sum, never below the bound nor above the full sum.
      for (const float fraction : {1.0F, 0.5F, 0.05F}) {
        const float bound = full * fraction;
        const float got = k.l2_bounded(a.data(), b.data(), n, bound);
        CHECK(got >= bound);
        CHECK(got <= full);
      }
    }
  }
}

TEST_CASE("kernel choice: selection by name, falling back to the widest the CPU runs",
          "[float_kernels]") {
  namespace fd = funnel::detail;
  const auto available = fd::isa_available();
  const fd::isa_kernels* widest = available.empty() ? nullptr : available.back();
  CHECK(fd::isa_named("portable") == nullptr);
  CHECK(fd::isa_named("") == widest);
  CHECK(fd::isa_named("no such kernel") == widest);
  bool has_avx512 = false;
  for (const auto* isa : available) has_avx512 = has_avx512 || isa == fd::isa_avx512();
  CHECK(fd::isa_named("avx512") == (has_avx512 ? fd::isa_avx512() : widest));
  // Each module's list: the portable kernel, then one per available table, in that order.
  const auto kernels = rd::float_kernels();
  REQUIRE(kernels.size() == available.size() + 1);
  CHECK(kernels.front().name == "portable");
  for (std::size_t i = 0; i < available.size(); ++i) {
    CHECK(kernels[i + 1].name == available[i]->floats->name);
    CHECK(rd::sq8_kernels()[i + 1].name == available[i]->sq8->name);
  }
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  // Both instruction-set tables are compiled into every x86-64 build, whatever the build's -march;
  // which of them run depends on the CPU only.
  REQUIRE(fd::isa_avx2() != nullptr);
  REQUIRE(fd::isa_avx512() != nullptr);
  CHECK(fd::isa_avx2()->floats->name == "avx2");
  CHECK(fd::isa_avx512()->floats->name == "avx512");
  if (__builtin_cpu_supports("avx2") != 0 && __builtin_cpu_supports("fma") != 0) {
    CHECK(fd::isa_named("avx2") == fd::isa_avx2());
  }
#endif
}

TEST_CASE("float kernels: the walk on integer-valued vectors equals hnswlib's searchKnn",
          "[float_kernels]") {
  // Integer coordinates make every distance exact in float, so the run-time kernel's walk must
  // return what hnswlib's SSE walk returns on the same graph: the same distances, bit for bit.
  for (const metric m : {metric::l2, metric::inner_product}) {
    auto data = test::clustered(1500, 24, 12, 31);
    for (std::size_t i = 0; i < data.vectors.size(); ++i) {
      data.vectors.data()[i] = std::round(data.vectors.data()[i]);
    }
    auto queries = test::clustered(60, 24, 12, 32);
    for (std::size_t i = 0; i < queries.vectors.size(); ++i) {
      queries.vectors.data()[i] = std::round(queries.vectors.data()[i]);
    }
    hnsw_index index(hnsw_options{.dim = 24, .metric = m, .M = 12, .ef_construction = 80});
    index.add_batch(data.ids, data.vectors, 1);
    for (const std::size_t ef : {10, 40}) {
      for (std::size_t q = 0; q < queries.vectors.rows(); ++q) {
        CAPTURE(static_cast<int>(m), ef, q);
        const auto ours = index.search(queries.vectors.row(q), 10, {.ef = ef});
        const auto theirs = rd::raw_search_knn(index, queries.vectors.row(q).data(), 10, ef);
        REQUIRE(ours.size() == theirs.size());
        for (std::size_t i = 0; i < ours.size(); ++i) {
          const float score = m == metric::l2 ? -theirs[i].first : 1.0F - theirs[i].first;
          CHECK(ours[i].score == score);
        }
      }
    }
  }
}

TEST_CASE("float kernels: FUNNEL_FLOAT_KERNEL picks the kernel searches use", "[float_kernels]") {
  // ctest runs the [float_kernels] tests again with FUNNEL_FLOAT_KERNEL=portable
  // (tests/retrieval/extra.cmake), so the walk test above also runs on the portable kernel.
  const char* requested = std::getenv("FUNNEL_FLOAT_KERNEL");
  INFO("FUNNEL_FLOAT_KERNEL=" << (requested == nullptr ? "(unset)" : requested));
  const auto* isa = funnel::detail::isa_from_env("FUNNEL_FLOAT_KERNEL", "avx2");
  CHECK(rd::float_best().name == (isa != nullptr ? isa->floats->name : "portable"));
  if (requested == nullptr) {
    // Unset: AVX2 where this CPU runs it (see float_best), else the widest.
    bool has_avx2 = false;
    for (const auto& k : rd::float_kernels())
      has_avx2 = has_avx2 || std::string_view(k.name) == "avx2";
    CHECK(rd::float_best().name ==
          std::string_view(has_avx2 ? "avx2" : rd::float_kernels().back().name));
  }
}
