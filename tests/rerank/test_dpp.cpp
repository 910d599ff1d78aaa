#include <funnel/core/random.hpp>
#include <funnel/rerank.hpp>

#include <Eigen/Dense>

#include <cmath>
#include <limits>
#include <vector>

#include "funnel_catch.hpp"

namespace rr = funnel::rerank;

namespace {

// Slow reference: at every step recompute log det of the (windowed) selection plus each
// candidate from scratch with Eigen's LLT, pick the largest; stop when the best marginal gain
// det(L_{W+i}) / det(L_W) falls below min_gain * max diag.
std::vector<std::size_t> slow_greedy(const Eigen::MatrixXd& l, std::size_t k, std::size_t window,
                                     double min_gain, std::vector<double>* gains = nullptr) {
  const auto n = static_cast<std::size_t>(l.rows());
  std::vector<std::size_t> picked;
  std::vector<char> used(n, 0);
  const double threshold = min_gain * l.diagonal().maxCoeff();
  auto logdet = [&](const std::vector<std::size_t>& idx) {
    if (idx.empty()) return 0.0;
    Eigen::MatrixXd sub(idx.size(), idx.size());
    for (std::size_t a = 0; a < idx.size(); ++a) {
      for (std::size_t b = 0; b < idx.size(); ++b) {
        sub(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) =
            l(static_cast<Eigen::Index>(idx[a]), static_cast<Eigen::Index>(idx[b]));
      }
    }
    Eigen::LLT<Eigen::MatrixXd> llt(sub);
    if (llt.info() != Eigen::Success) return -std::numeric_limits<double>::infinity();
    return 2.0 * llt.matrixL().toDenseMatrix().diagonal().array().log().sum();
  };
  while (picked.size() < k) {
    std::vector<std::size_t> w;
    const std::size_t keep = window == 0 ? picked.size() : std::min(picked.size(), window - 1);
    w.assign(picked.end() - static_cast<std::ptrdiff_t>(keep), picked.end());
    const double base = logdet(w);
    std::size_t best = n;
    double best_gain = -1;
    for (std::size_t i = 0; i < n; ++i) {
      if (used[i]) continue;
      auto wi = w;
      wi.push_back(i);
      const double g = std::exp(logdet(wi) - base);
      if (g > best_gain) {
        best_gain = g;
        best = i;
      }
    }
    if (gains) gains->push_back(best_gain);
    if (best == n || !(best_gain > threshold)) break;
    used[best] = 1;
    picked.push_back(best);
  }
  return picked;
}

// Marginal gain det(L_{W+i}) / det(L_W) of item i after `picks` (whole-slate window).
double gain_after(const Eigen::MatrixXd& l, std::vector<std::size_t> picks, std::size_t i) {
  auto det = [&](const std::vector<std::size_t>& idx) {
    Eigen::MatrixXd sub(idx.size(), idx.size());
    for (std::size_t a = 0; a < idx.size(); ++a) {
      for (std::size_t b = 0; b < idx.size(); ++b) {
        sub(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(b)) =
            l(static_cast<Eigen::Index>(idx[a]), static_cast<Eigen::Index>(idx[b]));
      }
    }
    return idx.empty() ? 1.0 : sub.determinant();
  };
  const double base = det(picks);
  picks.push_back(i);
  return det(picks) / base;
}

struct random_case {
  funnel::candidate_list c;
  std::vector<float> s;  // n x n similarity (float, as the callback returns it)
  Eigen::MatrixXd l;     // the kernel the fast greedy should see
};

random_case make_case(std::uint64_t seed, std::size_t n, std::size_t rank, double theta,
                      double jitter) {
  funnel::rng r(seed);
  random_case rc;
  Eigen::MatrixXd b(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(rank));
  for (Eigen::Index i = 0; i < b.rows(); ++i) {
    for (Eigen::Index j = 0; j < b.cols(); ++j) b(i, j) = r.normal();
  }
  b.rowwise().normalize();
  const Eigen::MatrixXd s = b * b.transpose();
  rc.s.resize(n * n);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      rc.s[i * n + j] =
          static_cast<float>(s(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)));
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    rc.c.push_back({100 + i, static_cast<float>(r.uniform(-1, 2))});
  float rmax = rc.c[0].score;
  for (const auto& x : rc.c) rmax = std::max(rmax, x.score);
  const double a = theta / (2 * (1 - theta));
  rc.l.resize(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      const double qi = std::exp(a * (static_cast<double>(rc.c[i].score) - rmax));
      const double qj = std::exp(a * (static_cast<double>(rc.c[j].score) - rmax));
      rc.l(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          qi * qj * (static_cast<double>(rc.s[i * n + j]) + (i == j ? jitter : 0.0));
    }
  }
  return rc;
}

