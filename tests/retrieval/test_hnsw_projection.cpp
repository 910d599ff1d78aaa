// hnsw_index::project(): the projection bounds (retrieval/projection.hpp) against the distances
// the float kernels compute, and the bound scan against the plain exact scan on random and
// adversarial data (ties, near-duplicates far from the centre, rank-deficient data), for every
// metric and filter kind; items added later; persistence of the projection.
#include <funnel/core/random.hpp>
#include <funnel/retrieval.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "funnel_catch.hpp"
#include "retrieval/float_kernels.hpp"
#include "retrieval/hnsw_format.hpp"
#include "retrieval/projection.hpp"
#include "retrieval_test_data.hpp"

using namespace funnel;
using namespace funnel::retrieval;
using test::search_all;

namespace {

hnsw_index build(const matrix& vectors, const std::vector<std::uint64_t>& ids, metric m) {
  hnsw_index index(hnsw_options{.dim = vectors.cols(), .metric = m, .M = 8, .ef_construction = 40});
  index.add_batch(ids, vectors);
  return index;
}

std::vector<std::uint64_t> ids_of(std::size_t n) {
  std::vector<std::uint64_t> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = 500 + 3 * i;
  return ids;
}

// Adversarial sets of n vectors of dimension d.
matrix far_near_duplicates(std::size_t n, std::size_t d, rng& r) {
  // A few points far from the origin, each with near-identical copies: distances a millionth of
  // the norms, where the bound's rounding margins matter most.
  matrix v(n, d);
  std::vector<float> base(d);
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 10 == 0) {
      for (auto& b : base) b = static_cast<float>(r.normal(0.0, 1e4));
    }
    for (std::size_t j = 0; j < d; ++j) {
      v(i, j) = base[j] + static_cast<float>(r.normal(0.0, 1e-2));
    }
  }
  return v;
}

matrix exact_duplicates(std::size_t n, std::size_t d, rng& r) {
  // Groups of identical vectors: ties at every distance.
  matrix v(n, d);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < d; ++j) {
      v(i, j) = i % 7 == 0 ? static_cast<float>(j % 5) : static_cast<float>(r() % 4);
    }
  }
  return v;
}

matrix low_rank(std::size_t n, std::size_t d, rng& r) {
  // Rank 3: the fit must complete its basis with directions the data does not span.
  matrix v(n, d);
  std::vector<float> a(d), b(d), c(d);
  for (std::size_t j = 0; j < d; ++j) {
    a[j] = static_cast<float>(r.normal());
    b[j] = static_cast<float>(r.normal());
    c[j] = static_cast<float>(r.normal());
  }
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<float>(r.normal());
    const auto y = static_cast<float>(r.normal());
    const auto z = static_cast<float>(r.normal());
    for (std::size_t j = 0; j < d; ++j) v(i, j) = x * a[j] + y * b[j] + z * c[j];
  }
  return v;
}

std::string load_error(const std::string& bytes) {
  return test::hnsw_load_error(bytes, "projected.hnsw");
}

// Whether two result lists are the same up to ties at the k-th distance: the same scores rank by
// rank, and the same items wherever the score is strictly better than the last one (among items
// tied with the k-th, the plain scan's heap keeps an arbitrary one).
bool same_results(const std::vector<candidate_list>& a, const std::vector<candidate_list>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t q = 0; q < a.size(); ++q) {
    if (a[q].size() != b[q].size()) return false;
    for (std::size_t i = 0; i < a[q].size(); ++i) {
      if (a[q][i].score != b[q][i].score) return false;
      if (a[q][i].score != a[q].back().score && a[q][i].id != b[q][i].id) return false;
    }
  }
  return true;
}

// The scan results of `index` before and after project(dims), for every filter kind.
void check_scan_unchanged(hnsw_index& index, const matrix& queries, std::size_t dims) {
  const std::size_t n = index.size();
  std::vector<std::uint64_t> short_ids;
  std::vector<std::uint64_t> long_ids;
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 17 == 3) short_ids.push_back(500 + 3 * i);
    if (i % 10 < 3) long_ids.push_back(500 + 3 * i);
  }
  short_ids.push_back(7);  // an id not in the index
  const allow_list short_list(short_ids);
  const allow_list long_list(long_ids);
  const filter predicate = filter::where([](std::uint64_t id) { return id % 4 != 1; });
  search_options scan;
  scan.strategy = filter_strategy::scan;
  search_options scan_floats = scan;
  scan_floats.quantized_walk = false;
  const std::vector<filter> filters{filter{}, filter(short_list), filter(long_list), predicate};
  std::vector<std::vector<candidate_list>> before;
  for (const std::size_t k : {1, 10, 1000}) {
    for (const auto& f : filters) {
      before.push_back(search_all(index, queries, k, scan_floats, f));
      before.push_back(index.search_batch(queries, k, scan, f));
    }
  }
  index.project(dims);
  REQUIRE(index.projected_dims() == std::min(dims, index.options().dim));
  std::size_t at = 0;
  for (const std::size_t k : {1, 10, 1000}) {
    for (std::size_t fi = 0; fi < filters.size(); ++fi) {
      INFO("k " << k << ", filter " << fi);
      CHECK(same_results(search_all(index, queries, k, scan_floats, filters[fi]), before[at++]));
      CHECK(same_results(index.search_batch(queries, k, scan, filters[fi]), before[at++]));
    }
  }
}

