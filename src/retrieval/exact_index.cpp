#include <funnel/core/error.hpp>
#include <funnel/retrieval/exact_index.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace funnel::retrieval {

namespace {

constexpr std::string_view where = "retrieval.exact_index";

void check_finite(row_view v, std::string_view what) {
  for (std::size_t j = 0; j < v.size(); ++j) {
    if (!std::isfinite(v[j])) {
      raise<invalid_argument>(where, "{}: value {} at position {} is not finite", what, v[j], j);
    }
  }
}

void normalize(std::span<float> v, std::string_view what) {
  double norm2 = 0.0;
  for (const float x : v) norm2 += static_cast<double>(x) * x;
  if (norm2 == 0.0) raise<invalid_argument>(where, "{}: zero vector has no cosine", what);
  const auto inv = static_cast<float>(1.0 / std::sqrt(norm2));
  for (float& x : v) x *= inv;
}

struct entry {
  float score;
  std::uint32_t row;
};
// Heap order: the worst kept entry on top (lower score, then larger row).
bool better(const entry& a, const entry& b) noexcept {
  return a.score > b.score || (a.score == b.score && a.row < b.row);
}

struct top_k {
  std::vector<entry> heap;
  std::size_t k = 0;
  void offer(float score, std::uint32_t row) {
    const entry e{score, row};
    if (heap.size() < k) {
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), better);
    } else if (k != 0 && better(e, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), better);
      heap.back() = e;
      std::push_heap(heap.begin(), heap.end(), better);
    }
  }
};

}  // namespace

exact_index::exact_index(std::span<const std::uint64_t> ids, matrix_view vectors,
                         retrieval::metric metric)
    : ids_(ids.begin(), ids.end()), dim_(vectors.cols()), metric_(metric) {
  if (ids.size() != vectors.rows()) {
    raise<dimension_mismatch>(where, "{} ids for {} vectors", ids.size(), vectors.rows());
  }
  if (vectors.cols() == 0) raise<invalid_argument>(where, "vectors have no columns");
  if (ids.size() >= std::numeric_limits<std::uint32_t>::max()) {
    raise<invalid_argument>(where, "{} items exceed the 2^32 - 1 limit", ids.size());
  }
  rows_.reserve(ids.size());
  vectors_.resize(ids.size() * dim_);
  norms2_.resize(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!rows_.emplace(ids[i], static_cast<std::uint32_t>(i)).second) {
      raise<invalid_argument>(where, "id {} appears twice", ids[i]);
    }
    store(i, vectors.row(i), fmt::format("row {}", i));
  }
}

void exact_index::store(std::size_t row, row_view v, std::string_view what) {
  check_finite(v, what);
  const std::span<float> dst(vectors_.data() + row * dim_, dim_);
  std::copy(v.begin(), v.end(), dst.begin());
  if (metric_ == metric::cosine) normalize(dst, what);
  double n2 = 0.0;
  for (const float x : dst) n2 += static_cast<double>(x) * x;
  norms2_[row] = static_cast<float>(n2);
}

void exact_index::add(std::uint64_t id, row_view vector) {
  if (vector.size() != dim_) {
    raise<dimension_mismatch>(where, "id {}: vector has {} values, index dimension is {}", id,
                              vector.size(), dim_);
  }
  const auto what = fmt::format("id {}", id);
  if (const auto it = rows_.find(id); it != rows_.end()) {
    // Checked into a copy first, so a rejected vector leaves the stored one intact.
    std::vector<float> v(vector.begin(), vector.end());
    check_finite(v, what);
    if (metric_ == metric::cosine) normalize(v, what);
    store(it->second, v, what);
    return;
  }
  if (ids_.size() + 1 >= std::numeric_limits<std::uint32_t>::max()) {
    raise<invalid_argument>(where, "{} items exceed the 2^32 - 1 limit", ids_.size() + 1);
  }
  const auto row = ids_.size();
  vectors_.resize((row + 1) * dim_);
  norms2_.resize(row + 1);
  try {
    store(row, vector, what);
  } catch (...) {
    vectors_.resize(row * dim_);
    norms2_.resize(row);
    throw;
  }
  ids_.push_back(id);
  rows_.emplace(id, static_cast<std::uint32_t>(row));
}