std::vector<std::size_t> fast_greedy(const random_case& rc, rr::dpp_options o, std::size_t k) {
  rr::slate sl(rc.c);
  const std::size_t n = rc.c.size();
  sl.set_similarity([&](std::size_t i, std::size_t j) { return rc.s[i * n + j]; });
  rr::dpp(o).rerank(sl, {.k = k});
  std::vector<std::size_t> out;  // final order as original indices; the picks come first
  for (const auto& e : sl.entries()) out.push_back(e.origin);
  return out;
}

}  // namespace

TEST_CASE("dpp: fast greedy equals the slow log-det reference on random full-rank kernels") {
  for (std::uint64_t seed = 1; seed <= 6; ++seed) {
    const auto rc = make_case(seed, 30, 30, 0.6, 0.0);
    const auto slow = slow_greedy(rc.l, 12, 0, 1e-10);
    const auto fast = fast_greedy(rc, {.theta = 0.6}, 12);
    REQUIRE(slow.size() == 12);
    for (std::size_t i = 0; i < slow.size(); ++i) REQUIRE(fast[i] == slow[i]);
  }
}

TEST_CASE(
    "dpp: without jitter the greedy stops at the kernel rank; jitter continues it as the reference "
    "does") {
  for (std::uint64_t seed = 10; seed <= 14; ++seed) {
    const auto rc = make_case(seed, 40, 5, 0.7, 0.0);
    const auto slow = slow_greedy(rc.l, 20, 0, 1e-6);
    CHECK(slow.size() == 5);
    const auto fast = fast_greedy(rc, {.theta = 0.7, .min_gain = 1e-6}, 20);
    for (std::size_t i = 0; i < slow.size(); ++i) REQUIRE(fast[i] == slow[i]);

    const auto rj = make_case(seed, 40, 5, 0.7, 0.05);
    const auto slow_j = slow_greedy(rj.l, 20, 0, 1e-10);
    REQUIRE(slow_j.size() == 20);
    const auto fast_j = fast_greedy(rj, {.theta = 0.7, .jitter = 0.05}, 20);
    for (std::size_t i = 0; i < slow_j.size(); ++i) REQUIRE(fast_j[i] == slow_j[i]);
  }
}

TEST_CASE("dpp: windowed greedy equals the slow reference over the last w - 1 picks") {
  {  // the window must matter, or this test would not test it
    const auto rc = make_case(20, 35, 35, 0.5, 0.0);
    CHECK(slow_greedy(rc.l, 25, 2, 1e-10) != slow_greedy(rc.l, 25, 0, 1e-10));
  }
  for (std::uint64_t seed = 20; seed <= 25; ++seed) {
    for (std::size_t w : {1U, 2U, 3U, 5U}) {
      const auto rc = make_case(seed, 35, 35, 0.5, 0.0);
      const auto slow = slow_greedy(rc.l, 25, w, 1e-10);
      REQUIRE(slow.size() == 25);
      const auto fast = fast_greedy(rc, {.theta = 0.5, .window = w}, 25);
      for (std::size_t i = 0; i < slow.size(); ++i) {
        INFO("seed " << seed << " window " << w << " step " << i);
        REQUIRE(fast[i] == slow[i]);
      }
    }
    // window with jitter on a low-rank kernel
    const auto rj = make_case(seed, 30, 4, 0.5, 0.01);
    const auto slow_j = slow_greedy(rj.l, 20, 4, 1e-10);
    const auto fast_j = fast_greedy(rj, {.theta = 0.5, .jitter = 0.01, .window = 4}, 20);
    REQUIRE(slow_j.size() == 20);
    for (std::size_t i = 0; i < slow_j.size(); ++i) REQUIRE(fast_j[i] == slow_j[i]);
  }
}

