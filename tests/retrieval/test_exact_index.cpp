// A third translation unit using the retrieval headers (see the note in test_hnsw_index.cpp).
#include <funnel/retrieval.hpp>

#include <algorithm>
#include <limits>
#include <numeric>

#include "funnel_catch.hpp"
#include "retrieval_test_data.hpp"

using namespace funnel;
using namespace funnel::retrieval;

namespace {
// Naive definition, independent of the GEMM path.
candidate_list naive(const test::vector_set& d, row_view q, std::size_t k, metric m) {
  candidate_list all;
  for (std::size_t i = 0; i < d.ids.size(); ++i) {
    const auto x = d.vectors.row(i);
    double dot = 0, nx = 0, nq = 0, l2 = 0;
    for (std::size_t j = 0; j < x.size(); ++j) {
      dot += double(x[j]) * q[j];
      nx += double(x[j]) * x[j];
      nq += double(q[j]) * q[j];
      l2 += (double(x[j]) - q[j]) * (double(x[j]) - q[j]);
    }
    const double s = m == metric::l2              ? -l2
                     : m == metric::inner_product ? dot
                                                  : dot / std::sqrt(nx * nq);
    all.push_back({d.ids[i], static_cast<float>(s)});
  }
  std::stable_sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.score > b.score; });
  all.resize(std::min(k, all.size()));
  return all;
}
}  // namespace

TEST_CASE("exact_index: agrees with the naive definition for every metric") {
  const auto d = test::clustered(700, 12, 6, 41);
  const auto queries = test::clustered(20, 12, 6, 41, 0).vectors;
  for (const auto m : {metric::l2, metric::inner_product, metric::cosine}) {
    const exact_index index(d.ids, d.vectors, m);
    const auto batch = index.search_batch(queries, 7);
    for (std::size_t i = 0; i < queries.rows(); ++i) {
      const auto want = naive(d, queries.row(i), 7, m);
      REQUIRE(batch[i].size() == 7);
      CHECK(metrics::recall_at_k(std::span(&batch[i], 1), std::span(&want, 1), 7) == 1.0);
      for (std::size_t j = 0; j < 7; ++j) {
        CHECK_THAT(batch[i][j].score,
                   WithinAbs(want[j].score, 1e-3 * (1 + std::abs(want[j].score))));
      }
      const auto single = index.search(queries.row(i), 7);  // GEMV path: same ids, same scores
      REQUIRE(single.size() == 7);
      for (std::size_t j = 0; j < 7; ++j) {
        CHECK(single[j].id == batch[i][j].id);
        CHECK_THAT(single[j].score,
                   WithinAbs(batch[i][j].score, 1e-4 * (1 + std::abs(batch[i][j].score))));
      }
    }
  }
}

TEST_CASE("exact_index: filters and k larger than the catalog") {
  const auto d = test::clustered(50, 4, 2, 43);
  const exact_index index(d.ids, d.vectors, metric::l2);
  CHECK(index.search(d.vectors.row(0), 100).size() == 50);
  const auto odd = [](std::uint64_t id) { return id % 2 == 1; };
  for (const auto& c : index.retrieve(d.vectors.row(0), 100, odd)) CHECK(c.id % 2 == 1);
  const std::uint64_t two[] = {d.ids[4], d.ids[9]};
  CHECK(index.search(d.vectors.row(0), 5, allow_list(two)).size() == 2);
  CHECK_THROWS_AS(exact_index(std::span(d.ids).first(3), d.vectors, metric::l2),
                  dimension_mismatch);
  CHECK_THROWS_AS((void)index.search(std::vector<float>(5, 0.0F), 3), dimension_mismatch);
}

TEST_CASE("allow_list: membership, duplicates and the all-ones id") {
  const std::uint64_t ids[] = {5, 5, ~std::uint64_t{0}, 0, 1ULL << 63};
  const allow_list l(ids);
  CHECK(l.size() == 4);
  CHECK(l.contains(5));
  CHECK(l.contains(0));
  CHECK(l.contains(~std::uint64_t{0}));
  CHECK(l.contains(1ULL << 63));
  CHECK_FALSE(l.contains(6));
  CHECK_FALSE(allow_list().contains(0));
}