matrix queries_near(const matrix& data, std::size_t count, rng& r, double noise) {
  matrix q(count, data.cols());
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t row = r() % data.rows();
    for (std::size_t j = 0; j < data.cols(); ++j) {
      q(i, j) = data(row, j) + static_cast<float>(r.normal(0.0, noise));
    }
  }
  return q;
}

}  // namespace

TEST_CASE("projection: the bounds never exceed the distances every float kernel computes") {
  rng r(11);
  const std::size_t d = 48;
  for (int set = 0; set < 3; ++set) {
    const matrix data = set == 0   ? test::clustered(600, d, 6, 3).vectors
                        : set == 1 ? far_near_duplicates(600, d, r)
                                   : low_rank(600, d, r);
    for (const bool centred : {true, false}) {
      std::vector<const float*> rows;
      for (std::size_t i = 0; i < data.rows(); i += 2) rows.push_back(data.row(i).data());
      for (const std::size_t m : {1, 8, 48}) {
        INFO("set " << set << ", centred " << centred << ", m " << m);
        const auto p = retrieval::detail::projection::fit(d, m, rows, centred);
        // Orthonormal rows (the constructor's check) and the sizes.
        (void)retrieval::detail::projection(
            std::vector<float>(p.centre().begin(), p.centre().end()),
            std::vector<float>(p.basis().begin(), p.basis().end()));
        REQUIRE(p.dims() == m);
        for (const auto& kernel : retrieval::detail::float_kernels()) {
          std::vector<float> records(data.rows() * p.stride());
          for (std::size_t i = 0; i < data.rows(); ++i) {
            p.project(data.row(i).data(), records.data() + i * p.stride(), kernel);
          }
          float max_norm = 0.0F;
          for (std::size_t i = 0; i < data.rows(); ++i) {
            max_norm = std::max(max_norm, records[i * p.stride() + m + 1]);
          }
          for (std::size_t i = 0; i < data.rows(); i += 13) {
            for (std::size_t j = 0; j < data.rows(); j += 3) {
              const float* qi = data.row(i).data();
              const float* xj = data.row(j).data();
              const float* rq = records.data() + i * p.stride();
              const float* rx = records.data() + j * p.stride();
              // An item at distance t has a key within the cutoff of t (so it is never skipped
              // while t is the k-th distance).
              const double l2 = kernel.l2(qi, xj, d);
              CHECK(retrieval::detail::projection_key(kernel, rq, rx, m, false) <=
                    retrieval::detail::projection_cutoff(l2, rq[m + 1], max_norm, false));
              if (!centred) {
                const double ip = 1.0 - static_cast<double>(1.0F - kernel.dot(qi, xj, d));
                CHECK(retrieval::detail::projection_key(kernel, rq, rx, m, true) <=
                      retrieval::detail::projection_cutoff(1.0 - ip, rq[m + 1], max_norm, true));
              }
            }
          }
        }
      }
    }
  }
  // Damaged records: NaN is scored exactly (the smallest key), infinity skipped.
  const auto& kernel = retrieval::detail::float_best();
  const std::vector<float> q{1.0F, 2.0F, 0.5F, 3.0F};
  const std::vector<float> nan_record{std::nanf(""), 2.0F, 0.5F, 3.0F};
  const std::vector<float> inf_record{INFINITY, 2.0F, 0.5F, 3.0F};
  CHECK(retrieval::detail::projection_key(kernel, q.data(), nan_record.data(), 2, false) ==
        -INFINITY);
  CHECK(retrieval::detail::projection_key(kernel, q.data(), inf_record.data(), 2, false) >
        retrieval::detail::projection_cutoff(1e30, 3.0, 3.0, false));
  CHECK_THROWS_AS(
      retrieval::detail::projection::fit(4, 5, std::vector<const float*>{q.data()}, true),
      invalid_argument);
  CHECK_THROWS_AS(retrieval::detail::projection({0.0F, 0.0F}, {1.0F, 1.0F}), invalid_argument);
}