TEST_CASE("dpp: orthogonal items keep relevance order") {
  const std::size_t n = 16;
  std::vector<float> emb(n * n, 0.0F);
  for (std::size_t i = 0; i < n; ++i) emb[i * n + i] = 2.0F;  // orthogonal, cosine S = I
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, 1.0F - 0.05F * static_cast<float>(i)});
  for (auto q : {rr::dpp_quality::exp_theta, rr::dpp_quality::score}) {
    rr::slate s(c);
    s.set_embeddings(funnel::matrix_view(emb, n, n));
    rr::dpp({.quality = q}).rerank(s, {.k = 10});
    CHECK(s.candidates() == c);
    for (const auto& t : s.trace()) CHECK_FALSE(t.has(rr::rule::dpp));
  }
}

TEST_CASE(
    "dpp: embedding kernel equals the callback kernel; YouTube RBF kernel equals its reference") {
  funnel::rng r(77);
  const std::size_t n = 30;
  const std::size_t d = 5;
  std::vector<float> emb(n * d);
  for (auto& x : emb) x = static_cast<float>(r.normal());
  funnel::candidate_list c;
  for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform(0.1, 1.0))});
  // YouTube: q = score, S_ii = 1, S_ij = alpha exp(-|vi - vj|^2 / (2 sigma^2)).
  const double alpha = 0.9;
  const double sigma = 1.5;
  Eigen::MatrixXd l(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      double dist2 = 0;
      for (std::size_t t = 0; t < d; ++t) {
        const double x = static_cast<double>(emb[i * d + t]) - emb[j * d + t];
        dist2 += x * x;
      }
      const double s = i == j ? 1.0 : alpha * std::exp(-dist2 / (2 * sigma * sigma));
      l(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
          static_cast<double>(c[i].score) * c[j].score * s;
    }
  }
  const auto slow = slow_greedy(l, 15, 0, 1e-10);
  rr::slate s(c);
  s.set_embeddings(funnel::matrix_view(emb, n, d));
  rr::dpp({.quality = rr::dpp_quality::score,
           .kernel = rr::dpp_similarity::youtube_rbf,
           .alpha = alpha,
           .sigma = sigma})
      .rerank(s, {.k = 15});
  REQUIRE(slow.size() == 15);
  for (std::size_t i = 0; i < 15; ++i) CHECK(s.entries()[i].origin == slow[i]);
}

TEST_CASE("dpp: bad parameters and negative scores with quality = score are typed errors") {
  CHECK_THROWS_AS(rr::dpp({.theta = 1.0}), funnel::invalid_argument);
  CHECK_THROWS_AS(rr::dpp({.sigma = 0.0}), funnel::invalid_argument);
  CHECK_THROWS_AS(rr::dpp({.jitter = -1.0}), funnel::invalid_argument);
  rr::slate s(funnel::candidate_list{{1, 1.0F}, {2, -0.5F}});
  const std::vector<float> emb{1, 0, 0, 1};
  s.set_embeddings(funnel::matrix_view(emb, 2, 2));
  CHECK_THROWS_WITH(rr::dpp({.quality = rr::dpp_quality::score}).rerank(s, {}),
                    ContainsSubstring("id 2"));
  rr::slate t(funnel::candidate_list{{1, 1.0F}});
  CHECK_THROWS_AS(rr::dpp({.kernel = rr::dpp_similarity::youtube_rbf}).rerank(t, {}),
                  funnel::invalid_argument);
}