void exact_index::remove(std::uint64_t id) {
  const auto it = rows_.find(id);
  if (it == rows_.end()) raise<not_found>(where, "id {} is not in the index", id);
  const std::size_t row = it->second;
  rows_.erase(it);
  const auto first = vectors_.begin() + static_cast<std::ptrdiff_t>(row * dim_);
  vectors_.erase(first, first + static_cast<std::ptrdiff_t>(dim_));
  norms2_.erase(norms2_.begin() + static_cast<std::ptrdiff_t>(row));
  ids_.erase(ids_.begin() + static_cast<std::ptrdiff_t>(row));
  for (std::size_t r = row; r < ids_.size(); ++r) rows_[ids_[r]] = static_cast<std::uint32_t>(r);
}

candidate_list exact_index::search(row_view query, std::size_t k, const filter& allowed) const {
  auto out = search_batch(matrix_view(query.data(), 1, query.size()), k, allowed);
  return std::move(out.front());
}

std::vector<candidate_list> exact_index::search_batch(matrix_view queries, std::size_t k,
                                                      const filter& allowed) const {
  if (queries.cols() != dim()) {
    raise<dimension_mismatch>(where, "queries have {} values, index dimension is {}",
                              queries.cols(), dim());
  }
  // Prepared queries (normalized for cosine) as one contiguous block.
  matrix q(queries.rows(), dim());
  for (std::size_t i = 0; i < queries.rows(); ++i) {
    const auto row = queries.row(i);
    check_finite(row, fmt::format("query {}", i));
    auto dst = q.row(i);
    std::copy(row.begin(), row.end(), dst.begin());
    if (metric_ == metric::cosine) normalize(dst, fmt::format("query {}", i));
  }
  std::vector<unsigned char> ok(size(), 1);
  if (!allowed.allows_all()) {
    for (std::size_t i = 0; i < size(); ++i) ok[i] = allowed.allows(ids_[i]) ? 1 : 0;
  }

  std::vector<top_k> best(queries.rows());
  for (auto& b : best) b.k = k;
  constexpr std::size_t query_block = 256;
  constexpr std::size_t item_block = 4096;
  const auto items = vectors().as_eigen();
  const auto all_queries = q.view().as_eigen();
  row_major_matrix dots;
  for (std::size_t q0 = 0; q0 < q.rows(); q0 += query_block) {
    const std::size_t qn = std::min(query_block, q.rows() - q0);
    for (std::size_t i0 = 0; i0 < size(); i0 += item_block) {
      const std::size_t in = std::min(item_block, size() - i0);
      dots.noalias() =
          all_queries.middleRows(static_cast<Eigen::Index>(q0), static_cast<Eigen::Index>(qn)) *
          items.middleRows(static_cast<Eigen::Index>(i0), static_cast<Eigen::Index>(in))
              .transpose();
      for (std::size_t a = 0; a < qn; ++a) {
        auto& b = best[q0 + a];
        for (std::size_t c = 0; c < in; ++c) {
          const std::size_t item = i0 + c;
          if (ok[item] == 0) continue;
          const float dot = dots(static_cast<Eigen::Index>(a), static_cast<Eigen::Index>(c));
          // -(|x|^2 - 2 q.x): the query norm is the same for every item, so it is added once below.
          const float score = metric_ == metric::l2 ? 2.0F * dot - norms2_[item] : dot;
          b.offer(score, static_cast<std::uint32_t>(item));
        }
      }
    }
  }
  std::vector<candidate_list> out(q.rows());
  for (std::size_t i = 0; i < q.rows(); ++i) {
    auto& heap = best[i].heap;
    std::sort_heap(heap.begin(), heap.end(), better);
    out[i].reserve(heap.size());
    for (const auto& e : heap) {
      // Report the exact squared distance (computed directly: the GEMM form loses precision).
      float score = e.score;
      if (metric_ == metric::l2) {
        const auto x = vectors().row(e.row);
        const auto qi = q.row(i);
        float d = 0.0F;
        for (std::size_t j = 0; j < x.size(); ++j) d += (x[j] - qi[j]) * (x[j] - qi[j]);
        score = -d;
      }
      out[i].push_back({ids_[e.row], score});
    }
    if (metric_ == metric::l2) {
      std::stable_sort(out[i].begin(), out[i].end(),
                       [](const candidate& a, const candidate& b) { return a.score > b.score; });
    }
  }
  return out;
}

}  // namespace funnel::retrieval
