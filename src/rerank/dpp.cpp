// rerank::dpp: greedy DPP MAP inference (whole slate, lazy; or windowed, eager).
#include <funnel/rerank/dpp.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace funnel::rerank {

namespace {

// q_i from the scores (dpp_quality).
void item_quality(const slate& s, const dpp_options& o, std::vector<double>& q) {
  const auto e = s.entries();
  const std::size_t n = e.size();
  q.resize(n);
  if (o.quality == dpp_quality::exp_theta) {
    // Shifting every score by the maximum rescales L by a constant: same picks, no overflow.
    float rmax = e[0].item.score;
    for (const auto& x : e) rmax = std::max(rmax, x.item.score);
    const double a = o.theta / (2.0 * (1.0 - o.theta));
    for (std::size_t i = 0; i < n; ++i) {
      q[i] = std::exp(a * (static_cast<double>(e[i].item.score) - static_cast<double>(rmax)));
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      if (e[i].item.score < 0.0F) {
        raise<invalid_argument>("rerank.dpp",
                                "quality = score needs scores >= 0; item {} (id {}) has {}", i,
                                e[i].item.id, e[i].item.score);
      }
      q[i] = static_cast<double>(e[i].item.score);
    }
  }
}

// What appending a pick needs of the kernel: L_ji = q_j q_i S_ji (+ jitter on the diagonal).
struct pick_context {
  const dpp_options& o;
  bool rbf;
  detail::similarity_rows& sims;
  const std::vector<double>& q;
  double inv_two_sigma2;
};

// Appends pick j as coordinate row m of c: e_i = (L_ji - <c_j, c_i>) / d_j;  d_i^2 -= e_i^2
// (Algorithm 1, lines 5-7).
void append_pick(const pick_context& p, std::size_t j, double dj, std::size_t m,
                 std::vector<float>& row, std::vector<double>& c, std::vector<double>& d2) {
  const auto& o = p.o;
  const auto& q = p.q;
  const std::size_t n = d2.size();
  p.sims.row(j, row);
  double* ej = c.data() + m * n;
  if (p.rbf) {
    const double nj = static_cast<double>(p.sims.squared_norm(j));
    for (std::size_t i = 0; i < n; ++i) {
      const double dist2 = std::max(0.0, nj + static_cast<double>(p.sims.squared_norm(i)) -
                                             2.0 * static_cast<double>(row[i]));
      ej[i] = q[j] * q[i] * o.alpha * std::exp(-dist2 * p.inv_two_sigma2);
    }
    ej[j] = q[j] * q[j] * (1.0 + o.jitter);
  } else {
    for (std::size_t i = 0; i < n; ++i) ej[i] = q[j] * q[i] * static_cast<double>(row[i]);
    ej[j] += q[j] * q[j] * o.jitter;
  }
  for (std::size_t t = 0; t < m; ++t) {
    const double* ct = c.data() + t * n;
    const double cj = ct[j];
    for (std::size_t i = 0; i < n; ++i) ej[i] -= cj * ct[i];
  }
  const double inv_dj = 1.0 / dj;
  for (std::size_t i = 0; i < n; ++i) {
    ej[i] *= inv_dj;
    d2[i] -= ej[i] * ej[i];
  }
}

// Drops the oldest pick from the window (Algorithm 2): the factor of the remaining picks is
// V22 updated by the rank-one term V21 V21^T, done with Givens rotations; applying the same
// rotations to every item's coordinates keeps V' c'_i = L_{window, i}, and the coordinate
// rotated out returns to d_i^2. The caller then has m - 1 coordinates in use.
void drop_oldest(std::size_t n, std::size_t w, std::size_t m, std::vector<double>& c,
                 std::vector<double>& v, std::vector<double>& extra, std::vector<double>& d2) {
  for (std::size_t i = 0; i < n; ++i) extra[i] = c[i];  // row 0 of c
  for (std::size_t kk = 0; kk + 1 < m; ++kk) {
    const std::size_t r_kk = (kk + 1) * w + (kk + 1);
    const double a = v[r_kk];
    const double b = v[(kk + 1) * w];  // x[kk] = V[kk + 1][0]
    const double r = std::hypot(a, b);
    const double cs = a / r;
    const double sn = b / r;
    v[r_kk] = r;
    v[(kk + 1) * w] = 0.0;
    for (std::size_t i = kk + 2; i < m; ++i) {
      double& vi = v[i * w + (kk + 1)];
      double& xi = v[i * w];
      const double nv = cs * vi + sn * xi;
      xi = -sn * vi + cs * xi;
      vi = nv;
    }
    double* ck = c.data() + (kk + 1) * n;
    for (std::size_t i = 0; i < n; ++i) {
      const double nv = cs * ck[i] + sn * extra[i];
      extra[i] = -sn * ck[i] + cs * extra[i];
      ck[i] = nv;
    }
  }
  for (std::size_t i = 0; i < n; ++i) d2[i] += extra[i] * extra[i];
  std::copy(c.begin() + static_cast<std::ptrdiff_t>(n),
            c.begin() + static_cast<std::ptrdiff_t>(m * n), c.begin());
  for (std::size_t a = 0; a + 1 < m; ++a) {
    for (std::size_t b = 0; b <= a; ++b) v[a * w + b] = v[(a + 1) * w + (b + 1)];
    for (std::size_t b = a + 1; b < w; ++b) v[a * w + b] = 0.0;
  }
  for (std::size_t b = 0; b < w; ++b) v[(m - 1) * w + b] = 0.0;
}

}  // namespace