TEST_CASE("exact_index: removed ids are never returned, re-adding works, add replaces") {
  const auto d = test::clustered(200, 6, 4, 47);
  for (const auto m : {metric::l2, metric::inner_product, metric::cosine}) {
    CAPTURE(static_cast<int>(m));
    exact_index index(d.ids, d.vectors, m);
    // Remove every third item; no query (batch or single, filtered or not) returns one of them.
    std::vector<std::uint64_t> removed;
    for (std::size_t i = 0; i < d.ids.size(); i += 3) {
      index.remove(d.ids[i]);
      removed.push_back(d.ids[i]);
    }
    CHECK(index.size() == d.ids.size() - removed.size());
    const allow_list gone(removed);
    for (std::size_t i = 0; i < d.ids.size(); i += 7) {
      const auto all = index.search(d.vectors.row(i), 200);
      CHECK(all.size() == index.size());
      for (const auto& c : all) CHECK_FALSE(gone.contains(c.id));
      CHECK(index.search(d.vectors.row(i), 5, allow_list(removed)).empty());
    }
    // The survivors' answers equal a fresh index over the survivors (same ids, same order).
    std::vector<std::uint64_t> kept_ids;
    std::vector<float> kept_values;
    for (std::size_t i = 0; i < d.ids.size(); ++i) {
      if (i % 3 == 0) continue;
      kept_ids.push_back(d.ids[i]);
      const auto r = d.vectors.row(i);
      kept_values.insert(kept_values.end(), r.begin(), r.end());
    }
    const exact_index fresh(kept_ids, matrix_view(kept_values.data(), kept_ids.size(), 6), m);
    for (std::size_t i = 0; i < 20; ++i) {
      CHECK(index.search(d.vectors.row(i), 10) == fresh.search(d.vectors.row(i), 10));
    }
    // Re-adding a removed id makes it searchable again: its own vector finds it first.
    index.add(d.ids[0], d.vectors.row(0));
    CHECK(index.contains(d.ids[0]));
    const auto all = index.search(d.vectors.row(0), index.size());
    CHECK(
        std::any_of(all.begin(), all.end(), [&](const candidate& c) { return c.id == d.ids[0]; }));
    if (m != metric::inner_product) {
      CHECK(index.search(d.vectors.row(0), 1).front().id == d.ids[0]);
    }
    // add on a live id replaces its vector: it is now found from item 1's vector.
    if (m != metric::inner_product) {
      index.add(d.ids[4], d.vectors.row(1));  // ids[4] is live: replaced
      const auto near1 = index.search(d.vectors.row(1), 2);
      CHECK(std::any_of(near1.begin(), near1.end(),
                        [&](const candidate& c) { return c.id == d.ids[4]; }));
    }
    CHECK_THROWS_AS(index.remove(d.ids[6]), not_found);  // removed above, not re-added
    CHECK_THROWS_AS(index.add(1u << 30, std::vector<float>(5, 1.0F)), dimension_mismatch);
    CHECK_THROWS_AS(
        index.add(1u << 30, std::vector<float>(6, std::numeric_limits<float>::quiet_NaN())),
        invalid_argument);
    CHECK_FALSE(index.contains(1u << 30));  // a rejected add leaves nothing behind
  }
  // Removing everything leaves an empty, searchable index.
  exact_index small(std::span(d.ids).first(2), d.vectors.view().middle_rows(0, 2), metric::l2);
  small.remove(d.ids[0]);
  small.remove(d.ids[1]);
  CHECK(small.size() == 0);
  CHECK(small.search(d.vectors.row(0), 3).empty());
  small.add(9, d.vectors.row(5));
  CHECK(small.search(d.vectors.row(5), 3) == candidate_list{{9, -0.0F}});
}