TEST_CASE(
    "dpp: embedding view path (cosine and dot, past the rank with jitter) equals the slow "
    "reference") {
  funnel::rng r(31);
  for (int rep = 0; rep < 4; ++rep) {
    const std::size_t n = 40;
    const std::size_t d = 6;
    std::vector<float> table(n * d);
    for (auto& x : table) x = static_cast<float>(r.normal());
    funnel::candidate_list c;
    for (std::size_t i = 0; i < n; ++i) c.push_back({i, static_cast<float>(r.uniform())});
    for (const auto kind : {rr::similarity_kind::cosine, rr::similarity_kind::dot}) {
      const double jitter = 0.02;
      const double a = 0.7 / (2 * 0.3);
      float rmax = 0;
      for (const auto& x : c) rmax = std::max(rmax, x.score);
      Eigen::MatrixXd l(static_cast<Eigen::Index>(n), static_cast<Eigen::Index>(n));
      for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < n; ++j) {
          double dot = 0, ni = 0, nj = 0;
          for (std::size_t t = 0; t < d; ++t) {
            dot += static_cast<double>(table[i * d + t]) * table[j * d + t];
            ni += static_cast<double>(table[i * d + t]) * table[i * d + t];
            nj += static_cast<double>(table[j * d + t]) * table[j * d + t];
          }
          double sij = kind == rr::similarity_kind::cosine ? dot / std::sqrt(ni * nj) : dot;
          if (i == j) sij += jitter;
          l(static_cast<Eigen::Index>(i), static_cast<Eigen::Index>(j)) =
              std::exp(a * (c[i].score - rmax)) * std::exp(a * (c[j].score - rmax)) * sij;
        }
      }
      std::vector<double> gains;
      const auto slow = slow_greedy(l, 15, 0, 1e-10, &gains);
      REQUIRE(slow.size() == 15);
      rr::slate s(c);
      s.set_embeddings(funnel::matrix_view(table, n, d));
      rr::dpp({.theta = 0.7, .similarity = kind, .jitter = jitter}).rerank(s, {.k = 15});
      INFO("rep " << rep << " kind " << static_cast<int>(kind));
      // The embeddings are floats and funnel takes their dot products in float; the reference
      // is all double. Below the rank (d = 6) picks must agree exactly; past it, gains are
      // small differences of large numbers, and a swap is accepted only between near-ties.
      std::vector<std::size_t> prefix;
      for (std::size_t i = 0; i < 15; ++i) {
        INFO("step " << i);
        const auto got = s.entries()[i].origin;
        if (got != slow[i]) {
          REQUIRE(i >= d);
          REQUIRE_THAT(gain_after(l, prefix, got), WithinRel(gains[i], 1e-4));
          break;
        }
        prefix.push_back(got);
      }
      // the windowed (eager) path agrees with its reference too
      const auto slow_w = slow_greedy(l, 15, 4, 1e-10);
      rr::slate sw(c);
      sw.set_embeddings(funnel::matrix_view(table, n, d));
      rr::dpp({.theta = 0.7, .similarity = kind, .jitter = jitter, .window = 4})
          .rerank(sw, {.k = 15});
      for (std::size_t i = 0; i < d; ++i) REQUIRE(sw.entries()[i].origin == slow_w[i]);
    }
  }
}

TEST_CASE("dpp: a window of -1, 2^63-1 or 3e7 is rejected at setup, never sized into memory") {
  for (const std::size_t w : {static_cast<std::size_t>(-1), (std::size_t{1} << 63) - 1,
                              std::size_t{30'000'000}, rr::dpp_max_window + 1}) {
    CHECK_THROWS_WITH(rr::dpp({.window = w}), ContainsSubstring("window"));
  }
  CHECK_THROWS_AS(rr::dpp({.window = std::numeric_limits<std::size_t>::max() / 2}),
                  funnel::invalid_argument);
  CHECK_THROWS_AS(rr::dpp({.alpha = std::numeric_limits<double>::infinity()}),
                  funnel::invalid_argument);
  CHECK_THROWS_AS(rr::dpp({.min_gain = std::numeric_limits<double>::quiet_NaN()}),
                  funnel::invalid_argument);
  // The largest accepted window on a small slate: the factor is sized by the slate (k), and the
  // picks equal whole-slate diversity (no pick ever leaves a window longer than the slate).
  const auto rc = make_case(7, 30, 30, 0.5, 0.0);
  const auto wide = fast_greedy(rc, {.theta = 0.5, .window = rr::dpp_max_window}, 12);
  const auto slow = slow_greedy(rc.l, 12, 0, 1e-10);
  for (std::size_t i = 0; i < slow.size(); ++i) REQUIRE(wide[i] == slow[i]);
}
