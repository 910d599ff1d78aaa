#include <funnel/core/random.hpp>
#include <funnel/rerank.hpp>

#include <algorithm>
#include <numeric>
#include <vector>

#include "funnel_catch.hpp"

namespace rr = funnel::rerank;

namespace {
std::vector<std::uint64_t> ids_of(const rr::slate& s) {
  std::vector<std::uint64_t> out;
  for (const auto& e : s.entries()) out.push_back(e.item.id);
  return out;
}
}  // namespace

TEST_CASE("mmr: lambda = 1 gives relevance order on every random slate") {
  funnel::rng r(11);
  for (int rep = 0; rep < 20; ++rep) {
    const std::size_t n = 50;
    const std::size_t d = 8;
    funnel::candidate_list c;
    for (std::size_t i = 0; i < n; ++i) {
      c.push_back({i, static_cast<float>(r.uniform())});
    }
    std::vector<float> emb(n * d);
    for (auto& x : emb) x = static_cast<float>(r.normal());
    rr::slate s(c);
    s.set_embeddings(funnel::matrix_view(emb, n, d));
    rr::mmr({.lambda = 1.0}).rerank(s, {.k = 20});
    auto expected = c;
    std::stable_sort(expected.begin(), expected.end(),
                     [](const auto& a, const auto& b) { return a.score > b.score; });
    const auto got = s.candidates();
    REQUIRE(got.size() == n);
    for (std::size_t i = 0; i < 20; ++i) REQUIRE(got[i].id == expected[i].id);
  }
}

TEST_CASE("mmr: a near-duplicate is pushed below a dissimilar item (hand-computed)") {
  // A(1.0,[1,0]) B(0.9,[1,0]) C(0.5,[0,1]), lambda 0.5:
  // step 2: B = 0.5*0.9 - 0.5*1 = -0.05, C = 0.5*0.5 - 0 = 0.25 -> C before B.
  const funnel::candidate_list c{{1, 1.0F}, {2, 0.9F}, {3, 0.5F}};
  const std::vector<float> emb{1, 0, 1, 0, 0, 1};
  rr::slate s(c);
  s.set_embeddings(funnel::matrix_view(emb, 3, 2));
  rr::mmr({.lambda = 0.5}).rerank(s, {});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{1, 3, 2});
  const auto t = s.trace();
  CHECK(t[1].final_rank == 2);
  CHECK(t[1].has(rr::rule::mmr));
  CHECK(t[2].final_rank == 1);
  CHECK_FALSE(t[0].has(rr::rule::mmr));
}

TEST_CASE("mmr: similarity callback gives the same order as cosine embeddings") {
  funnel::rng r(5);
  const std::size_t n = 40;
  const std::size_t d = 6;
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform())});
  std::vector<float> emb(n * d);
  for (auto& x : emb) x = static_cast<float>(r.normal());
  for (std::size_t i = 0; i < n; ++i) {  // normalise so that dot == cosine
    float sq = 0;
    for (std::size_t j = 0; j < d; ++j) sq += emb[i * d + j] * emb[i * d + j];
    for (std::size_t j = 0; j < d; ++j) emb[i * d + j] /= std::sqrt(sq);
  }
  rr::slate a(c);
  a.set_embeddings(funnel::matrix_view(emb, n, d));
  rr::mmr({.lambda = 0.6, .similarity = rr::similarity_kind::dot}).rerank(a, {.k = 15});
  rr::slate b(c);
  b.set_similarity([&](std::size_t i, std::size_t j) {
    double acc = 0;
    for (std::size_t t = 0; t < d; ++t) acc += static_cast<double>(emb[i * d + t]) * emb[j * d + t];
    return static_cast<float>(acc);
  });
  rr::mmr({.lambda = 0.6}).rerank(b, {.k = 15});
  const auto x = ids_of(a);
  const auto y = ids_of(b);
  CHECK(std::equal(x.begin(), x.begin() + 15, y.begin()));
}

TEST_CASE("mmr: lambda outside [0, 1] and a slate without similarity are typed errors") {
  CHECK_THROWS_AS(rr::mmr({.lambda = 1.5}), funnel::invalid_argument);
  rr::slate s(funnel::candidate_list{{1, 1.0F}, {2, 0.5F}});
  CHECK_THROWS_WITH(rr::mmr().rerank(s, {}), ContainsSubstring("neither embeddings"));
}

TEST_CASE("mmr: embeddings selected through a row index view") {
  // Items 0 and 1 share embedding row 0; item 2 uses row 1.
  const std::vector<float> table{1, 0, 0, 1};
  const std::vector<std::uint32_t> rows{0, 0, 1};
  rr::slate s(funnel::candidate_list{{10, 1.0F}, {11, 0.95F}, {12, 0.6F}});
  s.set_embeddings(funnel::matrix_view(table, 2, 2), rows);
  rr::mmr({.lambda = 0.5}).rerank(s, {});
  CHECK(ids_of(s) == std::vector<std::uint64_t>{10, 12, 11});
  const std::vector<std::uint32_t> bad{0, 0, 2};
  CHECK_THROWS_AS(s.set_embeddings(funnel::matrix_view(table, 2, 2), bad),
                  funnel::invalid_argument);
}

TEST_CASE("mmr: lazy greedy equals the eager textbook MMR on random slates, every lambda") {
  funnel::rng r(21);
  for (int rep = 0; rep < 12; ++rep) {
    const std::size_t n = 80;
    const std::size_t d =
        3 + r.below(10);  // d = 1 makes every cosine +-1: ties decided by rounding
    const std::size_t k = 1 + r.below(n);
    funnel::candidate_list c;
    for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform())});
    std::vector<float> emb(n * d);
    for (auto& x : emb) x = static_cast<float>(r.normal());
    for (const double lambda : {0.0, 0.3, 0.5, 0.8, 1.0}) {
      for (const auto kind : {rr::similarity_kind::cosine, rr::similarity_kind::dot}) {
        // eager reference in double: argmax of lambda*rel - (1-lambda)*max sim, ties to earlier
        auto sim = [&](std::size_t i, std::size_t j) {
          double dot = 0, ni = 0, nj = 0;
          for (std::size_t t = 0; t < d; ++t) {
            dot += static_cast<double>(emb[i * d + t]) * emb[j * d + t];
            ni += static_cast<double>(emb[i * d + t]) * emb[i * d + t];
            nj += static_cast<double>(emb[j * d + t]) * emb[j * d + t];
          }
          return kind == rr::similarity_kind::cosine ? dot / std::sqrt(ni * nj) : dot;
        };
        std::vector<std::size_t> picks;
        std::vector<char> used(n, 0);
        while (picks.size() < k) {
          std::size_t best = n;
          double bv = 0;
          for (std::size_t i = 0; i < n; ++i) {
            if (used[i]) continue;
            double v = lambda * c[i].score;
            if (!picks.empty()) {
              double ms = -1e300;
              for (auto p : picks) ms = std::max(ms, sim(i, p));
              v -= (1 - lambda) * ms;
            }
            if (best == n || v > bv) {
              bv = v;
              best = i;
            }
          }
          used[best] = 1;
          picks.push_back(best);
        }
        rr::slate s(c);
        s.set_embeddings(funnel::matrix_view(emb, n, d));
        rr::mmr({.lambda = lambda, .similarity = kind}).rerank(s, {.k = k});
        INFO("rep " << rep << " lambda " << lambda << " d " << d << " k " << k);
        for (std::size_t i = 0; i < k; ++i) REQUIRE(s.entries()[i].origin == picks[i]);
        REQUIRE(s.size() == n);
      }
    }
  }
}