dpp::dpp(const dpp_options& options) : configured_reranker(options) {
  const dpp_options& o = o_;
  if (!(o.theta >= 0.0 && o.theta < 1.0)) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.theta = {} is outside [0, 1)", o.theta);
  }
  if (!(o.sigma > 0.0) || !std::isfinite(o.sigma)) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.sigma = {} must be finite and > 0", o.sigma);
  }
  if (!(o.alpha >= 0.0) || !std::isfinite(o.alpha)) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.alpha = {} must be finite and >= 0",
                            o.alpha);
  }
  if (!(o.jitter >= 0.0) || !std::isfinite(o.jitter)) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.jitter = {} must be finite and >= 0",
                            o.jitter);
  }
  if (!(o.min_gain >= 0.0) || !std::isfinite(o.min_gain)) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.min_gain = {} must be finite and >= 0",
                            o.min_gain);
  }
  if (o.window > dpp_max_window) {
    raise<invalid_argument>("rerank.dpp", "dpp_options.window = {} exceeds the maximum {}",
                            o.window, dpp_max_window);
  }
}

void dpp::rerank(slate& s, const context& ctx) const {
  const std::size_t n = s.size();
  const std::size_t k = std::min(ctx.k, n);
  if (k == 0) return;
  const bool rbf = o_.kernel == dpp_similarity::youtube_rbf;
  if (rbf && !s.has_embeddings()) {
    raise<invalid_argument>("rerank.dpp", "the youtube_rbf kernel needs embeddings on the slate");
  }
  if (!s.has_embeddings() && !s.similarity()) {
    raise<invalid_argument>("rerank.dpp",
                            "the slate has neither embeddings nor a similarity callback");
  }
  auto& sc = s.scratch();
  auto& q = sc.d0;
  auto& before = sc.u1;
  detail::snapshot(s, before);
  item_quality(s, o_, q);
  if (o_.window == 0) {
    rerank_lazy(s, k, q);
  } else {
    rerank_windowed(s, k, q);
  }
  detail::mark_moved(s, before, rule::dpp);
}

void dpp::rerank_windowed(slate& s, std::size_t k, const std::vector<double>& q) const {
  const auto e = s.entries();
  const std::size_t n = e.size();
  const bool rbf = o_.kernel == dpp_similarity::youtube_rbf;
  auto& sc = s.scratch();
  auto& d2 = sc.d1;
  auto& c = sc.d2;      // rows x n: c[t * n + i] = t-th Cholesky coordinate of item i
  auto& v = sc.d3;      // w x w lower-triangular Cholesky factor of the window's kernel
  auto& extra = sc.d4;  // the coordinate rotated out when the window drops its oldest pick
  auto& row = sc.f2;
  auto& picked = sc.b0;
  auto& order = sc.u0;
  const double inv_two_sigma2 = 1.0 / (2.0 * o_.sigma * o_.sigma);
  d2.resize(n);
  detail::similarity_rows sims(s, n, rbf ? similarity_kind::dot : o_.similarity, "rerank.dpp");
  double max_diag = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double sii = rbf ? 1.0 : static_cast<double>(sims.self(i));
    d2[i] = q[i] * q[i] * (sii + o_.jitter);
    if (std::isnan(d2[i])) {
      raise<invalid_argument>("rerank.dpp", "id {}: its embedding or self-similarity is NaN",
                              e[i].item.id);
    }
    max_diag = std::max(max_diag, d2[i]);
  }
  const double threshold = o_.min_gain * max_diag;
  // At most k - 1 picks are ever in the factor, so a window of k or more never drops one: size
  // the factor by min(window, k), which the candidates bound, not by the window alone.
  const std::size_t w = std::min(o_.window, k);
  const std::size_t max_rows = w;
  c.resize(max_rows * n);
  if (w != 0) v.assign(w * w, 0.0);
  extra.resize(n);
  row.resize(n);
  picked.assign(n, 0);
  order.clear();

  std::size_t m = 0;  // Cholesky coordinates in use (= picks in the window)
  for (std::size_t step = 0; step < k; ++step) {
    std::size_t j = n;
    double best = -1.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!picked[i] && d2[i] > best) {
        best = d2[i];
        j = i;
      }
    }
    if (j == n || !(best > threshold) || !(best > 0.0)) break;
    picked[j] = 1;
    order.push_back(static_cast<std::uint32_t>(j));
    if (step + 1 == k) break;

    const double dj = std::sqrt(d2[j]);
    append_pick(pick_context{o_, rbf, sims, q, inv_two_sigma2}, j, dj, m, row, c, d2);
    if (w == 0) {
      ++m;
      continue;
    }
    for (std::size_t t = 0; t < m; ++t) v[m * w + t] = c[t * n + j];
    v[m * w + m] = dj;
    ++m;
    if (m < w) continue;

    drop_oldest(n, w, m, c, v, extra, d2);
    --m;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (!picked[i]) order.push_back(static_cast<std::uint32_t>(i));
  }
  s.reorder(order);
}