TEST_CASE("hnsw_index: the projected scan returns exactly what the plain scan returns") {
  rng r(23);
  const std::size_t n = 1500;
  const std::size_t d = 40;
  for (const metric m : {metric::l2, metric::inner_product, metric::cosine}) {
    for (int set = 0; set < 4; ++set) {
      const matrix data = set == 0   ? test::clustered(n, d, 8, 5).vectors
                          : set == 1 ? far_near_duplicates(n, d, r)
                          : set == 2 ? exact_duplicates(n, d, r)
                                     : low_rank(n, d, r);
      if (m == metric::cosine && set == 2) continue;  // a zero vector has no cosine
      INFO("metric " << to_string(m) << ", set " << set);
      auto index = build(data, ids_of(n), m);
      // Queries near items (the neighbours' distances tiny beside the norms), far from them, and
      // items themselves (distance 0, ties).
      matrix queries = queries_near(data, 12, r, set == 1 ? 1e-2 : 0.5);
      for (std::size_t j = 0; j < d; ++j) {
        queries(0, j) = data(7, j);
        queries(1, j) = static_cast<float>(r.normal(0.0, 40.0));
      }
      for (const std::size_t dims : {std::size_t{6}, std::size_t{64}}) {
        auto copy = hnsw_index::deserialize(index.serialize(), "copy");
        check_scan_unchanged(copy, queries, dims);
      }
      // On a quantized index too (its plain scan reads the codes; L2 only).
      index.quantize();
      check_scan_unchanged(index, queries, 16);
    }
  }
}

TEST_CASE("hnsw_index: nodes added, replaced and deleted after project() keep the scan exact") {
  rng r(31);
  const auto data = test::clustered(1200, 24, 6, 9);
  auto index = build(data.vectors, data.ids, metric::l2);
  CHECK_THROWS_AS(index.project(0), invalid_argument);
  hnsw_index empty(hnsw_options{.dim = 24});
  CHECK_THROWS_WITH(empty.project(), ContainsSubstring("no vectors"));
  const std::size_t plain_bytes = index.bytes_per_node();
  index.project(8);
  CHECK(index.bytes_per_node() == plain_bytes + (8 + 2) * sizeof(float));
  // New items far outside the fitted data, a replacement, deletions.
  const auto more = test::clustered(300, 24, 3, 77, 900000);
  matrix shifted = more.vectors;
  for (std::size_t i = 0; i < shifted.rows(); ++i) {
    for (std::size_t j = 0; j < 24; ++j) shifted(i, j) += 25.0F;
  }
  index.add_batch(more.ids, shifted);
  index.add(data.ids[5], shifted.row(0));
  for (std::size_t i = 10; i < 60; ++i) index.remove(data.ids[i]);
  // The reference: brute force over what the index holds.
  std::vector<std::uint64_t> all_ids;
  for (const auto id : data.ids) {
    if (index.contains(id)) all_ids.push_back(id);
  }
  for (const auto id : more.ids) all_ids.push_back(id);
  search_options scan;
  scan.strategy = filter_strategy::scan;
  const matrix queries = queries_near(shifted, 10, r, 1.0);
  for (std::size_t qi = 0; qi < queries.rows(); ++qi) {
    const auto q = queries.row(qi);
    std::vector<std::pair<float, std::uint64_t>> expected;
    for (const auto id : all_ids) {
      const auto v = index.vector(id);
      double s = 0.0;
      for (std::size_t j = 0; j < 24; ++j) s += (double(q[j]) - v[j]) * (double(q[j]) - v[j]);
      expected.emplace_back(static_cast<float>(s), id);
    }
    std::sort(expected.begin(), expected.end());
    const auto got = index.search(q, 10, scan, filter::where([](std::uint64_t) { return true; }));
    REQUIRE(got.size() == 10);
    for (std::size_t i = 0; i < 10; ++i) {
      CHECK(got[i].id == expected[i].second);
      CHECK(std::abs(-got[i].score - expected[i].first) <= 1e-4F * (1.0F + expected[i].first));
    }
  }
  // Refit after the drift: the same results.
  const auto before = search_all(index, queries, 10, scan,
                                 filter::where([](std::uint64_t id) { return id % 3 != 0; }));
  index.project(12);
  CHECK(same_results(search_all(index, queries, 10, scan,
                                filter::where([](std::uint64_t id) { return id % 3 != 0; })),
                     before));
}

