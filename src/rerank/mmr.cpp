// rerank::mmr: maximal marginal relevance, lazy greedy.
#include <funnel/rerank/mmr.hpp>

#include <Eigen/Core>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace funnel::rerank {

mmr::mmr(const mmr_options& options) : configured_reranker(options) {
  if (!(o_.lambda >= 0.0 && o_.lambda <= 1.0)) {
    raise<invalid_argument>("rerank.mmr", "mmr_options.lambda = {} is outside [0, 1]", o_.lambda);
  }
}

void mmr::rerank(slate& s, const context& ctx) const {
  const std::size_t n = s.size();
  const std::size_t k = std::min(ctx.k, n);
  if (k == 0) return;
  if (!s.has_embeddings() && !s.similarity()) {
    raise<invalid_argument>("rerank.mmr",
                            "the slate has neither embeddings nor a similarity callback");
  }
  auto& sc = s.scratch();
  auto& value = sc.d0;     // last computed MMR value (an upper bound once stale)
  auto& maxsim = sc.d1;    // max similarity to the first seen[i] picks
  auto& inv_norm = sc.d2;  // cosine: 1 / ||v_i||, NaN until needed
  auto& seen = sc.u1;      // picks incorporated into maxsim[i]
  auto& heap = sc.k0;
  auto& order = sc.u0;
  auto& before = sc.c0;
  before.clear();
  for (const auto& x : s.entries()) before.push_back({x.origin, 0.0F});
  const auto e = s.entries();
  const double lambda = o_.lambda;
  const bool cosine = o_.similarity == similarity_kind::cosine;
  value.resize(n);
  maxsim.assign(n, -std::numeric_limits<double>::infinity());
  seen.assign(n, 0);
  if (cosine) inv_norm.assign(n, std::numeric_limits<double>::quiet_NaN());
  heap.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    value[i] = lambda * static_cast<double>(e[i].item.score);
    heap[i] = i;
  }
  // Max-heap on (value, earlier position first): the eager greedy's argmax and tie rule.
  const auto less = [&](std::uint64_t a, std::uint64_t b) {
    return value[a] < value[b] || (value[a] == value[b] && a > b);
  };
  std::make_heap(heap.begin(), heap.end(), less);
  const std::size_t d = s.has_embeddings() ? s.embeddings().cols() : 0;
  const auto norm_of = [&](std::size_t i) {
    if (std::isnan(inv_norm[i])) {
      const auto r = s.embedding(e[i].origin);
      const double sq = static_cast<double>(
          Eigen::Map<const Eigen::VectorXf>(r.data(), static_cast<Eigen::Index>(d)).squaredNorm());
      inv_norm[i] = sq > 0 ? 1.0 / std::sqrt(sq) : 0.0;
    }
    return inv_norm[i];
  };
  const auto checked = [&](double v, std::size_t i, std::size_t j) {
    // A NaN would break the heap's ordering; NaN embeddings mean "missing" in funnel.
    if (std::isnan(v)) {
      raise<invalid_argument>("rerank.mmr", "similarity of ids {} and {} is NaN", e[i].item.id,
                              e[j].item.id);
    }
    return v;
  };
  const auto sim = [&](std::size_t i, std::size_t j) -> double {
    if (d == 0) {
      return checked(static_cast<double>(s.similarity()(e[i].origin, e[j].origin)), i, j);
    }
    const auto ri = s.embedding(e[i].origin);
    const auto rj = s.embedding(e[j].origin);
    const auto di = static_cast<Eigen::Index>(d);
    const double dot =
        static_cast<double>(Eigen::Map<const Eigen::VectorXf>(ri.data(), di)
                                .dot(Eigen::Map<const Eigen::VectorXf>(rj.data(), di)));
    return checked(cosine ? dot * norm_of(i) * norm_of(j) : dot, i, j);
  };
  order.clear();
  while (order.size() < k) {
    std::pop_heap(heap.begin(), heap.end(), less);
    const auto i = static_cast<std::size_t>(heap.back());
    if (seen[i] == order.size() || lambda == 1.0) {
      heap.pop_back();
      order.push_back(static_cast<std::uint32_t>(i));
      if (order.size() == 1 && lambda != 1.0 && k > 1) {
        // The first pick can *raise* a value (a negative similarity), so the pick-free
        // values are no upper bounds: refresh everyone against it once, then values only fall.
        for (auto& h : heap) {
          maxsim[h] = sim(h, i);
          seen[h] = 1;
          value[h] = lambda * static_cast<double>(e[h].item.score) - (1.0 - lambda) * maxsim[h];
        }
        std::make_heap(heap.begin(), heap.end(), less);
      }
      continue;
    }
    for (std::size_t t = seen[i]; t < order.size(); ++t)
      maxsim[i] = std::max(maxsim[i], sim(i, order[t]));
    seen[i] = static_cast<std::uint32_t>(order.size());
    value[i] = lambda * static_cast<double>(e[i].item.score) - (1.0 - lambda) * maxsim[i];
    std::push_heap(heap.begin(), heap.end(), less);
  }
  s.promote(order);  // the unpicked items keep their previous relative order
  const auto now = s.entries();
  for (std::size_t i = 0; i < n; ++i) {
    if (before[i].id != now[i].origin) s.mark(now[i].origin, rule::mmr);
  }
}

}  // namespace funnel::rerank
