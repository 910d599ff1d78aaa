#pragma once
// Raw hnswlib, compiled in the single translation unit that includes hnswlib
// (src/retrieval/hnsw_index.cpp), for side-by-side benchmarks. Not installed, not public API.

#include <funnel/retrieval/hnsw_index.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

namespace funnel::retrieval::detail {

/// hnswlib's own `searchKnn` on the graph of a funnel index (calls setEf: one thread only).
std::vector<std::pair<float, std::uint64_t>> raw_search_knn(const hnsw_index& index,
                                                            const float* query, std::size_t k,
                                                            std::size_t ef);

/// A plain hnswlib::HierarchicalNSW<float> (L2 or inner product on the caller's vectors).
class raw_hnswlib {
 public:
  raw_hnswlib(std::size_t dim, metric m, std::size_t capacity, std::size_t M,
              std::size_t ef_construction, std::size_t seed);
  ~raw_hnswlib();
  raw_hnswlib(const raw_hnswlib&) = delete;
  raw_hnswlib& operator=(const raw_hnswlib&) = delete;
  void add(const float* vector, std::uint64_t label);
  std::vector<std::pair<float, std::uint64_t>> search_knn(const float* query, std::size_t k,
                                                          std::size_t ef);

 private:
  struct state;
  std::unique_ptr<state> state_;
};

}  // namespace funnel::retrieval::detail