void dpp::rerank_lazy(slate& s, std::size_t k, const std::vector<double>& q) const {
  const auto e = s.entries();
  const std::size_t n = e.size();
  const bool rbf = o_.kernel == dpp_similarity::youtube_rbf;
  const bool emb = s.has_embeddings();
  const bool cosine = !rbf && o_.similarity == similarity_kind::cosine;
  const std::size_t dim = emb ? s.embeddings().cols() : 0;
  const auto di = static_cast<Eigen::Index>(dim);
  auto& sc = s.scratch();
  auto& d2 = sc.d1;
  auto& c = sc.d2;    // item-major: c[i * k + t] = t-th Cholesky coordinate of item i
  auto& sq = sc.d3;   // squared norms of the raw embeddings
  auto& dd = sc.d4;   // d of each pick when it was picked
  auto& cnt = sc.u2;  // coordinates of item i computed so far
  auto& heap = sc.k0;
  auto& order = sc.u0;
  const auto row = [&](std::size_t i) {
    return Eigen::Map<const Eigen::VectorXf>(s.embedding(e[i].origin).data(), di);
  };
  d2.resize(n);
  if (emb) sq.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    double sii = 1.0;
    if (emb) {
      sq[i] = static_cast<double>(row(i).squaredNorm());
      if (std::isnan(sq[i])) {
        raise<invalid_argument>("rerank.dpp", "id {}: its embedding has a NaN", e[i].item.id);
      }
      if (!rbf) sii = cosine ? (sq[i] > 0 ? 1.0 : 0.0) : sq[i];
    } else {
      sii = static_cast<double>(s.similarity()(e[i].origin, e[i].origin));
    }
    d2[i] = q[i] * q[i] * (sii + o_.jitter);
    if (std::isnan(d2[i])) {
      raise<invalid_argument>("rerank.dpp", "id {}: its embedding or self-similarity is NaN",
                              e[i].item.id);
    }
  }
  const double inv_two_sigma2 = 1.0 / (2.0 * o_.sigma * o_.sigma);
  const auto kernel = [&](std::size_t a, std::size_t b) -> double {  // L_ab, a != b
    if (!emb) {
      const double v = static_cast<double>(s.similarity()(e[a].origin, e[b].origin));
      if (std::isnan(v)) {
        raise<invalid_argument>("rerank.dpp", "similarity of ids {} and {} is NaN", e[a].item.id,
                                e[b].item.id);
      }
      return q[a] * q[b] * v;
    }
    // Float dot (vectorised): past the embedding rank, where gains are small differences of
    // large numbers, its rounding can swap two items whose gains agree to ~1e-5.
    const double dot = static_cast<double>(row(a).dot(row(b)));
    if (rbf) {
      const double dist2 = std::max(0.0, sq[a] + sq[b] - 2.0 * dot);
      return q[a] * q[b] * o_.alpha * std::exp(-dist2 * inv_two_sigma2);
    }
    if (cosine) {
      const double den = std::sqrt(sq[a] * sq[b]);
      return den > 0 ? q[a] * q[b] * dot / den : 0.0;
    }
    return q[a] * q[b] * dot;
  };
  const double threshold = o_.min_gain * *std::max_element(d2.begin(), d2.end());
  c.resize(n * k);
  cnt.assign(n, 0);
  dd.clear();
  order.clear();
  heap.resize(n);
  for (std::size_t i = 0; i < n; ++i) heap[i] = i;
  const auto less = [&](std::uint64_t a, std::uint64_t b) {
    return d2[a] < d2[b] || (d2[a] == d2[b] && a > b);
  };
  std::make_heap(heap.begin(), heap.end(), less);
  while (order.size() < k && !heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), less);
    const auto i = static_cast<std::size_t>(heap.back());
    const std::size_t m = order.size();
    if (cnt[i] == m) {
      if (!(d2[i] > threshold) || !(d2[i] > 0.0)) break;
      heap.pop_back();
      order.push_back(static_cast<std::uint32_t>(i));
      dd.push_back(std::sqrt(d2[i]));
      continue;
    }
    double* ci = c.data() + i * k;
    for (std::size_t t = cnt[i]; t < m; ++t) {  // Algorithm 1, lines 5-7, for item i only
      const std::size_t y = order[t];
      const double* cy = c.data() + y * k;
      double v = kernel(y, i);
      for (std::size_t u = 0; u < t; ++u) v -= cy[u] * ci[u];
      v /= dd[t];
      ci[t] = v;
      d2[i] -= v * v;
    }
    cnt[i] = static_cast<std::uint32_t>(m);
    std::push_heap(heap.begin(), heap.end(), less);
  }
  s.promote(order);  // the unpicked items keep their previous relative order
}

}  // namespace funnel::rerank
