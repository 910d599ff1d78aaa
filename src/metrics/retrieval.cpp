#include <funnel/core/error.hpp>
#include <funnel/metrics/retrieval.hpp>

#include <algorithm>

namespace funnel::metrics {

double recall_at_k(std::span<const candidate_list> found, std::span<const candidate_list> truth,
                   std::size_t k) {
  if (found.size() != truth.size()) {
    raise<dimension_mismatch>("metrics.recall_at_k", "{} result lists for {} truth lists",
                              found.size(), truth.size());
  }
  if (truth.empty()) return 1.0;
  double sum = 0.0;
  for (std::size_t q = 0; q < truth.size(); ++q) {
    const std::size_t relevant = std::min(k, truth[q].size());
    if (relevant == 0) {
      sum += 1.0;
      continue;
    }
    const std::size_t returned = std::min(k, found[q].size());
    std::size_t hits = 0;
    for (std::size_t i = 0; i < relevant; ++i) {
      const auto id = truth[q][i].id;
      for (std::size_t j = 0; j < returned; ++j) {
        if (found[q][j].id == id) {
          ++hits;
          break;
        }
      }
    }
    sum += static_cast<double>(hits) / static_cast<double>(relevant);
  }
  return sum / static_cast<double>(truth.size());
}

}  // namespace funnel::metrics