TEST_CASE("hnsw_index: the automatic rule scans a projected index at larger allowed shares") {
  const auto data = test::clustered(4000, 128, 10, 4);
  auto index = build(data.vectors, data.ids, metric::l2);
  std::vector<std::uint64_t> ids;
  for (std::size_t i = 0; i < data.ids.size(); i += 2) ids.push_back(data.ids[i]);
  const allow_list list(ids);  // 50%
  search_options o;
  o.ef = 40;
  CHECK(index.choose_strategy(10, o, list) == filter_strategy::graph);
  index.project(16);
  CHECK(index.choose_strategy(10, o, list) == filter_strategy::scan);
}

TEST_CASE(
    "hnsw_index: the projection is saved and loaded (copied or memory-mapped); damage is "
    "rejected") {
  namespace layout = funnel::retrieval::detail::hnsw_format;
  rng r(41);
  const auto data = test::clustered(700, 20, 5, 13);
  auto index = build(data.vectors, data.ids, metric::l2);
  std::uint32_t version = 0;
  std::uint32_t flags = 0;
  {
    const std::string plain = index.serialize();
    std::memcpy(&version, plain.data() + layout::off_version, 4);
    CHECK(version == 2);  // without a projection, older readers still read the file
  }
  index.quantize();
  index.project(6);
  const std::string bytes = index.serialize();
  std::memcpy(&version, bytes.data() + layout::off_version, 4);
  std::memcpy(&flags, bytes.data() + layout::off_flags, 4);
  CHECK(version == 3);
  CHECK(flags == (layout::flag_codes | layout::flag_projection));
  search_options scan;
  scan.strategy = filter_strategy::scan;
  const matrix queries = queries_near(data.vectors, 8, r, 0.5);
  const filter odd = filter::where([](std::uint64_t id) { return id % 2 == 1; });
  const auto expected = search_all(index, queries, 10, scan, odd);

  const auto copy = hnsw_index::deserialize(bytes, "copy");
  CHECK(copy.projected_dims() == 6);
  CHECK(copy.bytes_per_node() == index.bytes_per_node());
  CHECK(search_all(copy, queries, 10, scan, odd) == expected);
  const auto path = std::filesystem::temp_directory_path() /
                    ("funnel_projection_" + std::to_string(::getpid()) + ".hnsw");
  index.save(path);
  {
    hnsw_load_options o;
    o.memory_map = true;
    o.verify_values = false;
    auto mapped = hnsw_index::load(path, o);
    CHECK(mapped.projected_dims() == 6);
    CHECK(search_all(mapped, queries, 10, scan, odd) == expected);
    // Writes copy the mapping out; a new node is projected with the stored basis.
    mapped.add(99, queries.row(0));
    CHECK(mapped.search(queries.row(0), 1, scan, odd).front().id == 99);
  }
  std::filesystem::remove(path);

  // The projection section: [u64 m][centre][basis][records], before the CRC-32.
  const std::size_t n = 700;
  const std::size_t m = 6;
  const std::size_t d = 20;
  const std::size_t section = 8 + 4 * (d + m * d + n * (m + 2));
  const std::size_t at = bytes.size() - 4 - section;
  auto damaged = [&](auto&& change) {
    std::string b = bytes;
    change(b);
    test::reseal_hnsw(b);
    return load_error(b);
  };
  for (const std::uint64_t bad_m : {std::uint64_t{0}, std::uint64_t{21}}) {
    CHECK_THAT(damaged([&](std::string& b) { std::memcpy(b.data() + at, &bad_m, 8); }),
               ContainsSubstring("projection dimension"));
  }
  const std::uint64_t other_m = 5;  // sizes then disagree with the file
  CHECK_THAT(damaged([&](std::string& b) { std::memcpy(b.data() + at, &other_m, 8); }),
             ContainsSubstring("does not match the header"));
  CHECK_THAT(damaged([&](std::string& b) { b.erase(b.size() - 8, 4); }),
             ContainsSubstring("does not match the header"));
  const float nan = std::nanf("");
  CHECK_THAT(damaged([&](std::string& b) { std::memcpy(b.data() + at + 8, &nan, 4); }),
             ContainsSubstring("bad projection"));
  const float two = 2.0F;  // a basis value: the rows are no longer orthonormal
  CHECK_THAT(damaged([&](std::string& b) { std::memcpy(b.data() + at + 8 + 4 * d, &two, 4); }),
             ContainsSubstring("not orthonormal"));
  CHECK_THAT(damaged([&](std::string& b) {
               std::memcpy(b.data() + bytes.size() - 4 - 4 * (m + 2) * 3, &nan, 4);
             }),
             ContainsSubstring("projection value"));
  // The projection flag needs format version 3.
  const std::uint32_t two_version = 2;
  CHECK_THAT(damaged([&](std::string& b) {
               std::memcpy(b.data() + layout::off_version, &two_version, 4);
             }),
             ContainsSubstring("unknown header flags"));
}
